// RTMR0 events that come from the firmware's variable store and boot manager (TdTcg2Dxe.c
// MeasureAllSecureVariables / MeasureAllBootVariables; launch-measurements.md §2.3 RTMR0 items
// 3-7, 12, 13). Variables are EV_EFI_VARIABLE_DRIVER_CONFIG with digest = SHA-384 of the
// UEFI_VARIABLE_DATA; boot variables are EV_EFI_VARIABLE_BOOT with digest = SHA-384 of the
// variable data only and UEFI_VARIABLE_DATA as event data (TdTcg2Dxe.c MeasureVariable).
import { guidFromString } from '../../../image/formats/gpt/guid.js';
import {
  EFI_GLOBAL_VARIABLE_GUID,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
  secureBootVariables,
} from '../../../image/formats/ovmf-vars/index.js';
import type { VarStore } from '../../../image/formats/ovmf-vars/index.js';
import { EV } from '../../eventlog/types.js';
import { encodeUefiVariableData } from '../../firmware/uefi-variable-data.js';
import { ccEvent, utf16le, type CcEvent } from './cc-event.js';

/**
 * What the SecureBoot variable holds when it is measured. With PK enrolled: 01 when
 * SecureBootEnable is 1 or absent (edk2 AuthVariableLibInitialize), else 00. Without PK the TDX
 * vectors (quex's model) measure it empty, i.e. a build without SECURE_BOOT_ENABLE that has no
 * SecureBoot variable; an edk2 build with it would measure 00 (measurements/firmware/
 * secure-boot-state.ts): pass `secureBootWithoutPk: 'zero'` for such firmware.
 */
export type SecureBootWithoutPk = 'empty' | 'zero';

export function secureBootValue(
  store: Pick<VarStore, 'variables'>,
  withoutPk: SecureBootWithoutPk,
): Uint8Array {
  const v = secureBootVariables(store);
  if (v.PK === undefined) return withoutPk === 'zero' ? new Uint8Array([0]) : new Uint8Array(0);
  const sbe = v.SecureBootEnable === undefined ? 1 : v.SecureBootEnable.data[0];
  return new Uint8Array([sbe === 1 ? 1 : 0]);
}

/** SecureBoot, PK, KEK, db, dbx (and dbt when present) from the store, in edk2's order, into RTMR0. */
export function secureBootConfigEvents(
  store: Pick<VarStore, 'variables'>,
  withoutPk: SecureBootWithoutPk = 'empty',
): CcEvent[] {
  const v = secureBootVariables(store);
  const driverConfig = (guid: string, name: string, data: Uint8Array | undefined, label: string) =>
    ccEvent(
      0,
      EV.EFI_VARIABLE_DRIVER_CONFIG,
      label,
      encodeUefiVariableData(guid, name, data ?? new Uint8Array(0)),
    );
  const events = [
    driverConfig(
      EFI_GLOBAL_VARIABLE_GUID,
      'SecureBoot',
      secureBootValue(store, withoutPk),
      'Secure boot mode',
    ),
    driverConfig(EFI_GLOBAL_VARIABLE_GUID, 'PK', v.PK?.data, 'Public platform key'),
    driverConfig(EFI_GLOBAL_VARIABLE_GUID, 'KEK', v.KEK?.data, 'Key exchange key signature database'),
    driverConfig(EFI_IMAGE_SECURITY_DATABASE_GUID, 'db', v.db?.data, 'Authorized signature database'),
    driverConfig(EFI_IMAGE_SECURITY_DATABASE_GUID, 'dbx', v.dbx?.data, 'Forbidden signature database'),
  ];
  // TdTcg2Dxe measures dbt only when the variable exists.
  if (v.dbt !== undefined)
    events.push(
      driverConfig(EFI_IMAGE_SECURITY_DATABASE_GUID, 'dbt', v.dbt.data, 'Timestamp signature database'),
    );
  return events;
}

/** A boot variable (BootOrder, Boot####) and its value. */
export interface BootVariable {
  readonly name: string;
  readonly data: Uint8Array;
}

/** EV_EFI_VARIABLE_BOOT events, RTMR0 (PCR 1 -> MR 1). */
export function bootVariableEvents(vars: readonly BootVariable[]): CcEvent[] {
  return vars.map((b) =>
    ccEvent(
      0,
      EV.EFI_VARIABLE_BOOT,
      `${b.name} boot variable`,
      b.data,
      encodeUefiVariableData(EFI_GLOBAL_VARIABLE_GUID, b.name, b.data),
    ),
  );
}

// OVMF's "UiApp" boot option (OvmfPkg/Library/PlatformBootManagerLib/BdsPlatform.c
// PlatformRegisterFvBootOption(&mUiAppFile, L"UiApp", LOAD_OPTION_CATEGORY_APP | ACTIVE | HIDDEN)):
// EFI_LOAD_OPTION (UEFI 2.10 §3.1.3) with the device path Fv(DXEFV)/FvFile(UiApp).
const OVMF_DXEFV_NAME_GUID = '7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1';
const UI_APP_FILE_GUID = '462caa21-7614-4503-836e-8ab6f4662331'; // MdeModulePkg/Application/UiApp/UiApp.inf
const LOAD_OPTION_ACTIVE_HIDDEN_APP = 0x00000001 | 0x00000008 | 0x00000100;

function loadOption(attributes: number, description: string, devicePath: Uint8Array): Uint8Array {
  const desc = utf16le(`${description}\0`);
  const out = new Uint8Array(6 + desc.length + devicePath.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, attributes, true);
  v.setUint16(4, devicePath.length, true);
  out.set(desc, 6);
  out.set(devicePath, 6 + desc.length);
  return out;
}

function mediaNode(subtype: number, guid: string): Uint8Array {
  // MEDIA_DEVICE_PATH (4), MEDIA_PIWG_FW_VOL_DP (7) / MEDIA_PIWG_FW_FILE_DP (6), length 20
  const n = new Uint8Array(20);
  n.set([0x04, subtype, 20, 0]);
  n.set(guidFromString(guid), 4);
  return n;
}

/**
 * The boot variables OVMF (before edk2-stable202505) measures on a QEMU direct kernel boot:
 * BootOrder = [0x0000] and Boot0000 = UiApp (launch-measurements.md §2.3 items 12-13; digest
 * 23ada07f...c298 in quex's and dstack-mr's tools). edk2-stable202505 and later measure a different
 * set (dstack-mr OvmfVariant::Stable202505); pass those explicitly.
 */
export function ovmfDirectBootVariables(): BootVariable[] {
  const path = new Uint8Array([
    ...mediaNode(7, OVMF_DXEFV_NAME_GUID),
    ...mediaNode(6, UI_APP_FILE_GUID),
    0x7f,
    0xff,
    0x04,
    0x00,
  ]);
  return [
    { name: 'BootOrder', data: new Uint8Array(2) },
    { name: 'Boot0000', data: loadOption(LOAD_OPTION_ACTIVE_HIDDEN_APP, 'UiApp', path) },
  ];
}
