// What nodeimg's Rekor client checks in every entry a log hands back, with the log key it pinned
// (never one the log sends): the same checks @sigstore/verify makes for a Rekor v1 tlog entry
// (verify/src/tlog: set.ts, checkpoint.ts, merkle.ts), done before the entry goes into a bundle:
// - the UUID is the RFC 6962 leaf hash of the body,
// - logID is the pinned key's (SHA-256 of its DER SPKI),
// - the SET is the pinned key's signature over canonical {body, integratedTime, logID, logIndex},
// - the checkpoint is a note signed by the pinned key, and the proof's treeSize/rootHash are its,
// - the inclusion proof puts the leaf at inclusionProof.logIndex in that tree (RFC 9162 2.1.3.2).
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CheckFailedError, UsageError } from '../../errors.js';
import type { LogEntry } from '../../ports.js';
import { canonicalize } from '../local-log/canonical-json.js';
import { leafHash, verifyInclusion } from '../local-log/merkle.js';
import { keyIdOf, noteSignedBy, parseNote, type ParsedNote } from '../local-log/signed-note.js';

export interface PinnedLogKey {
  readonly key: KeyObject;
  readonly logID: Buffer;
}

/** A log key from SPKI DER or PEM; only ECDSA P-256 (Rekor v1's key type) is accepted. */
export function pinnedKey(spki: string | Uint8Array, source: string): PinnedLogKey {
  let key: KeyObject;
  try {
    key =
      typeof spki === 'string'
        ? createPublicKey({ key: spki, format: 'pem' })
        : createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (err) {
    throw new UsageError(`${source} does not hold a public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new UsageError(`${source}: the log key is not an ECDSA P-256 key (Rekor v1 logs sign with one)`);
  return { key, logID: keyIdOf(key.export({ type: 'spki', format: 'der' })) };
}

const fail = (what: string, entry: LogEntry, log: string): never => {
  throw new CheckFailedError(`the log ${log} returned entry ${entry.logIndex} with ${what}`, {
    hint: 'the log is misbehaving or this is not the log whose key you pinned; nothing was written',
  });
};

/** Checks a signed checkpoint with the pinned keys; returns the parsed note. */
export function verifyCheckpoint(note: string, keys: readonly PinnedLogKey[], log: string): ParsedNote {
  let parsed: ParsedNote;
  try {
    parsed = parseNote(note);
  } catch (err) {
    throw new CheckFailedError(`the log ${log} returned a malformed checkpoint: ${(err as Error).message}`);
  }
  if (!keys.some((k) => noteSignedBy(parsed, k.key, k.logID)))
    throw new CheckFailedError(`the log ${log} returned a checkpoint not signed by its pinned key`, {
      hint: 'the log key changed, or the answer was not made by the log you pinned',
    });
  return parsed;
}

/** Verifies an entry; returns its checkpoint. Throws CheckFailedError naming the first failure. */
export function verifyEntry(entry: LogEntry, keys: readonly PinnedLogKey[], log: string): ParsedNote {
  const leaf = leafHash(entry.body);
  if (leaf.toString('hex') !== entry.uuid) fail('a UUID that is not the hash of its body', entry, log);
  const key = keys.find((k) => k.logID.equals(entry.logID));
  if (!key) return fail(`log ID ${entry.logID.toString('hex')}, not the pinned key's`, entry, log);
  const setPayload = canonicalize({
    body: entry.body.toString('base64'),
    integratedTime: entry.integratedTime,
    logID: entry.logID.toString('hex'),
    logIndex: entry.logIndex,
  });
  if (!verify('sha256', Buffer.from(setPayload, 'utf8'), key.key, entry.signedEntryTimestamp))
    fail('a signed entry timestamp (SET) that does not verify with the pinned key', entry, log);
  const p = entry.inclusionProof;
  const cp = verifyCheckpoint(p.checkpoint, [key], log);
  if (cp.treeSize !== p.treeSize || !cp.rootHash.equals(p.rootHash))
    fail(
      `an inclusion proof for tree size ${p.treeSize} with a checkpoint of size ${cp.treeSize}`,
      entry,
      log,
    );
  if (!verifyInclusion(p.logIndex, cp.treeSize, leaf, p.hashes, cp.rootHash))
    fail(
      `an inclusion proof that does not lead to the checkpoint's root (tree size ${cp.treeSize})`,
      entry,
      log,
    );
  return cp;
}
