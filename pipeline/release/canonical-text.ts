// The one text form of every JSON document nodeimg signs and publishes (build manifest,
// measurements, info, version index): pipeline/build/canonical.ts's canonicalJson, i.e. keys sorted
// by UTF-16 code units at every level (written in that order explicitly: JavaScript objects would
// put integer-like keys such as PCR "4" before "11"), two-space indent, one trailing newline.
// Decided once, so that what is signed is exactly what is published and a third party can
// re-create the bytes from the parsed value.
import { canonicalJson, type CanonicalValue } from '../build/canonical.js';

export function canonicalText(value: unknown): string {
  return canonicalJson(JSON.parse(JSON.stringify(value)) as CanonicalValue);
}

/** True when `text` is exactly the canonical text of what it parses to. */
export function isCanonicalText(text: string): boolean {
  try {
    return canonicalText(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
