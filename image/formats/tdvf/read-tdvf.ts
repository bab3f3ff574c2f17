// Locates and decodes the TDVF metadata of a TDX firmware image (launch-measurements.md §2.1):
// the OVMF footer table (../ovmf-footer, read from the file's tail only) entry e47a6535-984a-4798-865e-4685a7bf8ec2 holds a u32 offset, counted back from
// the end of the file, of the "TDVF" descriptor; the 16 bytes before the descriptor are the GUID
// e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae. QEMU reads the offset from the first 4 bytes of the entry
// data and does not check that GUID (hw/i386/tdvf.c tdvf_get_metadata); we report whether it is there.
import { ParseError } from '../errors.js';
import { GUID_SIZE, guidToString } from '../gpt/guid.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import {
  MIN_FOOTER_IMAGE,
  TDX_METADATA_OFFSET_GUID,
  footerEntry,
  parseFooterTable,
} from '../ovmf-footer/index.js';
import {
  MAX_TDVF_SECTIONS,
  TDVF_DESCRIPTOR_HEADER_SIZE,
  TDVF_SECTION_SIZE,
  decodeTdvfDescriptor,
  type TdvfSection,
} from './descriptor.js';

export { TDX_METADATA_OFFSET_GUID } from '../ovmf-footer/index.js';
/** The GUID in the 16 bytes before the "TDVF" descriptor (OvmfPkg/ResetVector/X64/IntelTdxMetadata.asm). */
export const TDX_METADATA_GUID = 'e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae';

export interface TdvfMetadata {
  /** Size of the firmware file the metadata was read from. */
  readonly fileSize: number;
  /** Absolute offset of the "TDVF" descriptor. */
  readonly descriptorOffset: number;
  /** The value in the footer entry: descriptor offset counted back from the end of the file. */
  readonly offsetFromEnd: number;
  /** Whether the 16 bytes before the descriptor are TDX_METADATA_GUID. */
  readonly metadataGuidPresent: boolean;
  /** In descriptor order, which is the order the VMM adds the pages in. */
  readonly sections: readonly TdvfSection[];
}

/** Reads the TDVF metadata; throws ParseError when the image has none or it is malformed. */
export async function readTdvfMetadata(src: ByteSource): Promise<TdvfMetadata> {
  // table_len is a u16: the table and footer fit in the last 64 KiB + 50 bytes of the file.
  const tailLen = Math.min(src.size, 0xffff + MIN_FOOTER_IMAGE);
  const tailStart = src.size - tailLen;
  if (src.size < MIN_FOOTER_IMAGE)
    throw new ParseError(
      'PARSE_TRUNCATED',
      src.name,
      src.base,
      `${src.size} bytes is too small for an OVMF footer table`,
    );
  const table = parseFooterTable(await src.read(tailStart, tailLen), src.base + tailStart);
  if (!table.present) {
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      src.name,
      src.base + Math.max(0, src.size - 48),
      'no OVMF footer table: not a TDVF/OVMF image (td-shim images without the footer are not supported)',
    );
  }
  const entry = footerEntry(table, TDX_METADATA_OFFSET_GUID);
  if (entry === undefined) {
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      `${src.name}: OVMF footer table`,
      src.base + src.size - 48,
      `no TDX metadata entry (${TDX_METADATA_OFFSET_GUID}): the firmware was built without TDX support`,
    );
  }
  const er = new ByteReader(entry.data, `${src.name}: TDX metadata offset entry`, entry.offset);
  const offsetFromEnd = er.u32At(0);
  if (offsetFromEnd < TDVF_DESCRIPTOR_HEADER_SIZE || offsetFromEnd > src.size)
    er.fail(`offset ${offsetFromEnd} from the end does not point into the ${src.size}-byte file`, 0);
  const rel = src.size - offsetFromEnd;
  const head = new ByteReader(
    await src.read(rel, TDVF_DESCRIPTOR_HEADER_SIZE),
    `${src.name}: TDVF descriptor`,
    src.base + rel,
  );
  const count = head.u32At(12);
  const length = TDVF_DESCRIPTOR_HEADER_SIZE + TDVF_SECTION_SIZE * Math.min(count, MAX_TDVF_SECTIONS);
  // Read what the header claims (capped); decodeTdvfDescriptor reports a short or inconsistent one.
  const avail = Math.min(length, src.size - rel);
  const desc = new ByteReader(await src.read(rel, avail), head.structure, head.base);
  const sections = decodeTdvfDescriptor(desc, src.size);
  let metadataGuidPresent = false;
  if (rel >= GUID_SIZE)
    metadataGuidPresent = guidToString(await src.read(rel - GUID_SIZE, GUID_SIZE)) === TDX_METADATA_GUID;
  return {
    fileSize: src.size,
    descriptorOffset: src.base + rel,
    offsetFromEnd,
    metadataGuidPresent,
    sections,
  };
}
