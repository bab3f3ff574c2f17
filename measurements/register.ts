// One measurement register and the extend operation shared by TPM PCRs and TDX RTMRs
// (STYLE.md §2.7, go-eventlog register/). Registers are immutable values: extend returns a new one.
import { NodeimgError } from '../image/formats/errors.js';
import { HASH_ALGS, digest, type HashAlg } from './hash.js';

/** Number of PCRs of a PC Client TPM 2.0 (TCG PC Client Platform TPM Profile: PCR 0-23). */
export const PCR_COUNT = 24;

/** A measurement register: a PCR of one bank, or a TDX RTMR (always sha384). */
export interface Register {
  readonly index: number;
  readonly alg: HashAlg;
  readonly value: Uint8Array;
}

/** Startup localities that can seed PCR 0 (TCG_EfiStartupLocalityEvent; 4 = H-CRTM). */
export type StartupLocality = 0 | 1 | 2 | 3 | 4;

export function isStartupLocality(n: number): n is StartupLocality {
  return Number.isInteger(n) && n >= 0 && n <= 4;
}

export function assertPcrIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= PCR_COUNT) {
    throw new NodeimgError('USAGE', `PCR index ${index} is out of range 0-${PCR_COUNT - 1}`);
  }
}

/**
 * The value a PCR has after TPM2_Startup.
 *
 * PC Client PTP / measured-boot.md §0.1: PCR 0-16 and 23 reset to all zeros, PCR 17-22 (DRTM) to
 * all ones. PCR 0 starts at 00..00‖locality when the log carries an EV_NO_ACTION "StartupLocality"
 * event (TCG PFP, TCG_EfiStartupLocalityEvent in edk2 UefiTcgPlatform.h); go-eventlog and
 * tpm2-tools (#3242) seed it the same way.
 */
export function initialRegister(alg: HashAlg, index: number, locality: StartupLocality = 0): Register {
  assertPcrIndex(index);
  if (!isStartupLocality(locality))
    throw new NodeimgError('USAGE', `startup locality ${String(locality)} is not 0-4`);
  if (locality !== 0 && index !== 0)
    throw new NodeimgError('USAGE', `a startup locality only applies to PCR 0, not PCR ${index}`);
  const size = HASH_ALGS[alg].size;
  const value = new Uint8Array(size);
  if (index >= 17 && index <= 22) value.fill(0xff);
  else if (index === 0) value[size - 1] = locality;
  return { index, alg, value };
}

/** A register of `alg` holding all zeros (RTMR reset value, TDX module spec; measured-boot.md §0.2). */
export function zeroRegister(alg: HashAlg, index: number): Register {
  return { index, alg, value: new Uint8Array(HASH_ALGS[alg].size) };
}

/**
 * new = H_alg(old ‖ digest), the TPM2_PCR_Extend / TDG.MR.RTMR.EXTEND operation (TPM 2.0 Library
 * Part 1 "PCR extend"; measured-boot.md §0.1, §0.2). `digest` must already be an `alg` digest of the
 * measured bytes: nothing is truncated or padded between banks.
 */
export function extend(reg: Register, eventDigest: Uint8Array): Register {
  const size = HASH_ALGS[reg.alg].size;
  if (eventDigest.length !== size) {
    throw new NodeimgError(
      'USAGE',
      `cannot extend ${reg.alg} register ${reg.index} with a ${eventDigest.length}-byte digest (need ${size})`,
    );
  }
  if (reg.value.length !== size) {
    throw new NodeimgError(
      'USAGE',
      `${reg.alg} register ${reg.index} holds ${reg.value.length} bytes (need ${size})`,
    );
  }
  return { index: reg.index, alg: reg.alg, value: digest(reg.alg, reg.value, eventDigest) };
}

/** extend(reg, H_alg(data)): measure bytes into one register with the register's own hash. */
export function extendData(reg: Register, data: Uint8Array): Register {
  return extend(reg, digest(reg.alg, data));
}
