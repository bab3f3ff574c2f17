// A local, append-only transparency log in a directory, Rekor v1 style (hashedrekord 0.0.1): the
// embedded default log of `nodeimg sign` and the store behind `nodeimg tlog serve`. This is the
// TransparencyLog port over a LogStore (log-store.ts: locking, durable group commit, recovery;
// log-dir.ts and record-file.ts: the files). Like Rekor it accepts an entry only when its signature
// verifies over the digest, and stores the canonical body. Leaves are SHA-256(0x00 || body)
// (RFC 6962), checkpoints are signed notes as Rekor v1 writes them (signed-note.ts), and the SET is
// the log key's signature over canonical JSON of {body, integratedTime, logID, logIndex}
// (Rekor pkg/api/entries.go). Time comes from the injected Clock only.
import { p256Sign } from '../p256-sign.js';
import type { Clock, LogCheckpoint, LogEntry, TransparencyLog } from '../../ports.js';
import { canonicalize } from './canonical-json.js';
import {
  BadEntryError,
  canonicalBodyOf,
  checkEntryBody,
  inlineVerifier,
  type DigestVerifier,
} from './hashedrekord-verify.js';
import { trustedRootOf, type LocalLogInfo } from './log-dir.js';
import { acquireStore, releaseStore, type LogStore } from './log-store.js';
import { signNote } from './signed-note.js';

export { LOCAL_LOG_NAME, type LocalLogInfo } from './log-dir.js';
export type { InclusionProof, LogEntry } from '../../ports.js';

export interface LocalLogOptions {
  /** Told about a torn tail repaired or an old-format log migrated on open. */
  readonly warn?: (message: string) => void;
  /** Where entry signatures are checked (default inline; the server passes a VerifyPool's). */
  readonly verify?: DigestVerifier;
}

export class LocalLog implements TransparencyLog {
  private note: { size: number; text: string } | undefined;
  private closed = false;

