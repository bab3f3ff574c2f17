// CRC-32 as used by GPT (UEFI 2.10 §5.3.2 "HeaderCRC32" / "PartitionEntryArrayCRC32"): the IEEE 802.3
// polynomial in reflected form 0xEDB88320, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. This is the
// same CRC as zlib's crc32(); check value for the ASCII bytes "123456789" is 0xCBF43926.

const POLY = 0xedb88320;

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE) of `data`. Pass the previous result as `crc` to continue over several buffers:
 * `crc32(b, crc32(a)) === crc32(a ‖ b)`.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (const byte of data) c = (TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
