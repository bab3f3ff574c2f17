// RFC 8785 (JCS) canonical JSON for the values a transparency log signs: objects, arrays, strings,
// booleans, null and safe integers (Rekor's bodies and SET payloads hold no fractions). Keys are
// sorted by UTF-16 code units and strings escaped as ECMAScript JSON.stringify does, as JCS says.

export type CanonicalValue =
  string | number | boolean | null | readonly CanonicalValue[] | { readonly [key: string]: CanonicalValue };

export function canonicalize(value: CanonicalValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON: ${value} is not a safe integer`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v: CanonicalValue) => canonicalize(v)).join(',')}]`;
  const obj = value as { readonly [key: string]: CanonicalValue };
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(obj[k] as CanonicalValue)}`).join(',')}}`;
}