  private constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly verify: DigestVerifier,
  ) {}

  /** Opens the log in `dir` (taking its lock), creating it with a fresh log key when it does not exist. */
  static async open(dir: string, clock: Clock, options: LocalLogOptions = {}): Promise<LocalLog> {
    const store = await acquireStore(dir, () => clock.now());
    const r = store.recovery;
    if (r && options.warn) {
      options.warn(
        `${dir}: repaired a torn tail: ${r.bytes} bytes at offset ${r.offset} cut off (${r.reason}; ` +
          `${r.droppedEntries} unacknowledged entries dropped)`,
      );
      store.recovery = undefined;
    }
    if (store.migrated > 0 && options.warn) {
      options.warn(`${dir}: migrated ${store.migrated} entries from entries/*.json to entries.dat`);
      store.migrated = 0;
    }
    return new LocalLog(store, clock, options.verify ?? inlineVerifier);
  }

  get dir(): string {
    return this.store.dir;
  }
  get info(): LocalLogInfo {
    return this.store.id.info;
  }
  get publicKeyPem(): string {
    return this.store.id.publicKeyPem;
  }
  get publicKeyDer(): Buffer {
    return this.store.id.publicKeyDer;
  }
  get logID(): Buffer {
    return this.store.id.logID;
  }

  /** The Sigstore trusted root (v0.1 media type) that pins this log's key. */
  trustedRoot(): Record<string, unknown> {
    return trustedRootOf(this.store.id);
  }

  /** Number of committed entries. */
  size(): Promise<number> {
    return Promise.resolve(this.store.size);
  }

  /**
   * Canonicalizes a hashedrekord 0.0.1 body (or proposed entry), checks its signature and appends it
   * once durable. `created` is false when the identical entry was already logged (Rekor's 409).
   * Throws BadEntryError for an entry the log refuses.
   */
  async append(bodyOrProposed: Uint8Array | object): Promise<{ entry: LogEntry; created: boolean }> {
    let proposed: unknown = bodyOrProposed;
    if (bodyOrProposed instanceof Uint8Array) {
      try {
        proposed = JSON.parse(Buffer.from(bodyOrProposed).toString('utf8'));
      } catch {
        throw new BadEntryError('the entry body is not JSON');
      }
    }
    const body = canonicalBodyOf(proposed);
    await checkEntryBody(body, this.verify);
    const { index, created } = await this.store.append(body, Math.floor(this.clock.now() / 1000));
    return { entry: await this.entry(index, body), created };
  }

  async add(canonicalBody: Uint8Array): Promise<LogEntry> {
    return (await this.append(canonicalBody)).entry;
  }

  /** The entry at `logIndex` with an inclusion proof in the current tree; RangeError if there is none. */
  async entry(logIndex: number, knownBody?: Buffer): Promise<LogEntry> {
    const body = knownBody ?? (await this.store.body(logIndex));
    const size = this.store.size;
    const integratedTime = this.store.integratedTime(logIndex);
    const uuid = this.store.leaf(logIndex).toString('hex');
    const logID = this.logID;
    const cp = this.checkpointAt(size);
    const set = this.sign(
      canonicalize({
        body: body.toString('base64'),
        integratedTime,
        logID: logID.toString('hex'),
        logIndex,
      }),
    );
    return {
      uuid,
      entryID: `${this.treeIdHex()}${uuid}`,
      logIndex,
      integratedTime,
      body,
      logID,
      signedEntryTimestamp: set,
      inclusionProof: { ...cp, logIndex, hashes: this.store.inclusionProof(logIndex, size) },
    };
  }

  async entryByIndex(logIndex: number): Promise<LogEntry | undefined> {
    if (!Number.isSafeInteger(logIndex) || logIndex < 0 || logIndex >= this.store.size) return undefined;
    return this.entry(logIndex);
  }

  /** By UUID (64 hex) or entry ID (80 hex, the tree ID must be this log's). */
  async entryByUuid(id: string): Promise<LogEntry | undefined> {
    const lower = id.toLowerCase();
    if (!/^([0-9a-f]{16})?[0-9a-f]{64}$/.test(lower)) return undefined;
    if (lower.length === 80 && lower.slice(0, 16) !== this.treeIdHex()) return undefined;
    const index = this.store.indexOf(lower.slice(-64));
    return index === undefined ? undefined : this.entry(index);
  }

  searchBySha256(sha256Hex: string): Promise<string[]> {
    return Promise.resolve(this.entryIDs(this.store.bySha256(sha256Hex.toLowerCase())));
  }

  /** Entries signed with this key: `sha256Hex` of the PEM text in publicKey.content. */
  searchByPublicKey(sha256Hex: string): Promise<string[]> {
    return Promise.resolve(this.entryIDs(this.store.byPublicKey(sha256Hex.toLowerCase())));
  }

  private entryIDs(indexes: readonly number[]): string[] {
    return indexes.map((i) => `${this.treeIdHex()}${this.store.leaf(i).toString('hex')}`);
  }

  /** The signed checkpoint of the tree of the first `size` entries (default: all). */
  checkpoint(size?: number): Promise<LogCheckpoint> {
    const n = size ?? this.store.size;
    if (!Number.isSafeInteger(n) || n < 0 || n > this.store.size)
      return Promise.reject(new RangeError(`local log ${this.dir}: no tree of size ${n}`));
    return Promise.resolve(this.checkpointAt(n));
  }

  /** RFC 6962 consistency proof from tree size `first` to `last` (default: the current size). */
  consistency(first: number, last?: number): Promise<Buffer[]> {
    try {
      return Promise.resolve(this.store.consistencyProof(first, last ?? this.store.size));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await releaseStore(this.store);
  }

  treeIdHex(): string {
    return BigInt(this.info.treeID).toString(16).padStart(16, '0');
  }

  private checkpointAt(size: number): LogCheckpoint {
    const root = this.store.root(size);
    if (this.note?.size !== size)
      this.note = {
        size,
        text: signNote(this.info.origin, this.info.name, size, root, this.store.id.key, this.logID),
      };
    return { treeSize: size, rootHash: root, checkpoint: this.note.text };
  }

  private sign(text: string): Buffer {
    return p256Sign(this.store.id.key, Buffer.from(text, 'utf8'));
  }
}
