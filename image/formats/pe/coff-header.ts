import type { ByteReader } from '../reader.js';

// The "PE\0\0" signature and IMAGE_FILE_HEADER (PE/COFF spec §3.2 "Signature (Image Only)" and
// §3.3 "COFF File Header (Object and Image)").
export const PE_SIGNATURE = 0x00004550; // "PE\0\0" read as u32le
export const PE_SIGNATURE_SIZE = 4;
export const COFF_HEADER_SIZE = 20;

/** PE/COFF spec §3.3: "the Windows loader limits the number of sections to 96". */
export const MAX_SECTIONS = 96;

/**
 * Largest SizeOfOptionalHeader accepted. The largest standard optional header (PE32+ with 16 data
 * directories) is 240 bytes; anything far beyond that is not a real image.
 */
export const MAX_OPTIONAL_HEADER_SIZE = 4096;

export const MACHINE = {
  i386: 0x14c,
  amd64: 0x8664,
  arm: 0x1c2,
  armThumb2: 0x1c4,
  arm64: 0xaa64,
  riscv64: 0x5064,
  loongarch64: 0x6264,
} as const;

export interface CoffHeader {
  readonly machine: number;
  readonly numberOfSections: number;
  readonly timeDateStamp: number;
  /** File offset of the COFF symbol table (0 if none); the string table follows the symbols. */
  readonly pointerToSymbolTable: number;
  readonly numberOfSymbols: number;
  readonly sizeOfOptionalHeader: number;
  readonly characteristics: number;
}

/** Checks "PE\0\0" at the cursor and moves past it. */
export function expectPeSignature(r: ByteReader): void {
  const sig = r.u32At(r.offset);
  if (sig !== PE_SIGNATURE) r.fail(`signature is 0x${sig.toString(16).padStart(8, '0')}, not "PE\\0\\0"`);
  r.skip(PE_SIGNATURE_SIZE);
}

/** Decodes the 20-byte COFF file header at the reader's cursor and validates the limits. */
export function decodeCoffHeader(r: ByteReader): CoffHeader {
  const start = r.offset;
  const h = r.sub(start, COFF_HEADER_SIZE, 'COFF header');
  r.skip(COFF_HEADER_SIZE);
  const coff: CoffHeader = {
    machine: h.u16(),
    numberOfSections: h.u16(),
    timeDateStamp: h.u32(),
    pointerToSymbolTable: h.u32(),
    numberOfSymbols: h.u32(),
    sizeOfOptionalHeader: h.u16(),
    characteristics: h.u16(),
  };
  if (coff.numberOfSections > MAX_SECTIONS) {
    h.fail(`NumberOfSections ${coff.numberOfSections} exceeds ${MAX_SECTIONS}`, 2, 'PARSE_LIMIT');
  }
  if (coff.sizeOfOptionalHeader > MAX_OPTIONAL_HEADER_SIZE) {
    h.fail(
      `SizeOfOptionalHeader ${coff.sizeOfOptionalHeader} exceeds ${MAX_OPTIONAL_HEADER_SIZE}`,
      16,
      'PARSE_LIMIT',
    );
  }
  return coff;
}
