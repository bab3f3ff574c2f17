// Canonical pretty JSON for documents nodeimg signs or compares byte for byte (the build manifest,
// the lock): object keys sorted by UTF-16 code units (as RFC 8785 / canonicalize() in
// pipeline/adapters/local-log/canonical-json.ts), 2-space indent, "\n" line ends, a trailing
// newline. Only the values canonicalize() accepts (no fractions, no undefined).
import { canonicalize, type CanonicalValue } from '../adapters/local-log/canonical-json.js';
import { createHash } from 'node:crypto';

export type { CanonicalValue };

function pretty(value: CanonicalValue, indent: string): string {
  if (value === null || typeof value !== 'object') return canonicalize(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v: CanonicalValue) => `${inner}${pretty(v, inner)}`);
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const obj = value as { readonly [key: string]: CanonicalValue };
  const keys = Object.keys(obj).sort();
  if (keys.length === 0) return '{}';
  const items = keys.map((k) => `${inner}${JSON.stringify(k)}: ${pretty(obj[k] as CanonicalValue, inner)}`);
  return `{\n${items.join(',\n')}\n${indent}}`;
}

/** The canonical pretty text of `value`, with a trailing newline. */
export function canonicalJson(value: CanonicalValue): string {
  return `${pretty(value, '')}\n`;
}

/** sha256 (hex) of the compact canonical form: the cache keys of build stages. */
export function canonicalDigest(value: CanonicalValue): string {
  return createHash('sha256').update(canonicalize(value)).digest('hex');
}
