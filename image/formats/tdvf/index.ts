// TDVF (TDX virtual firmware) metadata codec: the TDX entry of the OVMF footer table (../ovmf-footer)
// and the "TDVF" descriptor with its sections. Pure; reads only the footer and descriptor ranges of
// the firmware file.
export { readTdvfMetadata, TDX_METADATA_OFFSET_GUID, TDX_METADATA_GUID } from './read-tdvf.js';
export type { TdvfMetadata } from './read-tdvf.js';
export {
  decodeTdvfDescriptor,
  TDVF_ATTRIBUTE,
  TDVF_DESCRIPTOR_HEADER_SIZE,
  TDVF_SECTION_SIZE,
  TDVF_SECTION_TYPES,
  TDVF_VERSION,
  MAX_TDVF_SECTIONS,
  MAX_TDVF_MEMORY,
} from './descriptor.js';
export type { TdvfSection, TdvfSectionType } from './descriptor.js';
