// GUIDs of the OVMF variable store and of UEFI Secure Boot, in canonical text form (EFI_GUID as in
// UEFI 2.10 Appendix A; bytes decoded by ../gpt/guid.ts). Sources: edk2
// MdePkg/Include/Guid/SystemNvDataGuid.h (EFI_SYSTEM_NV_DATA_FV_GUID),
// MdeModulePkg/Include/Guid/VariableFormat.h (gEfiVariableGuid, gEfiAuthenticatedVariableGuid),
// MdePkg/Include/Guid/GlobalVariable.h, MdePkg/Include/Guid/ImageAuthentication.h (UEFI 2.10
// §32.4.1 "Signature Database"), SecurityPkg/Include/Guid/AuthenticatedVariableFormat.h.

/** FileSystemGuid of the firmware volume holding the NV variable store. */
export const EFI_SYSTEM_NV_DATA_FV_GUID = 'fff12b8d-7696-4c8b-a985-2747075b4f50';
/** VARIABLE_STORE_HEADER.Signature of a store of AUTHENTICATED_VARIABLE_HEADER records. */
export const AUTHENTICATED_VARIABLE_GUID = 'aaf32c78-947b-439a-a180-2e144ec37792';
/** VARIABLE_STORE_HEADER.Signature of a store of plain VARIABLE_HEADER records. */
export const VARIABLE_GUID = 'ddcf3616-3275-4164-98b6-fe85707ffe7d';

/** EFI_GLOBAL_VARIABLE: SecureBoot, SetupMode, PK, KEK, Boot####. */
export const EFI_GLOBAL_VARIABLE_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx, dbt, dbr. */
export const EFI_IMAGE_SECURITY_DATABASE_GUID = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
/** gEfiSecureBootEnableDisableGuid: edk2's "SecureBootEnable" (UINT8). */
export const EFI_SECURE_BOOT_ENABLE_DISABLE_GUID = 'f0a30bc7-af08-4556-99c4-001009c93a44';

/** EFI_SIGNATURE_LIST.SignatureType values (UEFI 2.10 §32.4.1, Table 32.7) and the data size of each entry. */
export const SIGNATURE_TYPES: ReadonlyMap<
  string,
  { readonly name: string; readonly dataSize: number | undefined }
> = new Map([
  ['c1c41626-504c-4092-aca9-41f936934328', { name: 'EFI_CERT_SHA256', dataSize: 32 }],
  ['3c5766e8-269c-4e34-aa14-ed776e85b3b6', { name: 'EFI_CERT_RSA2048', dataSize: 256 }],
  ['e2b36190-879b-4a3d-ad8d-f2e7bba32784', { name: 'EFI_CERT_RSA2048_SHA256', dataSize: 256 }],
  ['826ca512-cf10-4ac9-b187-be01496631bd', { name: 'EFI_CERT_SHA1', dataSize: 20 }],
  ['67f8444f-8743-48f1-a328-1eaab8736080', { name: 'EFI_CERT_RSA2048_SHA1', dataSize: 256 }],
  ['a5c059a1-94e4-4aa7-87b5-ab155c2bf072', { name: 'EFI_CERT_X509', dataSize: undefined }],
  ['0b6e5233-a65c-44c9-9407-d9ab83bfc8bd', { name: 'EFI_CERT_SHA224', dataSize: 28 }],
  ['ff3e5307-9fd0-48c9-85f1-8ad56c701e01', { name: 'EFI_CERT_SHA384', dataSize: 48 }],
  ['093e0fae-a6c4-4f50-9f1b-d41e2b89c19a', { name: 'EFI_CERT_SHA512', dataSize: 64 }],
  // hash of a TBSCertificate + EFI_TIME revocation time
  ['3bd2a492-96c0-4079-b420-fcf98ef103ed', { name: 'EFI_CERT_X509_SHA256', dataSize: 48 }],
  ['7076876e-80c2-4ee6-aad2-28b349a6865b', { name: 'EFI_CERT_X509_SHA384', dataSize: 64 }],
  ['446dbf63-2502-4cda-bcfa-2465d2b0fe9d', { name: 'EFI_CERT_X509_SHA512', dataSize: 80 }],
  ['4aafd29d-68df-49ee-8aa9-347d375665a7', { name: 'EFI_CERT_TYPE_PKCS7', dataSize: undefined }],
]);

export const EFI_CERT_X509_GUID = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
export const EFI_CERT_SHA1_GUID = '826ca512-cf10-4ac9-b187-be01496631bd';
export const EFI_CERT_SHA256_GUID = 'c1c41626-504c-4092-aca9-41f936934328';
export const EFI_CERT_SHA384_GUID = 'ff3e5307-9fd0-48c9-85f1-8ad56c701e01';
export const EFI_CERT_SHA512_GUID = '093e0fae-a6c4-4f50-9f1b-d41e2b89c19a';
export const EFI_CERT_X509_SHA256_GUID = '3bd2a492-96c0-4079-b420-fcf98ef103ed';
export const EFI_CERT_X509_SHA384_GUID = '7076876e-80c2-4ee6-aad2-28b349a6865b';
export const EFI_CERT_X509_SHA512_GUID = '446dbf63-2502-4cda-bcfa-2465d2b0fe9d';

/** "EFI_CERT_X509" for a known signature type, else the GUID. */
export function signatureTypeName(guid: string): string {
  return SIGNATURE_TYPES.get(guid)?.name ?? guid;
}
