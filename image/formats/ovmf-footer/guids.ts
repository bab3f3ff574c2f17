// GUIDs of the OVMF "GUIDed footer table" (the table that ends 0x20 bytes before the end of the
// flash image) and of the entries nodeimg reads from it, in canonical text form (EFI_GUID, UEFI 2.10
// Appendix A; stored mixed-endian, decoded by ../gpt/guid.ts). Sources: edk2
// OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm (footer, SEV-ES reset block, SEV secret block,
// SEV hash table block), OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm (SEV metadata offset),
// OvmfPkg/ResetVector/X64/IntelTdxMetadata.asm (TDX metadata offset); sev-snp-measure ovmf.py
// (SVSM_INFO of Coconut SVSM); launch-measurements.md §1.3.

/** The footer entry itself: `u16 table_len || GUID` at [size-50, size-32). */
export const OVMF_TABLE_FOOTER_GUID = '96b582de-1fb2-45f7-baea-a366c55a082d';
/** SEV-ES reset block: u32 AP reset EIP (the SIPI vector APs start at under SEV-ES/SNP). */
export const SEV_ES_RESET_BLOCK_GUID = '00f771de-1a7e-4fcb-890e-68c77e2fb44e';
/** SEV hash table block: u32 GPA, u32 size of the kernel-hashes table QEMU fills (0/0: none). */
export const SEV_HASH_TABLE_RV_GUID = '7255371f-3a3b-4b04-927b-1da6efa8d454';
/** SEV metadata: u32 offset of the "ASEV" header, counted back from the end of the file. */
export const OVMF_SEV_METADATA_GUID = 'dc886566-984a-4798-a75e-5585a7bf67cc';
/** TDX metadata: u32 offset of the TDVF descriptor, counted back from the end of the file. */
export const TDX_METADATA_OFFSET_GUID = 'e47a6535-984a-4798-865e-4685a7bf8ec2';
/** SEV launch secret block: u32 GPA, u32 size. Not measured. */
export const SEV_SECRET_BLOCK_GUID = '4c2eb361-7d9b-4cc3-8081-127c90d3d294';
/** IGVM parameter area. Not used for measurement. */
export const IGVM_PARAM_AREA_GUID = '784fa70e-3176-4677-8a20-04b68699e374';
/** Coconut SVSM: u32 entry point, relative to the SVSM image's load GPA. */
export const SVSM_INFO_GUID = 'a789a612-0597-4c4b-a49f-cbb1fe9d1ddd';

/** Names for the entries above, for display. */
export const FOOTER_ENTRY_NAMES: ReadonlyMap<string, string> = new Map([
  [SEV_ES_RESET_BLOCK_GUID, 'SEV-ES reset block'],
  [SEV_HASH_TABLE_RV_GUID, 'SEV hash table'],
  [OVMF_SEV_METADATA_GUID, 'SEV metadata offset'],
  [TDX_METADATA_OFFSET_GUID, 'TDX metadata offset'],
  [SEV_SECRET_BLOCK_GUID, 'SEV secret block'],
  [IGVM_PARAM_AREA_GUID, 'IGVM parameter area'],
  [SVSM_INFO_GUID, 'SVSM info'],
]);
