// Reproducibility fix-up for PE images written by objcopy (binutils 2.40 stamps the current time
// into the COFF header and ignores SOURCE_DATE_EPOCH): set TimeDateStamp, recompute CheckSum. Pure.
import { ParseError } from '../../formats/errors.js';

export interface PeHeaderOffsets {
  /** File offset of the COFF TimeDateStamp (u32). */
  readonly timeDateStamp: number;
  /** File offset of the optional header's CheckSum (u32). */
  readonly checkSum: number;
}

/** Finds the two fields; throws ParseError if `pe` is not an MZ/PE image. */
export function peHeaderOffsets(pe: Uint8Array): PeHeaderOffsets {
  const view = new DataView(pe.buffer, pe.byteOffset, pe.byteLength);
  if (pe.length < 0x40 || pe[0] !== 0x4d || pe[1] !== 0x5a) {
    throw new ParseError('PARSE_INVALID', 'DOS header', 0, 'no MZ signature');
  }
  const peOff = view.getUint32(0x3c, true);
  // signature (4) + COFF header (20) + optional header up to and including CheckSum (68)
  if (peOff + 4 + 20 + 68 > pe.length) {
    throw new ParseError('PARSE_TRUNCATED', 'PE header', peOff, 'headers run past the end of the file');
  }
  if (view.getUint32(peOff, true) !== 0x00004550) {
    throw new ParseError('PARSE_INVALID', 'PE header', peOff, 'no PE\\0\\0 signature');
  }
  return { timeDateStamp: peOff + 4 + 4, checkSum: peOff + 4 + 20 + 64 };
}

/**
 * The PE image checksum: the 16-bit one's-complement sum (carries folded back) of the file taken as
 * little-endian u16 words, with the CheckSum field itself counted as zero and an odd last byte
 * padded with zero, plus the file length.
 */
export function peChecksum(pe: Uint8Array, checkSumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < pe.length; i += 2) {
    if (i === checkSumOffset || i === checkSumOffset + 2) continue;
    sum += (pe[i] ?? 0) | ((pe[i + 1] ?? 0) << 8);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + pe.length) >>> 0;
}

/** A copy of `pe` with TimeDateStamp = epoch and a recomputed CheckSum. */
export function setPeTimestamp(pe: Uint8Array, epoch: number): Uint8Array {
  const out = new Uint8Array(pe);
  const off = peHeaderOffsets(out);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(off.timeDateStamp, epoch >>> 0, true);
  view.setUint32(off.checkSum, 0, true);
  view.setUint32(off.checkSum, peChecksum(out, off.checkSum), true);
  return out;
}

/** `pe` zero-padded to a multiple of `align` bytes (sbsign hashes an 8-aligned image). */
export function padTo(pe: Uint8Array, align = 8): Uint8Array {
  const size = Math.ceil(pe.length / align) * align;
  if (size === pe.length) return pe;
  const out = new Uint8Array(size);
  out.set(pe);
  return out;
}
