// Test helpers for measurements/: annotated hex literals and independent (node:crypto) hashing.
import { createHash } from 'node:crypto';

/**
 * Bytes from annotated hex: everything after `#` on a line is a comment, whitespace is ignored, and
 * `{N x HH}` repeats byte HH N times (for long zero/0xFF runs).
 */
export function hex(text: string | TemplateStringsArray): Uint8Array {
  const src = typeof text === 'string' ? text : text.join('');
  const clean = src
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('')
    .replace(/\{(\d+)\s*x\s*([0-9a-fA-F]{2})\}/g, (_, n: string, b: string) => b.repeat(Number(n)))
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex literal: ${clean.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

export function toHexStr(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Independent hash, not through measurements/hash.ts. */
export function h(alg: string, ...parts: (Uint8Array | string)[]): Uint8Array {
  const hash = createHash(alg);
  for (const p of parts) hash.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  return new Uint8Array(hash.digest());
}

export function utf16z(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(`${s}\0`, 'utf16le'));
}

/** The same bytes at a non-zero byteOffset inside a larger buffer (catches DataView offset bugs). */
export function atOffset(b: Uint8Array, pad: number): Uint8Array {
  const buf = new Uint8Array(b.length + pad + 3).fill(0xa5);
  buf.set(b, pad);
  return buf.subarray(pad, pad + b.length);
}
