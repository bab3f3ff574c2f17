import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import {
  COFF_HEADER_SIZE,
  PE_SIGNATURE_SIZE,
  decodeCoffHeader,
  expectPeSignature,
  type CoffHeader,
} from './coff-header.js';
import { DOS_HEADER_SIZE, decodeDosHeader, type DosHeader } from './dos-header.js';
import { decodeOptionalHeader, type OptionalHeader } from './optional-header.js';
import { SECTION_HEADER_SIZE, decodeSectionTable, resolveLongNames, type PeSection } from './sections.js';

/**
 * Largest SizeOfHeaders accepted. SizeOfHeaders is the DOS stub + PE headers + section table
 * rounded up to FileAlignment (PE/COFF spec §3.4.2), and FileAlignment is at most 64 KiB, so real
 * images stay far below this.
 */
export const MAX_HEADERS_SIZE = 1024 * 1024;

/**
 * A parsed PE/COFF image: plain readonly data, no handle on the bytes. Every offset in it is a file
 * offset within the source it was parsed from; ParseErrors carry absolute offsets (source base added).
 */
export interface PeImage {
  /** Size of the source the image was parsed from (the Authenticode "ImageSize"). */
  readonly fileSize: number;
  /** Absolute offset of the file in the outermost input (source base), for error messages. */
  readonly base: number;
  /** Same as optional.format. */
  readonly format: 'PE32' | 'PE32+';
  readonly dos: DosHeader;
  readonly coff: CoffHeader;
  readonly optional: OptionalHeader;
  readonly sections: readonly PeSection[];
  /** Absolute file offset of the first section header. */
  readonly sectionTableOffset: number;
  /** Absolute file offset just past the last section header. */
  readonly sectionTableEnd: number;
}

/**
 * Parses the headers and section table of a PE/COFF image. Reads only the header range (and the
 * COFF string table entries for "/N" section names); section data is never read.
 */
export async function parsePe(src: ByteSource): Promise<PeImage> {
  const name = `${src.name}: PE image`;
  if (src.size < DOS_HEADER_SIZE) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      name,
      src.base,
      `${src.size} bytes is too small for a DOS header`,
    );
  }
  const dos = decodeDosHeader(new ByteReader(await src.read(0, DOS_HEADER_SIZE), name, src.base));

  // PE signature + COFF header at e_lfanew (PE/COFF spec §3.2, §3.3).
  const peOff = dos.lfanew;
  const peLen = PE_SIGNATURE_SIZE + COFF_HEADER_SIZE;
  if (peOff + peLen > src.size) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      name,
      src.base + Math.min(peOff, src.size),
      `PE header at ${peOff} is past the end`,
    );
  }
  const pr = new ByteReader(await src.read(peOff, peLen), name, src.base + peOff);
  expectPeSignature(pr);
  const coff = decodeCoffHeader(pr);

  // Optional header + section table follow the COFF header back to back (PE/COFF spec §3.4, §4).
  const optOff = peOff + peLen;
  const tableOff = optOff + coff.sizeOfOptionalHeader;
  const tableEnd = tableOff + coff.numberOfSections * SECTION_HEADER_SIZE;
  if (tableEnd > src.size) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      name,
      src.base + Math.min(optOff, src.size),
      `optional header and ${coff.numberOfSections} section headers end at ${tableEnd}, past the ${src.size}-byte file`,
    );
  }
  const hr = new ByteReader(await src.read(optOff, tableEnd - optOff), name, src.base + optOff);
  const optional = decodeOptionalHeader(hr.sub(0, coff.sizeOfOptionalHeader, `${name} optional header`));
  hr.seek(coff.sizeOfOptionalHeader);
  const table = decodeSectionTable(hr, coff.numberOfSections);

  // SizeOfHeaders must cover the section table: Authenticode hashes [.., SizeOfHeaders) as "the
  // headers including the section table" (measured-boot.md §1).
  const soh = optional.sizeOfHeaders;
  if (soh > MAX_HEADERS_SIZE) {
    throw new ParseError(
      'PARSE_LIMIT',
      name,
      optional.checkSumOffset - 4,
      `SizeOfHeaders ${soh} exceeds ${MAX_HEADERS_SIZE}`,
    );
  }
  if (soh < tableEnd) {
    throw new ParseError(
      'PARSE_INVALID',
      name,
      optional.checkSumOffset - 4,
      `SizeOfHeaders ${soh} ends before the section table (${tableEnd})`,
    );
  }

  // The readers carry src.base so that errors name absolute offsets; the offsets kept in PeImage
  // are file offsets within src, which is what Authenticode needs.
  const b = src.base;
  const named = await resolveLongNames(src, table, coff.pointerToSymbolTable, coff.numberOfSymbols);
  return {
    fileSize: src.size,
    base: b,
    format: optional.format,
    dos,
    coff,
    optional: {
      ...optional,
      checkSumOffset: optional.checkSumOffset - b,
      certDirEntryOffset:
        optional.certDirEntryOffset === undefined ? undefined : optional.certDirEntryOffset - b,
    },
    sections: named.map((s) => ({ ...s, headerOffset: s.headerOffset - b })),
    sectionTableOffset: tableOff,
    sectionTableEnd: tableEnd,
  };
}
