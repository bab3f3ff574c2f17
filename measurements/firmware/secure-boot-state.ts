// The value OVMF gives the volatile SecureBoot variable at boot, which Tcg2Dxe then measures into
// PCR 7. It is not stored in OVMF_VARS.fd: edk2 SecurityPkg/Library/AuthVariableLib/AuthVariableLib.c
// AuthVariableLibInitialize computes it when the variable driver starts:
//   * SetupMode = PK exists ? USER_MODE (0) : SETUP_MODE (1);
//   * SecureBootEnable = in USER_MODE, the stored "SecureBootEnable" (gEfiSecureBootEnableDisableGuid)
//     byte, or 1 (SECURE_BOOT_ENABLE, then written back) when it is absent; in SETUP_MODE, 0;
//   * SecureBoot = (SecureBootEnable == 1 && USER_MODE) ? 1 : 0.
// Checked against real logs (test/fixtures/eventlogs): OVMF_VARS_4M.fd (no PK) gives 00,
// OVMF_VARS_4M.snakeoil.fd (PK + SecureBootEnable=1) gives 01. The variable exists only in OVMF
// builds with SECURE_BOOT_ENABLE (AuthVariableLib rather than AuthVariableLibNull); Debian builds all
// of its OVMF_CODE*.fd with it.
import { secureBootVariables } from '../../image/formats/ovmf-vars/secure-boot.js';
import type { VarStore } from '../../image/formats/ovmf-vars/read-var-store.js';

export interface SecureBootState {
  /** PK is absent: SETUP_MODE, nothing is verified. */
  readonly setupMode: boolean;
  /** Effective SecureBootEnable after AuthVariableLibInitialize. */
  readonly secureBootEnable: number;
  /** The SecureBoot byte (SECURE_BOOT_MODE_ENABLE 1 / DISABLE 0). */
  readonly secureBoot: 0 | 1;
  readonly reason: string;
}

export function deriveSecureBoot(vars: Pick<VarStore, 'variables'>): SecureBootState {
  const v = secureBootVariables(vars);
  if (v.PK === undefined)
    return { setupMode: true, secureBootEnable: 0, secureBoot: 0, reason: 'PK is not enrolled (setup mode)' };
  if (v.SecureBootEnable === undefined) {
    return {
      setupMode: false,
      secureBootEnable: 1,
      secureBoot: 1,
      reason: 'PK is enrolled and SecureBootEnable is absent (created as 1)',
    };
  }
  // An empty SecureBootEnable cannot be written through SetVariable; treat it as not enabled.
  const sbe = v.SecureBootEnable.data[0] ?? 0;
  const on = sbe === 1;
  return {
    setupMode: false,
    secureBootEnable: sbe,
    secureBoot: on ? 1 : 0,
    reason: `PK is enrolled and SecureBootEnable is ${sbe}`,
  };
}
