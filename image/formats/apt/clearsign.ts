// The framing of an OpenPGP cleartext signed message (RFC 4880 §7, as Debian's InRelease files
// are): "-----BEGIN PGP SIGNED MESSAGE-----", "Hash:" armor headers, a blank line, the dash-escaped
// text, then the ASCII-armored signature. This file only splits the message and undoes the dash
// escaping (§7.1: a text line starting with '-' is written as "- " + line); the signature is
// checked by gpgv (image/build/apt-archive/gpgv.ts), which also writes out the text it verified:
// the caller compares both, so the text nodeimg parses is exactly the text that was signed.
//
// Strict on purpose, like apt's SplitClearSignedFile (apt-pkg/contrib/gpgv.cc): nothing may come
// before the header line or after the signature, only "Hash" armor headers are accepted, and a text
// line starting with '-' that is not dash-escaped is refused, so no unsigned text can ride along
// with a signed one.
import { ParseError } from '../errors.js';

export const CLEARSIGN_BEGIN = '-----BEGIN PGP SIGNED MESSAGE-----';
export const SIGNATURE_BEGIN = '-----BEGIN PGP SIGNATURE-----';
export const SIGNATURE_END = '-----END PGP SIGNATURE-----';
const MAX_MESSAGE = 64 * 1024 * 1024;
const MAX_HEADERS = 16;

export interface ClearsignedMessage {
  /** Hash algorithms named by the "Hash:" armor headers, e.g. ["SHA256"]. */
  readonly hashes: readonly string[];
  /** The signed text, dash-unescaped, each line ending with "\n" (as `gpgv -o` writes it). */
  readonly text: Uint8Array;
  /** Absolute offset of the first text line in the message (for messages about the text). */
  readonly textOffset: number;
  /** The armored signature block, BEGIN and END lines included. */
  readonly signature: string;
}

const latin1 = new TextDecoder('latin1');

/** Splits an InRelease-style cleartext signed message. */
export function splitClearsigned(bytes: Uint8Array, base = 0, structure = 'InRelease'): ClearsignedMessage {
  const fail = (pos: number, detail: string, code: 'PARSE_INVALID' | 'PARSE_LIMIT' = 'PARSE_INVALID') => {
    throw new ParseError(code, structure, base + pos, detail);
  };
  if (bytes.length > MAX_MESSAGE) fail(0, `larger than ${MAX_MESSAGE} bytes`, 'PARSE_LIMIT');
  const text = latin1.decode(bytes);
  const lines: { s: string; pos: number }[] = [];
  for (let pos = 0; pos < text.length;) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    let s = text.slice(pos, end);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    lines.push({ s, pos });
    pos = nl < 0 ? text.length : nl + 1;
  }
  const at = (k: number) => lines[k] ?? fail(text.length, 'the message ends early');
  if (lines.length === 0 || at(0).s.trimEnd() !== CLEARSIGN_BEGIN)
    fail(0, `the first line is not "${CLEARSIGN_BEGIN}" (nothing may come before it)`);
  let i = 1;
  const hashes: string[] = [];
  for (; ; i++) {
    const l = at(i);
    if (l.s === '') break;
    if (i > MAX_HEADERS) fail(l.pos, `more than ${MAX_HEADERS} armor headers`, 'PARSE_LIMIT');
    const m = /^Hash: ([A-Za-z0-9]+(?:, ?[A-Za-z0-9]+)*)$/.exec(l.s);
    if (m === null) fail(l.pos, `an armor header other than "Hash:": ${JSON.stringify(l.s.slice(0, 60))}`);
    for (const h of (m as RegExpExecArray)[1]!.split(',')) hashes.push(h.trim().toUpperCase());
  }
  i++;
  const textOffset = at(i).pos;
  // each text line as a byte range of the input (dash escape removed, CR dropped)
  const body: [number, number][] = [];
  for (; ; i++) {
    const l = at(i);
    if (l.s === SIGNATURE_BEGIN) break;
    if (l.s.startsWith('- ')) body.push([l.pos + 2, l.pos + l.s.length]);
    else if (l.s.startsWith('-')) fail(l.pos, `a text line starting with "-" that is not dash-escaped`);
    else body.push([l.pos, l.pos + l.s.length]);
  }
  const sigStart = at(i).pos;
  for (i++; ; i++) {
    const l = at(i);
    if (l.s === CLEARSIGN_BEGIN || l.s === SIGNATURE_BEGIN)
      fail(l.pos, 'a second armored block inside the signature');
    if (l.s === SIGNATURE_END) break;
  }
  const sigEnd = at(i).pos + SIGNATURE_END.length;
  for (i++; i < lines.length; i++) {
    const l = lines[i] as { s: string; pos: number };
    if (l.s.trim() !== '')
      fail(l.pos, 'text after the signature (only the signed message may be in the file)');
  }
  // The signed text keeps its original bytes (UTF-8 intact): each line's range, then "\n".
  const buf = new Uint8Array(body.reduce((n, [a, b]) => n + (b - a) + 1, 0));
  let o = 0;
  for (const [a, b] of body) {
    buf.set(bytes.subarray(a, b), o);
    o += b - a;
    buf[o++] = 0x0a;
  }
  return {
    hashes,
    text: buf,
    textOffset: base + textOffset,
    signature: latin1.decode(bytes.subarray(sigStart, sigEnd)),
  };
}
