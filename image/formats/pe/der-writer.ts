// A minimal DER encoder (ITU-T X.690 §8, §10): definite lengths in the shortest form, SET OF
// elements sorted by their encodings (§11.6), as the Authenticode signer needs. Pure.

export type Der = Uint8Array;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV with the given identifier octet. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Der {
  const body = concat(contents);
  return concat([Uint8Array.of(tag), length(body.length), body]);
}

export const seq = (...items: readonly Der[]): Der => tlv(0x30, ...items);

/** SET OF: the elements in ascending order of their encodings (X.690 §11.6). */
export function setOf(...items: readonly Der[]): Der {
  return taggedSetOf(0x31, items);
}

/** A SET OF's sorted elements under another identifier (e.g. 0xA0 for [0] IMPLICIT SET OF). */
export function taggedSetOf(tag: number, items: readonly Der[]): Der {
  const cmp = (a: Uint8Array, b: Uint8Array): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  return tlv(tag, ...[...items].sort(cmp));
}

/** [n] EXPLICIT (constructed, context-specific). */
export const explicit = (n: number, ...items: readonly Der[]): Der => tlv(0xa0 | n, ...items);

export const nullDer = (): Der => Uint8Array.of(0x05, 0x00);

export const octetString = (b: Uint8Array): Der => tlv(0x04, b);

/** INTEGER from a small non-negative number. */
export function integer(n: number): Der {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(0x02, Uint8Array.from(bytes));
}

/** OBJECT IDENTIFIER from its dotted form (X.690 §8.19). */
export function oid(dotted: string): Der {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number): void => {
    const groups: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) groups.unshift((x & 0x7f) | 0x80);
    out.push(...groups);
  };
  push((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Uint8Array.from(out));
}
