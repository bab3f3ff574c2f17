// TDVF metadata descriptor ("TDVF", Intel TDX Virtual Firmware Design Guide §11; edk2
// OvmfPkg/Include/IndustryStandard/IntelTdx.h TDX_METADATA_DESCRIPTOR / TDX_METADATA_SECTION;
// launch-measurements.md §2.1):
//
//   offset size field                      per section (32 bytes), n of them:
//        0    4 Signature "TDVF"             0  u32 DataOffset      (in the firmware file)
//        4    4 Length = 16 + 32 * n         4  u32 RawDataSize
//        8    4 Version = 1                  8  u64 MemoryAddress   (GPA)
//       12    4 NumberOfSectionEntries      16  u64 MemoryDataSize
//                                           24  u32 Type
//                                           28  u32 Attributes (bit 0 MR.EXTEND, bit 1 PAGE.AUG)
//
// Checked as QEMU checks before it adds the pages (hw/i386/tdvf.c tdvf_parse_metadata and
// tdvf_parse_and_check_section_entry), plus what would make the MRTD ill-defined: overlapping GPA
// ranges (TDH.MEM.PAGE.ADD of one GPA twice fails) and MR.EXTEND of a PAGE.AUG section.
import type { ByteReader } from '../reader.js';

export const TDVF_DESCRIPTOR_HEADER_SIZE = 16;
export const TDVF_SECTION_SIZE = 32;
export const TDVF_VERSION = 1;
/** Real images have 6 (Debian OVMF) to 7 (AmdSev build) sections. */
export const MAX_TDVF_SECTIONS = 64;
/**
 * Largest memory all sections together may claim: caps the MRTD page loop (262,144 pages). Real
 * images claim a few MiB (Debian OVMF: 4.4 MiB); td-shim payloads stay well below this.
 */
export const MAX_TDVF_MEMORY = 1024 * 1024 * 1024;
/** TDX GPAs are at most 52 bits wide (GPAW). */
const MAX_GPA = 2n ** 52n;
const PAGE = 0x1000n;

export const TDVF_SECTION_TYPES = [
  'BFV',
  'CFV',
  'TD_HOB',
  'TempMem',
  'PermMem',
  'Payload',
  'PayloadParam',
  'TD_INFO',
  'TD_PARAMS',
] as const;
export type TdvfSectionType = (typeof TDVF_SECTION_TYPES)[number];

export const TDVF_ATTRIBUTE = { mrExtend: 0x1, pageAug: 0x2 } as const;

export interface TdvfSection {
  readonly index: number;
  /** Absolute offset of the 32-byte section entry. */
  readonly entryOffset: number;
  readonly dataOffset: number;
  readonly rawDataSize: number;
  readonly memoryAddress: number;
  readonly memoryDataSize: number;
  readonly type: TdvfSectionType;
  readonly attributes: number;
  /** Attribute bit 0: the page contents are extended into MRTD (TDH.MR.EXTEND). */
  readonly mrExtend: boolean;
  /** Attribute bit 1: accepted after launch (TDH.MEM.PAGE.AUG): not PAGE.ADDed, not in MRTD. */
  readonly pageAug: boolean;
}

/**
 * Decodes the descriptor at the start of `r` (which must cover at least the header; the sections
 * are read from it too). `fileSize` bounds the raw data of every section.
 */
export function decodeTdvfDescriptor(r: ByteReader, fileSize: number): TdvfSection[] {
  if (r.u32At(0) !== 0x46564454) r.fail('no "TDVF" signature', 0); // "TDVF" little-endian
  const length = r.u32At(4);
  const version = r.u32At(8);
  const count = r.u32At(12);
  if (version !== TDVF_VERSION) r.fail(`Version ${version} is not ${TDVF_VERSION}`, 8, 'PARSE_UNSUPPORTED');
  if (count === 0) r.fail('no sections', 12);
  if (count > MAX_TDVF_SECTIONS)
    r.fail(`${count} sections exceed the limit of ${MAX_TDVF_SECTIONS}`, 12, 'PARSE_LIMIT');
  if (length !== TDVF_DESCRIPTOR_HEADER_SIZE + TDVF_SECTION_SIZE * count) {
    r.fail(`Length ${length} is not 16 + 32 x ${count} sections`, 4);
  }
  const sections: TdvfSection[] = [];
  for (let i = 0; i < count; i++)
    sections.push(
      decodeSection(
        r.sub(TDVF_DESCRIPTOR_HEADER_SIZE + i * TDVF_SECTION_SIZE, TDVF_SECTION_SIZE, `TDVF section ${i}`),
        i,
        fileSize,
      ),
    );
  const total = sections.reduce((n, s) => n + s.memoryDataSize, 0);
  if (total > MAX_TDVF_MEMORY)
    r.fail(
      `the sections claim ${total} bytes of memory, more than the ${MAX_TDVF_MEMORY}-byte limit`,
      12,
      'PARSE_LIMIT',
    );
  checkOverlaps(r, sections);
  return sections;
}

