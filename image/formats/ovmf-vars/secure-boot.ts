import {
  EFI_GLOBAL_VARIABLE_GUID,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
  EFI_SECURE_BOOT_ENABLE_DISABLE_GUID,
} from './guids.js';
import { findVariable, type UefiVariable, type VarStore } from './read-var-store.js';

/** The Secure Boot variables of a store (undefined = not present). */
export interface SecureBootVariables {
  readonly PK: UefiVariable | undefined;
  readonly KEK: UefiVariable | undefined;
  readonly db: UefiVariable | undefined;
  readonly dbx: UefiVariable | undefined;
  readonly dbt: UefiVariable | undefined;
  readonly dbr: UefiVariable | undefined;
  /** edk2's "SecureBootEnable" (gEfiSecureBootEnableDisableGuid), a UINT8. */
  readonly SecureBootEnable: UefiVariable | undefined;
}

/** PK/KEK (EFI_GLOBAL_VARIABLE), db/dbx/dbt/dbr (EFI_IMAGE_SECURITY_DATABASE_GUID) and SecureBootEnable. */
export function secureBootVariables(store: Pick<VarStore, 'variables'>): SecureBootVariables {
  const db = (name: string): UefiVariable | undefined =>
    findVariable(store, EFI_IMAGE_SECURITY_DATABASE_GUID, name);
  return {
    PK: findVariable(store, EFI_GLOBAL_VARIABLE_GUID, 'PK'),
    KEK: findVariable(store, EFI_GLOBAL_VARIABLE_GUID, 'KEK'),
    db: db('db'),
    dbx: db('dbx'),
    dbt: db('dbt'),
    dbr: db('dbr'),
    SecureBootEnable: findVariable(store, EFI_SECURE_BOOT_ENABLE_DISABLE_GUID, 'SecureBootEnable'),
  };
}

/**
 * The value of SecureBootEnable: 1 or 0 as stored, undefined when absent (or empty). Note that
 * OVMF's SecureBoot also needs PK: see measurements/firmware/secure-boot-state.ts.
 */
export function secureBootEnable(store: Pick<VarStore, 'variables'>): number | undefined {
  return findVariable(store, EFI_SECURE_BOOT_ENABLE_DISABLE_GUID, 'SecureBootEnable')?.data[0];
}
