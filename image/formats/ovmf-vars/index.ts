// OVMF NV variable store codec (OVMF_VARS*.fd, OVMF.fd) and EFI_SIGNATURE_LIST codec. Pure.
export { readVarStore, findVariable } from './read-var-store.js';
export type { UefiVariable, VarStore } from './read-var-store.js';
export { secureBootVariables, secureBootEnable } from './secure-boot.js';
export type { SecureBootVariables } from './secure-boot.js';
export {
  parseSignatureLists,
  EFI_SIGNATURE_LIST_HEADER_SIZE,
  MAX_SIGNATURE_LISTS,
  MAX_SIGNATURE_ENTRIES,
} from './signature-list.js';
export type { SignatureEntry, SignatureList } from './signature-list.js';
export { decodeFvHeader, findNvFirmwareVolume, FV_HEADER_SIZE, MAX_FV_SCAN } from './firmware-volume.js';
export type { FirmwareVolumeHeader } from './firmware-volume.js';
export {
  decodeVariableStoreHeader,
  walkVariableRecords,
  VARIABLE_STORE_HEADER_SIZE,
  MAX_VARIABLE_RECORDS,
} from './variable-store.js';
export type { VariableRecord, VariableStoreHeader } from './variable-store.js';
export {
  AUTH_VARIABLE_HEADER_SIZE,
  VARIABLE_HEADER_SIZE,
  VAR_STATE,
  VAR_ADDED_IN_DELETED_TRANSITION,
} from './variable-header.js';
export type { VarStoreFormat } from './variable-header.js';
export {
  AUTHENTICATED_VARIABLE_GUID,
  EFI_CERT_SHA1_GUID,
  EFI_CERT_SHA256_GUID,
  EFI_CERT_SHA384_GUID,
  EFI_CERT_SHA512_GUID,
  EFI_CERT_X509_GUID,
  EFI_CERT_X509_SHA256_GUID,
  EFI_CERT_X509_SHA384_GUID,
  EFI_CERT_X509_SHA512_GUID,
  EFI_GLOBAL_VARIABLE_GUID,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
  EFI_SECURE_BOOT_ENABLE_DISABLE_GUID,
  EFI_SYSTEM_NV_DATA_FV_GUID,
  SIGNATURE_TYPES,
  VARIABLE_GUID,
  signatureTypeName,
} from './guids.js';
