// Byte-level fix-ups for the GCE image tarball (disk.raw in a gzip'd tar). Pure.
//
// - tar-stream writes POSIX ustar headers ("ustar\0" "00"); GCE documents GNU tar's oldgnu format
//   (`tar --format=oldgnu -Sczf`), whose magic is "ustar  \0". toOldGnuHeader rewrites the magic and
//   version, writes the numeric fields as GNU tar does (zero-padded octal ending in NUL instead of
//   tar-stream's "digits, space, NUL"; a base-256 size is kept), empties devmajor/devminor of a
//   regular file and recomputes the checksum: the header is then byte-identical to the one
//   `tar --format=oldgnu` writes for the same name, mode, owner, size and mtime. The ustar prefix
//   field (bytes 345-499, atime/ctime and sparse data in oldgnu) must be empty, which it is for a
//   short name like "disk.raw".
// - Node's gzip header has mtime 0, no name and no comment; its OS byte is zlib's compile-time
//   OS_CODE (3 on Unix, 10 on Windows builds). normalizeGzipHeader checks the header is that bare
//   and pins the OS byte to 3 (Unix, what GNU gzip -n writes on Linux), so the bytes do not depend
//   on the platform that ran the build.
export const TAR_BLOCK = 512;
const MAGIC_OFFSET = 257;
const CHECKSUM_OFFSET = 148;
const PREFIX_OFFSET = 345;
const PREFIX_END = 500;
/** mode, uid, gid, size, mtime: [offset, length]. */
const NUMERIC_FIELDS = [
  [100, 8],
  [108, 8],
  [116, 8],
  [124, 12],
  [136, 12],
] as const;
const DEV_OFFSET = 329;
const DEV_END = 345;
export const GZIP_HEADER_SIZE = 10;
export const GZIP_OS_UNIX = 3;

function tarChecksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++)
    sum += i >= CHECKSUM_OFFSET && i < CHECKSUM_OFFSET + 8 ? 0x20 : (h[i] ?? 0);
  return sum;
}

/** Whether a 512-byte tar header's stored checksum matches its bytes. */
export function tarHeaderChecksumOk(h: Uint8Array): boolean {
  if (h.length !== TAR_BLOCK) return false;
  const field = String.fromCharCode(...h.subarray(CHECKSUM_OFFSET, CHECKSUM_OFFSET + 8)).replace(
    /[\0 ]+$/,
    '',
  );
  return /^[0-7]+$/.test(field) && parseInt(field, 8) === tarChecksum(h);
}

/** A copy of a ustar header (as tar-stream writes it) turned into a GNU oldgnu header. */
export function toOldGnuHeader(ustar: Uint8Array): Uint8Array {
  if (ustar.length !== TAR_BLOCK) throw new RangeError(`a tar header is 512 bytes, got ${ustar.length}`);
  const magic = String.fromCharCode(...ustar.subarray(MAGIC_OFFSET, MAGIC_OFFSET + 8));
  if (magic !== 'ustar\u000000') throw new RangeError(`not a ustar header (magic ${JSON.stringify(magic)})`);
  if (!tarHeaderChecksumOk(ustar)) throw new RangeError('the ustar header checksum is wrong');
  if (ustar.subarray(PREFIX_OFFSET, PREFIX_END).some((b) => b !== 0))
    throw new RangeError('the name needs the ustar prefix field, which oldgnu does not have');
  const h = new Uint8Array(ustar);
  for (const [at, len] of NUMERIC_FIELDS) {
    if (((h[at] as number) & 0x80) !== 0) continue; // base-256 (size > 8 GiB): already GNU's encoding
    const text = String.fromCharCode(...h.subarray(at, at + len)).replace(/[\0 ]+$/, '');
    if (!/^[0-7]*$/.test(text) || text.length > len - 1)
      throw new RangeError(`tar header field at ${at} is not octal: ${JSON.stringify(text)}`);
    const digits = text.padStart(len - 1, '0');
    h.set(
      [...digits].map((c) => c.charCodeAt(0)),
      at,
    );
    h[at + len - 1] = 0;
  }
  if (h[156] === 0x30 || h[156] === 0) h.fill(0, DEV_OFFSET, DEV_END); // regular file: no device numbers
  h.set([0x75, 0x73, 0x74, 0x61, 0x72, 0x20, 0x20, 0x00], MAGIC_OFFSET); // "ustar  \0"
  // GNU tar's layout of the checksum field: six octal digits, NUL, space.
  const sum = tarChecksum(h).toString(8).padStart(6, '0');
  h.set(
    [...sum].map((c) => c.charCodeAt(0)),
    CHECKSUM_OFFSET,
  );
  h[CHECKSUM_OFFSET + 6] = 0;
  h[CHECKSUM_OFFSET + 7] = 0x20;
  return h;
}

/**
 * A copy of the first 10 bytes of a gzip stream with the OS byte set to Unix. Throws if the header
 * carries a modification time, a file name, a comment, extra fields or a header CRC.
 */
export function normalizeGzipHeader(head: Uint8Array): Uint8Array {
  if (head.length !== GZIP_HEADER_SIZE) throw new RangeError(`a gzip header is 10 bytes, got ${head.length}`);
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8)
    throw new RangeError('not a deflate gzip stream');
  if (head[3] !== 0)
    throw new RangeError(`gzip header flags 0x${(head[3] ?? 0).toString(16)} (name, comment or extra)`);
  if (head.subarray(4, 8).some((b) => b !== 0))
    throw new RangeError('the gzip header carries a modification time');
  const h = new Uint8Array(head);
  h[9] = GZIP_OS_UNIX;
  return h;
}
