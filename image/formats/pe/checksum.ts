// The PE image checksum (the optional header's CheckSum field, PE/COFF spec §3.4.2 "Windows-Specific
// Fields"; the algorithm is imagehlp's CheckSumMappedFile, which binutils' pe_compute_checksum and
// pefile's generate_checksum reproduce): the 16-bit one's-complement sum of the file taken as
// little-endian u16 words, carries folded back, with the 4-byte CheckSum field counted as zero and
// an odd last byte padded with zero, plus the file length. Pure.

/** CheckSum of `pe` whose CheckSum field is at `checkSumOffset` (its current value is ignored). */
export function peChecksum(pe: Uint8Array, checkSumOffset: number): number {
  const view = new DataView(pe.buffer, pe.byteOffset, pe.byteLength);
  const even = pe.length - (pe.length & 1);
  let sum = 0;
  for (let i = 0; i < even; i += 2) {
    if (i === checkSumOffset || i === checkSumOffset + 2) continue;
    sum += view.getUint16(i, true);
    // Folding now and then keeps `sum` exact (far below 2^53) and gives the same result as folding
    // after every addition: both are the value in [1, 0xffff] congruent to the total mod 0xffff.
    if ((i & 0xfffff) === 0) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  }
  if (pe.length & 1) sum += pe[pe.length - 1] as number;
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return (sum + pe.length) >>> 0;
}
