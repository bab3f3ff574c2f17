// The one text form of every JSON document nodeimg signs and publishes (build manifest,
// measurements, info, version index): keys sorted by UTF-16 code units at every level, two-space
// indent, "\n" line ends and one trailing newline. Decided once, here, so that what is signed is
// exactly what is published and a third party can re-create the bytes from the parsed value.

type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

function sortKeys(v: unknown): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`canonical JSON: ${v} is not a finite number`);
    return v;
  }
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  throw new TypeError(`canonical JSON: a ${typeof v} cannot be serialised`);
}

export function canonicalText(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

/** True when `text` is exactly the canonical text of what it parses to. */
export function isCanonicalText(text: string): boolean {
  try {
    return canonicalText(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
