// PE/COFF read codec: headers, sections, certificates, Authenticode (as edk2 measures it) and
// version detection for UEFI images (systemd-stub/-boot, UKIs, Linux bzImage, shim, GRUB).
export { parsePe, MAX_HEADERS_SIZE } from './parse.js';
export type { PeImage } from './parse.js';
export { decodeDosHeader, DOS_HEADER_SIZE, MAX_E_LFANEW } from './dos-header.js';
export type { DosHeader } from './dos-header.js';
export {
  decodeCoffHeader,
  expectPeSignature,
  COFF_HEADER_SIZE,
  MAX_SECTIONS,
  MACHINE,
} from './coff-header.js';
export type { CoffHeader } from './coff-header.js';
export {
  decodeOptionalHeader,
  dataDirectory,
  DIRECTORY,
  SUBSYSTEM,
  PE32_MAGIC,
  PE32PLUS_MAGIC,
  MAX_DATA_DIRECTORIES,
} from './optional-header.js';
export type { OptionalHeader, DataDirectory } from './optional-header.js';
export { decodeSectionHeader, decodeSectionTable, findSection, SECTION_HEADER_SIZE } from './sections.js';
export type { PeSection } from './sections.js';
export { authenticodeHash, authenticodeRanges } from './authenticode.js';
export type { AuthenticodeRange } from './authenticode.js';
export { HASH_CHUNK_SIZE, hashRangeGroups } from './stream-hash.js';
export type { ByteRange, HashOptions, RangeGroup } from './stream-hash.js';
export {
  sectionSource,
  sectionData,
  sectionDigest,
  readSectionText,
  MAX_ZERO_FILL,
  MAX_SECTION_DATA,
  MAX_SECTION_TEXT,
} from './section-data.js';
export { parseCertificates, WIN_CERT_TYPE, MAX_CERTIFICATES, MAX_CERTIFICATE_TABLE } from './certificates.js';
export type { WinCertificate } from './certificates.js';
export { decodeAuthenticodeSignature } from './pkcs7.js';
export type { AuthenticodeSignature, X509Info } from './pkcs7.js';
export { detectPe } from './detect.js';
export type { PeDetection } from './detect.js';
export { detectSystemd, parseLoaderInfo } from './detect-systemd.js';
export type { SystemdVersion } from './detect-systemd.js';
export { detectKernel } from './detect-kernel.js';
export type { KernelVersion } from './detect-kernel.js';
export { isUki, ukiSections, UKI_SECTIONS } from './uki.js';
export { peChecksum } from './checksum.js';
export { assembleUki, planUki, ukifyOrder, UKIFY_SECTION_ORDER } from './uki-writer.js';
export type { AssembleUkiOptions, UkiLayout, UkiSectionInput, UkiSectionPlacement } from './uki-writer.js';
export { authenticodeSignedData, signPe, spcIndirectDataContent } from './authenticode-sign.js';
export type { AuthenticodeSigner } from './authenticode-sign.js';
export type { UkiSectionName } from './uki.js';
