import { ParseError } from '../errors.js';
import { asciiz, type ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';

// IMAGE_SECTION_HEADER (PE/COFF spec §4 "Section Table (Section Headers)").
export const SECTION_HEADER_SIZE = 40;
const NAME_SIZE = 8;
/** COFF symbol records are 18 bytes; the string table follows them (PE/COFF spec §5.4, §5.6). */
const SYMBOL_SIZE = 18;
/** Longest long section name read from the string table. */
export const MAX_LONG_NAME = 256;

export interface PeSection {
  readonly index: number;
  /** The 8-byte Name field up to the first NUL, as systemd-stub compares it ("/4" for a long name). */
  readonly name: string;
  /** For "/N" names in an image with a COFF string table: the name at offset N (PE/COFF spec §4). */
  readonly longName: string | undefined;
  readonly virtualSize: number;
  readonly virtualAddress: number;
  readonly sizeOfRawData: number;
  readonly pointerToRawData: number;
  readonly pointerToRelocations: number;
  readonly pointerToLinenumbers: number;
  readonly numberOfRelocations: number;
  readonly numberOfLinenumbers: number;
  readonly characteristics: number;
  /** Absolute file offset of this 40-byte header. */
  readonly headerOffset: number;
}

/** Decodes one 40-byte section header at the reader's cursor. */
export function decodeSectionHeader(r: ByteReader, index = 0): PeSection {
  const headerOffset = r.abs();
  const h = r.sub(r.offset, SECTION_HEADER_SIZE, 'section header');
  r.skip(SECTION_HEADER_SIZE);
  return {
    index,
    name: asciiz(h.read(NAME_SIZE)),
    longName: undefined,
    virtualSize: h.u32(),
    virtualAddress: h.u32(),
    sizeOfRawData: h.u32(),
    pointerToRawData: h.u32(),
    pointerToRelocations: h.u32(),
    pointerToLinenumbers: h.u32(),
    numberOfRelocations: h.u16(),
    numberOfLinenumbers: h.u16(),
    characteristics: h.u32(),
    headerOffset,
  };
}

/** Decodes `count` consecutive section headers (count already capped by decodeCoffHeader). */
export function decodeSectionTable(r: ByteReader, count: number): PeSection[] {
  const out: PeSection[] = [];
  for (let i = 0; i < count; i++) out.push(decodeSectionHeader(r, i));
  return out;
}

/**
 * Resolves "/N" section names through the COFF string table, which sits right after the symbol
 * table (PE/COFF spec §5.6; images normally have none, but binutils keeps one in shim and
 * systemd-stub builds). Unresolvable names keep longName undefined rather than failing: the short
 * name is what firmware and systemd-stub look at.
 */
export async function resolveLongNames(
  src: ByteSource,
  sections: readonly PeSection[],
  pointerToSymbolTable: number,
  numberOfSymbols: number,
): Promise<PeSection[]> {
  const wanted = sections.filter((s) => /^\/\d{1,7}$/.test(s.name));
  if (wanted.length === 0 || pointerToSymbolTable === 0) return [...sections];
  const table = pointerToSymbolTable + numberOfSymbols * SYMBOL_SIZE;
  if (table + 4 > src.size) return [...sections];
  const tableSize = new DataView((await src.read(table, 4)).slice().buffer).getUint32(0, true);
  return Promise.all(
    sections.map(async (s) => {
      if (!wanted.includes(s)) return s;
      const at = Number(s.name.slice(1));
      if (at < 4 || at >= tableSize || table + at >= src.size) return s;
      const len = Math.min(MAX_LONG_NAME, tableSize - at, src.size - table - at);
      return { ...s, longName: asciiz(await src.read(table + at, len)) };
    }),
  );
}

/** First section whose 8-byte name equals `name` exactly (systemd ≥ 257 rule, measured-boot.md §4.2). */
export function findSection(sections: readonly PeSection[], name: string): PeSection | undefined {
  return sections.find((s) => s.name === name);
}

/** Throws unless the section's raw data lies inside the file. */
export function checkRawData(src: ByteSource, s: PeSection): void {
  if (s.pointerToRawData + s.sizeOfRawData > src.size) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      `section ${s.name}`,
      src.base + s.headerOffset,
      `raw data [${s.pointerToRawData}, +${s.sizeOfRawData}) extends past the ${src.size}-byte file`,
    );
  }
}