function decodeSection(s: ByteReader, index: number, fileSize: number): TdvfSection {
  const dataOffset = s.u32At(0);
  const rawDataSize = s.u32At(4);
  const gpa = s.u64At(8);
  const memSize = s.u64At(16);
  const typeId = s.u32At(24);
  const attributes = s.u32At(28);
  const type = TDVF_SECTION_TYPES[typeId];
  if (type === undefined) s.fail(`Type ${typeId} is not a TDVF section type (0-8)`, 24, 'PARSE_UNSUPPORTED');
  if ((attributes & ~(TDVF_ATTRIBUTE.mrExtend | TDVF_ATTRIBUTE.pageAug)) !== 0) {
    s.fail(
      `Attributes 0x${attributes.toString(16)} has bits other than MR.EXTEND and PAGE.AUG`,
      28,
      'PARSE_UNSUPPORTED',
    );
  }
  const mrExtend = (attributes & TDVF_ATTRIBUTE.mrExtend) !== 0;
  const pageAug = (attributes & TDVF_ATTRIBUTE.pageAug) !== 0;
  if (mrExtend && pageAug)
    s.fail('MR.EXTEND and PAGE.AUG together: a page added after launch cannot be extended into MRTD', 28);
  if (gpa % PAGE !== 0n) s.fail(`MemoryAddress 0x${gpa.toString(16)} is not 4 KiB aligned`, 8);
  if (memSize % PAGE !== 0n) s.fail(`MemoryDataSize 0x${memSize.toString(16)} is not 4 KiB aligned`, 16);
  if (memSize > BigInt(MAX_TDVF_MEMORY))
    s.fail(
      `MemoryDataSize 0x${memSize.toString(16)} exceeds the ${MAX_TDVF_MEMORY}-byte limit`,
      16,
      'PARSE_LIMIT',
    );
  if (gpa + memSize > MAX_GPA)
    s.fail(`GPA range 0x${gpa.toString(16)} + 0x${memSize.toString(16)} is beyond 52 bits`, 8);
  if (memSize < BigInt(rawDataSize))
    s.fail(
      `MemoryDataSize 0x${memSize.toString(16)} is smaller than RawDataSize 0x${rawDataSize.toString(16)}`,
      16,
    );
  if (rawDataSize > 0 && dataOffset + rawDataSize > fileSize) {
    s.fail(
      `raw data [0x${dataOffset.toString(16)}, +0x${rawDataSize.toString(16)}) is outside the ${fileSize}-byte file`,
      0,
      'PARSE_INVALID',
    );
  }
  return {
    index,
    entryOffset: s.abs(0),
    dataOffset,
    rawDataSize,
    memoryAddress: Number(gpa),
    memoryDataSize: Number(memSize),
    type,
    attributes,
    mrExtend,
    pageAug,
  };
}

function checkOverlaps(r: ByteReader, sections: readonly TdvfSection[]): void {
  const used = sections.filter((s) => s.memoryDataSize > 0).sort((a, b) => a.memoryAddress - b.memoryAddress);
  for (let i = 1; i < used.length; i++) {
    const prev = used[i - 1] as TdvfSection;
    const cur = used[i] as TdvfSection;
    if (cur.memoryAddress < prev.memoryAddress + prev.memoryDataSize) {
      r.fail(
        `sections ${prev.index} and ${cur.index} overlap at GPA 0x${cur.memoryAddress.toString(16)}`,
        TDVF_DESCRIPTOR_HEADER_SIZE + cur.index * TDVF_SECTION_SIZE,
      );
    }
  }
}
