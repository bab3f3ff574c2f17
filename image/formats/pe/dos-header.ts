import type { ByteReader } from '../reader.js';

// IMAGE_DOS_HEADER (PE/COFF spec §2 "MS-DOS Stub (Image Only)"; winnt.h). Only e_magic and
// e_lfanew matter to a UEFI loader: edk2 BasePeCoffLib PeCoffLoaderGetPeHeader reads the PE header
// at e_lfanew when e_magic is "MZ", and treats the image as having no DOS header otherwise (TE images,
// which nodeimg does not support).
export const DOS_HEADER_SIZE = 64;
export const DOS_MAGIC = 0x5a4d; // "MZ"
const E_LFANEW_OFFSET = 0x3c;

/**
 * Largest e_lfanew accepted. Linkers put the PE header within the first few hundred bytes; the
 * headers as a whole must fit in SizeOfHeaders, which is capped the same way (parse.ts).
 */
export const MAX_E_LFANEW = 64 * 1024;

export interface DosHeader {
  readonly magic: number;
  /** File offset of the "PE\0\0" signature. */
  readonly lfanew: number;
}

/** Decodes the 64-byte DOS header at the reader's cursor. */
export function decodeDosHeader(r: ByteReader): DosHeader {
  const start = r.offset;
  const h = r.sub(start, DOS_HEADER_SIZE, 'DOS header');
  r.skip(DOS_HEADER_SIZE);
  const magic = h.u16At(0);
  if (magic !== DOS_MAGIC) h.fail(`e_magic is 0x${magic.toString(16)}, not "MZ"`, 0);
  const lfanew = h.u32At(E_LFANEW_OFFSET);
  if (lfanew > MAX_E_LFANEW)
    h.fail(`e_lfanew ${lfanew} exceeds ${MAX_E_LFANEW}`, E_LFANEW_OFFSET, 'PARSE_LIMIT');
  return { magic, lfanew };
}
