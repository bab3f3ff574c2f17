// OVMF flash-image footer codec: the GUIDed footer table at the end of the image and the AMD SEV
// entries it points at (SEV metadata sections, SEV-ES reset EIP, kernel-hashes table block, SVSM
// info). Shared by the SEV-SNP and TDX launch measurements. Pure.
export {
  parseFooterTable,
  footerEntry,
  FOOTER_ENTRY_HEADER_SIZE,
  FOOTER_RESERVED_TAIL,
  MAX_FOOTER_ENTRIES,
  MIN_FOOTER_IMAGE,
} from './footer-table.js';
export type { FooterEntry, FooterTable } from './footer-table.js';
export {
  parseSevMetadata,
  checkSevSections,
  sevSectionTypeName,
  SEV_SECTION_TYPES,
  MAX_SEV_METADATA_ITEMS,
  SEV_METADATA_HEADER_SIZE,
  SEV_METADATA_ITEM_SIZE,
} from './sev-metadata.js';
export type { SevMetadata, SevMetadataSection, SevSectionTypeName } from './sev-metadata.js';
export { parseOvmfFooter, sevEsResetEip, sevHashTableBlock, svsmEntryOffset } from './sev-blocks.js';
export type { OvmfFooter, SevHashTableBlock } from './sev-blocks.js';
export {
  FOOTER_ENTRY_NAMES,
  IGVM_PARAM_AREA_GUID,
  OVMF_SEV_METADATA_GUID,
  OVMF_TABLE_FOOTER_GUID,
  SEV_ES_RESET_BLOCK_GUID,
  SEV_HASH_TABLE_RV_GUID,
  SEV_SECRET_BLOCK_GUID,
  SVSM_INFO_GUID,
  TDX_METADATA_OFFSET_GUID,
} from './guids.js';
