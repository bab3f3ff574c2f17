// OVMF SEV metadata (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm; sev-snp-measure ovmf.py
// `_parse_sev_metadata`; launch-measurements.md §1.3): the footer entry dc886566-... holds a u32
// offset, counted back from the end of the file, of
//
//   "ASEV" | u32 length (header + items) | u32 version (1) | u32 item count
//   items of 12 bytes: u32 gpa | u32 size | u32 type
//
// The items are the guest pages the VMM must pre-validate (SNP_LAUNCH_UPDATE) before the first
// instruction runs, in the order the launch digest takes them (file order, not sorted: §1.8).
// Checks beyond sev-snp-measure (malformed input only): page alignment (the PSP only accepts whole
// pages) and overlapping sections (a page cannot be launch-updated twice).
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import { footerEntry, type FooterTable } from './footer-table.js';
import { OVMF_SEV_METADATA_GUID } from './guids.js';

export const SEV_METADATA_HEADER_SIZE = 16;
export const SEV_METADATA_ITEM_SIZE = 12;
/** Real builds have 5-7 items. */
export const MAX_SEV_METADATA_ITEMS = 64;
const PAGE = 0x1000;
const FOUR_GIB = 0x1_0000_0000;

/** Section types (OvmfSevMetadata.asm; SVSM_CAA since edk2-stable202402). */
export const SEV_SECTION_TYPES = {
  SNP_SEC_MEM: 1,
  SNP_SECRETS: 2,
  CPUID: 3,
  SVSM_CAA: 4,
  SNP_KERNEL_HASHES: 0x10,
} as const;
export type SevSectionTypeName = keyof typeof SEV_SECTION_TYPES;

export function sevSectionTypeName(type: number): SevSectionTypeName | undefined {
  return (Object.keys(SEV_SECTION_TYPES) as SevSectionTypeName[]).find((k) => SEV_SECTION_TYPES[k] === type);
}

export interface SevMetadataSection {
  readonly index: number;
  /** Absolute offset of the 12-byte item. */
  readonly offset: number;
  readonly gpa: number;
  readonly size: number;
  readonly type: number;
  /** undefined for a type this table does not know (the digest refuses those). */
  readonly typeName: SevSectionTypeName | undefined;
}

export interface SevMetadata {
  /** Absolute offset of the "ASEV" header. */
  readonly offset: number;
  readonly length: number;
  readonly version: number;
  readonly sections: readonly SevMetadataSection[];
}

/** Guest-physical range a section claims: SECRETS and CPUID are one page whatever their size. */
function extent(s: SevMetadataSection): [number, number] {
  const one = s.type === SEV_SECTION_TYPES.SNP_SECRETS || s.type === SEV_SECTION_TYPES.CPUID;
  return [s.gpa, s.gpa + (one ? Math.max(s.size, PAGE) : s.size)];
}

/** Reads the SEV metadata the footer table points at; undefined when the image has none. */
export function parseSevMetadata(image: Uint8Array, table: FooterTable, base = 0): SevMetadata | undefined {
  const entry = footerEntry(table, OVMF_SEV_METADATA_GUID);
  if (!entry) return undefined;
  const er = new ByteReader(entry.data, 'SEV metadata footer entry', entry.offset);
  const back = er.u32At(0);
  const r = new ByteReader(image, 'SEV metadata', base);
  const at = image.length - back;
  if (back < SEV_METADATA_HEADER_SIZE || at < 0)
    er.fail(
      `offset ${back} from the end does not leave a ${SEV_METADATA_HEADER_SIZE}-byte header inside the ${image.length}-byte image`,
      0,
    );
  const sig = r.bytesAt(at, 4);
  if (String.fromCharCode(...sig) !== 'ASEV') r.fail(`signature is not "ASEV"`, at);
  const length = r.u32At(at + 4);
  const version = r.u32At(at + 8);
  const count = r.u32At(at + 12);
  if (version !== 1) r.fail(`version ${version} (only 1 is defined)`, at + 8, 'PARSE_UNSUPPORTED');
  if (count > MAX_SEV_METADATA_ITEMS)
    r.fail(`${count} items (limit ${MAX_SEV_METADATA_ITEMS})`, at + 12, 'PARSE_LIMIT');
  if (length < SEV_METADATA_HEADER_SIZE + count * SEV_METADATA_ITEM_SIZE) {
    r.fail(`length ${length} cannot hold the header and ${count} items`, at + 4);
  }
  const items = r.sub(at, length).sub(SEV_METADATA_HEADER_SIZE, count * SEV_METADATA_ITEM_SIZE);
  const sections: SevMetadataSection[] = [];
  for (let i = 0; i < count; i++) {
    const p = i * SEV_METADATA_ITEM_SIZE;
    const s: SevMetadataSection = {
      index: i,
      offset: items.abs(p),
      gpa: items.u32At(p),
      size: items.u32At(p + 4),
      type: items.u32At(p + 8),
      typeName: sevSectionTypeName(items.u32At(p + 8)),
    };
    sections.push(s);
  }
  checkSevSections(sections);
  return { offset: r.abs(at), length, version, sections };
}

/**
 * Whole pages below 4 GiB, no two sections claiming the same page. Also for section lists that come
 * from elsewhere than a firmware file (published launch parameters).
 */
export function checkSevSections(sections: readonly SevMetadataSection[]): void {
  sections.forEach((s, i) => checkSection(s, sections.slice(0, i)));
}

function checkSection(s: SevMetadataSection, before: readonly SevMetadataSection[]): void {
  const bad = (detail: string): never => {
    throw new ParseError('PARSE_INVALID', 'SEV metadata', s.offset, `section ${s.index}: ${detail}`);
  };
  if (s.gpa % PAGE !== 0 || s.size % PAGE !== 0)
    bad(`gpa 0x${s.gpa.toString(16)} / size 0x${s.size.toString(16)} are not whole 4 KiB pages`);
  const [lo, hi] = extent(s);
  if (hi > FOUR_GIB) bad(`[0x${lo.toString(16)}, 0x${hi.toString(16)}) reaches past 4 GiB`);
  if (hi === lo) return; // size-0 items (TDX builds) claim nothing
  for (const o of before) {
    const [olo, ohi] = extent(o);
    if (ohi > olo && lo < ohi && olo < hi)
      bad(
        `[0x${lo.toString(16)}, 0x${hi.toString(16)}) overlaps section ${o.index} [0x${olo.toString(16)}, 0x${ohi.toString(16)})`,
      );
  }
}
