// Object keys and digests as every store adapter accepts them. A key is a relative path of
// `/`-separated segments of [A-Za-z0-9._~+=@,-], none empty and none starting with `.` (so no `.`,
// `..` or hidden names), at most 1024 bytes (S3's limit): the same key means the same object in a
// directory, in a bucket and behind a URL, and no key can leave a store's root or reach the dir
// store's own `.nodeimg-store/` folder. Anything else is refused before any I/O.
import { UsageError } from '../../errors.js';

const SEGMENT = /^[A-Za-z0-9_~+=@,-][A-Za-z0-9._~+=@,-]*$/;
export const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT = 255;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const HINT = 'keys are relative paths of [A-Za-z0-9._~+=@,-] segments, none empty or starting with "."';

function problem(key: string): string | undefined {
  if (key.length === 0) return 'is empty';
  if (key.length > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  for (const seg of key.split('/')) {
    if (seg.length === 0) return 'has an empty segment (leading, trailing or double "/")';
    if (seg.length > MAX_SEGMENT) return `has a segment longer than ${MAX_SEGMENT} characters`;
    if (seg === '.' || seg === '..') return `has a "${seg}" segment`;
    if (seg.startsWith('.')) return 'has a segment starting with "."';
    if (!SEGMENT.test(seg)) return `has a character outside [A-Za-z0-9._~+=@,-] in "${seg.slice(0, 64)}"`;
  }
  return undefined;
}

/** True when `key` is a valid object key. */
export function isValidKey(key: string): boolean {
  return typeof key === 'string' && problem(key) === undefined;
}

/** Returns `key` or throws a USAGE error naming what is wrong with it. */
export function checkKey(key: string): string {
  const p = typeof key === 'string' ? problem(key) : 'is not a string';
  if (p !== undefined) throw new UsageError(`object key ${JSON.stringify(key)} ${p}`, { hint: HINT });
  return key;
}

/** A list prefix: '' or the start of a key (it may end inside a segment or with '/'). */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** Returns a lower-case hex SHA-256 or throws a USAGE error. */
export function checkSha256(hex: string, what = 'sha256'): string {
  if (typeof hex !== 'string' || !SHA256_HEX.test(hex))
    throw new UsageError(`${what} ${JSON.stringify(hex)} is not 64 lower-case hex digits`);
  return hex;
}

/** A recorded digest (metadata, header) if it is well-formed, else undefined. */
export function parseSha256(value: unknown): string | undefined {
  return typeof value === 'string' && SHA256_HEX.test(value) ? value : undefined;
}
