// Rekor v1 checkpoints: signed notes in the transparency-dev format (golang.org/x/mod/sumdb/note,
// as Rekor's pkg/util/checkpoint.go and sigstore-js @sigstore/verify timestamp/checkpoint.ts read
// them). The text is
//   "<origin>\n<tree size>\n<base64 root hash>\n[other lines]\n" + "\n" +
//   one line per signature "\u2014 <signer name> <base64(4-byte key hint || signature)>\n"
// where the key hint is the first 4 bytes of SHA-256(DER SPKI) (Rekor's logID) and the signature is
// ECDSA P-256 / SHA-256 (DER) over the note text before the blank line.
import { createHash, verify, type KeyObject } from 'node:crypto';
import { p256Sign } from '../p256-sign.js';

export interface ParsedNote {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Buffer;
  /** The signed text (origin line through the last body line, with its newline). */
  readonly text: string;
  readonly signatures: readonly { readonly name: string; readonly keyHint: Buffer; readonly sig: Buffer }[];
}

export const keyIdOf = (spkiDer: Uint8Array): Buffer => createHash('sha256').update(spkiDer).digest();

/** Signs (treeSize, rootHash) as a checkpoint of `origin`, signer `name`. */
export function signNote(
  origin: string,
  name: string,
  treeSize: number,
  rootHash: Uint8Array,
  key: KeyObject,
  logID: Uint8Array,
): string {
  const text = `${origin}\n${treeSize}\n${Buffer.from(rootHash).toString('base64')}\n`;
  const sig = Buffer.concat([logID.subarray(0, 4), p256Sign(key, Buffer.from(text, 'utf8'))]);
  return `${text}\n\u2014 ${name} ${sig.toString('base64')}\n`;
}

/** Parses a signed note; throws an Error naming what is wrong. */
export function parseNote(note: string): ParsedNote {
  if (note.length > 64 * 1024) throw new Error('checkpoint: longer than 64 KiB');
  const sep = note.indexOf('\n\n');
  if (sep < 0) throw new Error('checkpoint: no blank line between the text and its signatures');
  const text = note.slice(0, sep + 1);
  const [origin, size, root] = text.split('\n');
  if (!origin) throw new Error('checkpoint: no origin line');
  if (size === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new Error(`checkpoint: tree size ${JSON.stringify(size)} is not a decimal integer`);
  if (root === undefined || !/^[A-Za-z0-9+/]{43}=$/.test(root))
    throw new Error('checkpoint: the root hash line is not base64 of 32 bytes');
  const sigLines = note.slice(sep + 2).split('\n');
  if (sigLines.pop() !== '') throw new Error('checkpoint: the signature block does not end with a newline');
  const signatures = sigLines.map((line) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    if (!m) throw new Error(`checkpoint: malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    const raw = Buffer.from(m[2] as string, 'base64');
    if (raw.length < 5) throw new Error('checkpoint: signature too short');
    return { name: m[1] as string, keyHint: raw.subarray(0, 4), sig: raw.subarray(4) };
  });
  if (signatures.length === 0) throw new Error('checkpoint: no signature');
  return { origin, treeSize: Number(size), rootHash: Buffer.from(root, 'base64'), text, signatures };
}

/**
 * True when one signature of `note` whose key hint is the first 4 bytes of `logID` verifies with
 * `key` over the note text (and, when `name` is given, is made under that signer name).
 */
export function noteSignedBy(note: ParsedNote, key: KeyObject, logID: Uint8Array, name?: string): boolean {
  const hint = Buffer.from(logID.subarray(0, 4));
  return note.signatures.some(
    (s) =>
      s.keyHint.equals(hint) &&
      (name === undefined || s.name === name) &&
      verify('sha256', Buffer.from(note.text, 'utf8'), key, s.sig),
  );
}
