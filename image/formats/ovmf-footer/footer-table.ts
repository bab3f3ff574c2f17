// The OVMF "GUIDed footer table" (edk2 OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm; parsed by
// sev-snp-measure ovmf.py `_parse_footer_table` and QEMU's pc_system_ovmf_table_find). Layout, from
// the end of the flash image (launch-measurements.md §1.3):
//
//   [size-0x20, size)        reset vector area (not part of the table)
//   [size-0x30, size-0x20)   footer GUID 96b582de-...
//   [size-0x32, size-0x30)   u16 table_len: the whole table, footer entry (18 bytes) included
//   before that              entries packed back to back, each `data || u16 len || GUID`,
//                            len = len(data) + 18, read backwards from the footer
//
// Differences from sev-snp-measure, all on malformed input only: a table reaching before byte 0
// of the file, an entry longer than what is left, a leftover of 1-17 bytes and a GUID seen twice
// are errors here (the Python slices silently clamp, wrap around, or let the last one win).
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import { GUID_SIZE, guidToString } from '../gpt/guid.js';
import { OVMF_TABLE_FOOTER_GUID } from './guids.js';

/** The reset-vector area after the table: the table ends this many bytes before the end. */
export const FOOTER_RESERVED_TAIL = 0x20;
/** `u16 len || GUID`, the trailer of every entry (the footer entry is one with no data). */
export const FOOTER_ENTRY_HEADER_SIZE = 2 + GUID_SIZE;
/** Smallest image that can hold a footer entry. */
export const MIN_FOOTER_IMAGE = FOOTER_RESERVED_TAIL + FOOTER_ENTRY_HEADER_SIZE;
/** table_len is a u16, so at most 3640 entries fit; real builds have 5-7. */
export const MAX_FOOTER_ENTRIES = 256;

const STRUCTURE = 'OVMF footer table';

export interface FooterEntry {
  readonly guid: string;
  /** Absolute offset of the entry's data (its first byte) in the outermost input. */
  readonly offset: number;
  readonly data: Uint8Array;
}

export interface FooterTable {
  /** False when the footer GUID is not at [size-48, size-32): not an OVMF-style image. */
  readonly present: boolean;
  /** Absolute offset of the first byte of the table (footer entry included), or of the footer slot. */
  readonly offset: number;
  /** table_len: bytes of entries plus the 18-byte footer entry (0 when absent). */
  readonly length: number;
  /** Entries in file order (lowest offset first). */
  readonly entries: readonly FooterEntry[];
}

/**
 * Parses the footer table of a whole flash image (or any suffix of one: offsets are relative to
 * the end, `base` is the absolute offset of `image[0]` for error messages).
 */
export function parseFooterTable(image: Uint8Array, base = 0): FooterTable {
  const r = new ByteReader(image, STRUCTURE, base);
  if (image.length < MIN_FOOTER_IMAGE) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      STRUCTURE,
      base,
      `a ${image.length}-byte image cannot hold the ${MIN_FOOTER_IMAGE}-byte footer area`,
    );
  }
  const footerAt = image.length - FOOTER_RESERVED_TAIL - FOOTER_ENTRY_HEADER_SIZE;
  if (guidToString(r.bytesAt(footerAt + 2, GUID_SIZE)) !== OVMF_TABLE_FOOTER_GUID) {
    return { present: false, offset: r.abs(footerAt), length: 0, entries: [] };
  }
  const length = r.u16At(footerAt);
  if (length < FOOTER_ENTRY_HEADER_SIZE)
    r.fail(`table_len ${length} is smaller than the ${FOOTER_ENTRY_HEADER_SIZE}-byte footer entry`, footerAt);
  const start = footerAt + FOOTER_ENTRY_HEADER_SIZE - length;
  if (start < 0)
    r.fail(`table_len ${length} reaches ${-start} bytes before the start of the image`, footerAt);
  const entries: FooterEntry[] = [];
  const seen = new Set<string>();
  let end = footerAt; // entries occupy [start, end)
  while (end > start) {
    if (end - start < FOOTER_ENTRY_HEADER_SIZE)
      r.fail(
        `${end - start} stray bytes before the first entry (an entry needs ${FOOTER_ENTRY_HEADER_SIZE})`,
        start,
      );
    if (entries.length >= MAX_FOOTER_ENTRIES)
      r.fail(`more than ${MAX_FOOTER_ENTRIES} entries`, end, 'PARSE_LIMIT');
    const at = end - FOOTER_ENTRY_HEADER_SIZE;
    const len = r.u16At(at);
    const guid = guidToString(r.bytesAt(at + 2, GUID_SIZE));
    if (len < FOOTER_ENTRY_HEADER_SIZE)
      r.fail(`entry ${guid} has length ${len} (< ${FOOTER_ENTRY_HEADER_SIZE})`, at);
    if (len > end - start)
      r.fail(`entry ${guid} has length ${len} but only ${end - start} bytes of table are left`, at);
    if (seen.has(guid)) r.fail(`entry ${guid} appears twice`, at);
    seen.add(guid);
    const dataAt = end - len;
    entries.push({ guid, offset: r.abs(dataAt), data: r.bytesAt(dataAt, len - FOOTER_ENTRY_HEADER_SIZE) });
    end = dataAt;
  }
  return { present: true, offset: r.abs(start), length, entries: entries.reverse() };
}

export function footerEntry(table: FooterTable, guid: string): FooterEntry | undefined {
  return table.entries.find((e) => e.guid === guid);
}
