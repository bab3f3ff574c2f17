// The Rekor API v1 JSON shapes nodeimg's log server writes and its client reads (rekor
// openapi.yaml: LogEntry, LogInfo, ConsistencyProof, Error). A LogEntry is a map with one key, the
// entry ID (80 hex: 16 of tree ID, then the UUID) or the UUID:
//   {"<id>": {"body": b64, "integratedTime": s, "logID": hex, "logIndex": n,
//             "verification": {"signedEntryTimestamp": b64,
//                              "inclusionProof": {"checkpoint": note, "hashes": [hex], "logIndex": n,
//                                                 "rootHash": hex, "treeSize": n}}}}
// The parsers check shapes and sizes only; what the values prove is checked in verify-entry.ts.
import type { LogEntry } from '../../ports.js';

/** A response does not have the shape Rekor's API promises. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

export interface RekorEntryJson {
  readonly body: string;
  readonly integratedTime: number;
  readonly logID: string;
  readonly logIndex: number;
  readonly verification: {
    readonly signedEntryTimestamp: string;
    readonly inclusionProof: {
      readonly checkpoint: string;
      readonly hashes: readonly string[];
      readonly logIndex: number;
      readonly rootHash: string;
      readonly treeSize: number;
    };
  };
}

export interface RekorLogInfoJson {
  readonly rootHash: string;
  readonly treeSize: number;
  readonly signedTreeHead: string;
  readonly treeID: string;
  readonly inactiveShards: readonly unknown[];
}

const HEX32 = /^[0-9a-f]{64}$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** A Merkle path is at most 64 hashes deep for any tree size below 2^64. */
const MAX_PROOF_HASHES = 64;

export function entryToJson(e: LogEntry): Record<string, RekorEntryJson> {
  const p = e.inclusionProof;
  return {
    [e.entryID]: {
      body: e.body.toString('base64'),
      integratedTime: e.integratedTime,
      logID: e.logID.toString('hex'),
      logIndex: e.logIndex,
      verification: {
        signedEntryTimestamp: e.signedEntryTimestamp.toString('base64'),
        inclusionProof: {
          checkpoint: p.checkpoint,
          hashes: p.hashes.map((h) => h.toString('hex')),
          logIndex: p.logIndex,
          rootHash: p.rootHash.toString('hex'),
          treeSize: p.treeSize,
        },
      },
    },
  };
}

const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new WireError(`${what} is not an object`);
  return v as Record<string, unknown>;
};
const int = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new WireError(`${what} is not a non-negative integer`);
  return v;
};
const str = (v: unknown, re: RegExp, what: string): string => {
  if (typeof v !== 'string' || !re.test(v)) throw new WireError(`${what} is missing or malformed`);
  return v;
};

/** Parses a LogEntry map with exactly one entry. */
export function entryFromJson(doc: unknown): LogEntry {
  const map = obj(doc, 'the log entry response');
  const keys = Object.keys(map);
  if (keys.length !== 1) throw new WireError(`the log entry response has ${keys.length} entries, not 1`);
  const id = (keys[0] as string).toLowerCase();
  if (!/^([0-9a-f]{16})?[0-9a-f]{64}$/.test(id))
    throw new WireError('the log entry response is not keyed by an entry UUID or ID');
  const e = obj(map[keys[0] as string], 'the log entry');
  const v = obj(e['verification'], 'verification');
  const p = obj(v['inclusionProof'], 'verification.inclusionProof');
  const hashes = p['hashes'];
  if (!Array.isArray(hashes) || hashes.length > MAX_PROOF_HASHES)
    throw new WireError('inclusionProof.hashes is not a list of at most 64 hashes');
  if (typeof p['checkpoint'] !== 'string') throw new WireError('inclusionProof.checkpoint is missing');
  return {
    uuid: id.slice(-64),
    entryID: id,
    logIndex: int(e['logIndex'], 'logIndex'),
    integratedTime: int(e['integratedTime'], 'integratedTime'),
    body: Buffer.from(str(e['body'], B64, 'body'), 'base64'),
    logID: Buffer.from(str(e['logID'], HEX32, 'logID'), 'hex'),
    signedEntryTimestamp: Buffer.from(
      str(v['signedEntryTimestamp'], B64, 'verification.signedEntryTimestamp'),
      'base64',
    ),
    inclusionProof: {
      logIndex: int(p['logIndex'], 'inclusionProof.logIndex'),
      treeSize: int(p['treeSize'], 'inclusionProof.treeSize'),
      rootHash: Buffer.from(str(p['rootHash'], HEX32, 'inclusionProof.rootHash'), 'hex'),
      hashes: hashes.map((h, i) => Buffer.from(str(h, HEX32, `inclusionProof.hashes[${i}]`), 'hex')),
      checkpoint: p['checkpoint'],
    },
  };
}

/** Parses GET /api/v1/log. */
export function logInfoFromJson(doc: unknown): RekorLogInfoJson {
  const d = obj(doc, 'the log info response');
  if (typeof d['signedTreeHead'] !== 'string') throw new WireError('signedTreeHead is missing');
  return {
    rootHash: str(d['rootHash'], HEX32, 'rootHash'),
    treeSize: int(d['treeSize'], 'treeSize'),
    signedTreeHead: d['signedTreeHead'],
    treeID: typeof d['treeID'] === 'string' ? d['treeID'] : '',
    inactiveShards: Array.isArray(d['inactiveShards']) ? d['inactiveShards'] : [],
  };
}

/** Parses GET /api/v1/log/proof. */
export function consistencyFromJson(doc: unknown): { rootHash: Buffer; hashes: Buffer[] } {
  const d = obj(doc, 'the consistency proof response');
  const hashes = d['hashes'] ?? [];
  if (!Array.isArray(hashes) || hashes.length > 2 * MAX_PROOF_HASHES)
    throw new WireError('hashes is not a list of at most 128 hashes');
  return {
    rootHash: Buffer.from(str(d['rootHash'], HEX32, 'rootHash'), 'hex'),
    hashes: hashes.map((h, i) => Buffer.from(str(h, HEX32, `hashes[${i}]`), 'hex')),
  };
}

/** Parses POST /api/v1/index/retrieve: a list of entry UUIDs or IDs. */
export function entryIdsFromJson(doc: unknown): string[] {
  if (!Array.isArray(doc)) throw new WireError('the index search response is not a list');
  return doc.map((x, i) => str(x, /^([0-9a-f]{16})?[0-9a-f]{64}$/, `entry ID ${i}`));
}
