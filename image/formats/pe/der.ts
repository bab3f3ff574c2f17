import type { ByteReader } from '../reader.js';

// A tiny bounds-checked DER walker (ITU-T X.690 §8.1: identifier, length, contents), just enough to
// find the pieces of an Authenticode PKCS#7 SignedData. Low tag numbers and definite lengths only:
// Authenticode signatures are DER (Microsoft "Windows Authenticode Portable Executable Signature
// Format", §"Authenticode signature format").

/** Length fields longer than this many bytes are rejected (4 bytes already covers 4 GiB). */
const MAX_LENGTH_BYTES = 4;
/** Most children enumerated under one constructed value. */
export const MAX_DER_CHILDREN = 256;

export const TAG = {
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
  context0: 0xa0,
  context1: 0xa1,
} as const;

export interface Tlv {
  readonly tag: number;
  /** Position of the identifier byte in the reader's slice. */
  readonly start: number;
  /** Position of the first contents byte. */
  readonly contents: number;
  /** Position just past the contents. */
  readonly end: number;
}

/** Reads the TLV at `pos`; its contents must lie inside the reader's slice. */
export function readTlv(r: ByteReader, pos: number): Tlv {
  const tag = r.u8At(pos);
  if ((tag & 0x1f) === 0x1f)
    r.fail('high-tag-number DER identifiers are not supported', pos, 'PARSE_UNSUPPORTED');
  const first = r.u8At(pos + 1);
  let len = first;
  let hdr = 2;
  if (first === 0x80) r.fail('indefinite-length BER is not DER', pos + 1, 'PARSE_UNSUPPORTED');
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > MAX_LENGTH_BYTES) r.fail(`DER length of ${n} bytes`, pos + 1, 'PARSE_LIMIT');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8At(pos + 2 + i);
    hdr += n;
  }
  r.bytesAt(pos + hdr, len); // bounds check of the whole contents
  return { tag, start: pos, contents: pos + hdr, end: pos + hdr + len };
}

/** Reads the TLV at `pos` and checks its tag. */
export function expectTlv(r: ByteReader, pos: number, tag: number, what: string): Tlv {
  const t = readTlv(r, pos);
  if (t.tag !== tag)
    r.fail(`${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`, pos);
  return t;
}

/** The TLVs inside a constructed value, in order (at most MAX_DER_CHILDREN). */
export function children(r: ByteReader, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.contents; pos < parent.end;) {
    if (out.length >= MAX_DER_CHILDREN)
      r.fail(`more than ${MAX_DER_CHILDREN} DER elements`, pos, 'PARSE_LIMIT');
    const t = readTlv(r, pos);
    if (t.end > parent.end) r.fail('DER element overruns its parent', pos);
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** Dotted form of an OBJECT IDENTIFIER's contents (X.690 §8.19). */
export function oidToString(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) return '?';
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}
