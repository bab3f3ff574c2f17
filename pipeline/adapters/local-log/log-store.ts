// The storage engine of the local transparency log: one writer process per directory (DIR/lock),
// entries appended to DIR/entries.dat (format: record-file.ts) with group commit, an in-memory
// RFC 6962 tree (merkle-tree.ts) and indexes. Guarantees:
// - an entry is acknowledged (append() resolves) only after its batch, closed by a HEAD record for
//   the new tree size and root, is written and fdatasync'd: an acknowledged entry survives kill -9;
// - concurrent appends are batched: one write + one fdatasync per batch, whatever its size;
// - readers (entries, proofs, checkpoints) only ever see committed tree sizes, so every checkpoint
//   handed out is the HEAD of a durable batch and every later tree is consistent with it;
// - on open every HEAD is checked against the root recomputed from the entries before it, and a
//   torn tail (a batch cut short by a crash: never acknowledged) is cut off and reported. Damage
//   that cannot be a torn write stops the open instead (data-file.ts).
// One LogStore per directory and process (acquireStore/releaseStore share it by path).
import { createHash } from 'node:crypto';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  DATA_FILE,
  MAX_BATCH_BYTES,
  StoreCorruptError,
  initDataFile,
  readDataFile,
  type Recovery,
} from './data-file.js';
import { DirLock } from './dir-lock.js';
import { loadOrCreateIdentity, type LogIdentity } from './log-dir.js';
import { leafHash } from './merkle.js';
import { MerkleTree } from './merkle-tree.js';
import { ENTRY, HEAD, RECORD_HEADER, encodeRecord, entryPayload, headPayload } from './record-file.js';

export { DATA_FILE, StoreCorruptError, type Recovery } from './data-file.js';

const MAX_BATCH_ENTRIES = 4096;

interface Pending {
  readonly body: Buffer;
  readonly leaf: Buffer;
  readonly time: number;
  resolve(index: number): void;
  reject(err: Error): void;
}

/** The artifact sha256 (hex) and the SHA-256 (hex) of the key PEM of a hashedrekord body. */
function indexKeys(body: Buffer): { sha: string | undefined; key: string | undefined } {
  try {
    const d = JSON.parse(body.toString('utf8')) as {
      spec?: { data?: { hash?: { value?: unknown } }; signature?: { publicKey?: { content?: unknown } } };
    };
    const sha = d.spec?.data?.hash?.value;
    const key = d.spec?.signature?.publicKey?.content;
    return {
      sha: typeof sha === 'string' ? sha : undefined,
      key:
        typeof key === 'string'
          ? createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex')
          : undefined,
    };
  } catch {
    return { sha: undefined, key: undefined };
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

export class LogStore {
  private committed = 0;
  private readonly tree = new MerkleTree();
  private readonly bodyOffsets: number[] = [];
  private readonly bodyLengths: number[] = [];
  private readonly times: number[] = [];
  private readonly byUuid = new Map<string, number>();
  private readonly bySha = new Map<string, number[]>();
  private readonly byKey = new Map<string, number[]>();
  private fileEnd = 0;
  private pending: Pending[] = [];
  private readonly inflight = new Map<string, Promise<number>>();
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  recovery: Recovery | undefined;
  migrated = 0;

  private constructor(
    readonly dir: string,
    readonly id: LogIdentity,
    private readonly lock: DirLock,
    private readonly fh: FileHandle,
    private readonly nowMs: () => number,
  ) {}

  static async open(dir: string, nowMs: () => number): Promise<LogStore> {
    await mkdir(dir, { recursive: true });
    const lock = await DirLock.acquire(dir);
    try {
      const id = await loadOrCreateIdentity(dir, nowMs());
      const dataPath = join(dir, DATA_FILE);
      let migrated = 0;
      try {
        await stat(dataPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        migrated = await initDataFile(dir, nowMs());
      }
      const fh = await open(dataPath, 'r+');
      const store = new LogStore(dir, id, lock, fh, nowMs);
      store.migrated = migrated;
      try {
        await store.load();
      } catch (err) {
        await fh.close();
        throw err;
      }
      return store;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private async load(): Promise<void> {
    const read = await readDataFile(this.fh, join(this.dir, DATA_FILE), (entries, head) => {
      for (const e of entries) this.index(e.body, leafHash(e.body), e.time, e.bodyOffset);
      const mine = this.tree.root(this.tree.size);
      if (head.treeSize !== this.tree.size || !head.root.equals(mine))
        throw new StoreCorruptError(
          `${join(this.dir, DATA_FILE)}: the tree head at offset ${head.offset} says size ${head.treeSize} root ` +
            `${head.root.toString('hex')}, the entries before it make size ${this.tree.size} root ${mine.toString('hex')}`,
        );
    });
    this.committed = this.tree.size;
    this.fileEnd = read.end;
    this.recovery = read.recovery;
  }

  /** Adds a committed entry to the tree and the indexes. */
  private index(body: Buffer, leaf: Buffer, time: number, bodyOffset: number): void {
    const i = this.tree.size;
    this.tree.append(leaf);
    this.bodyOffsets.push(bodyOffset);
    this.bodyLengths.push(body.length);
    this.times.push(time);
    this.byUuid.set(leaf.toString('hex'), i);
    const { sha, key } = indexKeys(body);
    for (const [map, k] of [
      [this.bySha, sha],
      [this.byKey, key],
    ] as const) {
      if (k === undefined) continue;
      const list = map.get(k);
      if (list) list.push(i);
      else map.set(k, [i]);
    }
  }

  /** Committed tree size. */
  get size(): number {
    return this.committed;
  }

  /**
   * Appends a checked canonical body with its integratedTime; resolves with its index once durable.
   * A body already logged (or being logged) resolves with the existing index and created false.
   */
  async append(body: Buffer, time: number): Promise<{ index: number; created: boolean }> {
    if (this.closed) throw new Error(`the log ${this.dir} is closed`);
    if (this.failure) throw this.failure;
    const leaf = leafHash(body);
    const uuid = leaf.toString('hex');
    const known = this.byUuid.get(uuid);
    if (known !== undefined && known < this.committed) return { index: known, created: false };
    const running = this.inflight.get(uuid);
    if (running) return { index: await running, created: false };
    const p = new Promise<number>((resolve, reject) => {
      this.pending.push({ body, leaf, time, resolve, reject });
    });
    this.inflight.set(uuid, p);
    p.then(
      () => this.inflight.delete(uuid),
      () => this.inflight.delete(uuid),
    );
    this.flushing ??= this.flushLoop();
    return { index: await p, created: true };
  }

  private async flushLoop(): Promise<void> {
    // Let the requests that arrive in the same turn of the event loop join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.pending.length > 0 && !this.failure) {
      let bytes = 0;
      let n = 0;
      while (n < this.pending.length && n < MAX_BATCH_ENTRIES) {
        const next = (this.pending[n] as Pending).body.length + RECORD_HEADER + 8;
        if (n > 0 && bytes + next > MAX_BATCH_BYTES) break;
        bytes += next;
        n += 1;
      }
      const batch = this.pending.splice(0, n);
      try {
        await this.commit(batch);
        batch.forEach((p, i) => p.resolve(this.committed - batch.length + i));
      } catch (err) {
        this.failure = new Error(
          `writing ${join(this.dir, DATA_FILE)} failed (${(err as Error).message}); nothing more is accepted until the log is reopened`,
          { cause: err },
        );
        for (const p of [...batch, ...this.pending.splice(0)]) p.reject(this.failure);
      }
    }
    this.flushing = undefined;
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    const oldSize = this.tree.size;
    const chunks: Buffer[] = [];
    const offsets: number[] = [];
    let pos = this.fileEnd;
    for (const p of batch) {
      const rec = encodeRecord(ENTRY, entryPayload(p.time, p.body));
      offsets.push(pos + RECORD_HEADER + 8);
      chunks.push(rec);
      pos += rec.length;
      this.tree.append(p.leaf);
    }
    const newSize = this.tree.size;
    chunks.push(encodeRecord(HEAD, headPayload(newSize, this.tree.root(newSize), this.nowMs())));
    const buf = Buffer.concat(chunks);
    try {
      await writeAll(this.fh, buf, this.fileEnd);
      await this.fh.datasync();
    } finally {
      this.tree.truncate(oldSize); // re-added below by index(), only when durable
    }
    batch.forEach((p, i) => this.index(p.body, p.leaf, p.time, offsets[i] as number));
    this.fileEnd += buf.length;
    this.committed = newSize;
  }

  private check(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.committed)
      throw new RangeError(`the log ${this.dir} has no entry ${index} (size ${this.committed})`);
  }

  async body(index: number): Promise<Buffer> {
    this.check(index);
    const buf = Buffer.alloc(this.bodyLengths[index] as number);
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.bodyOffsets[index] as number);
    if (bytesRead !== buf.length) throw new Error(`short read of entry ${index} in ${this.dir}`);
    return buf;
  }

  integratedTime(index: number): number {
    this.check(index);
    return this.times[index] as number;
  }

  leaf(index: number): Buffer {
    this.check(index);
    return this.tree.leaf(index);
  }

  indexOf(uuid: string): number | undefined {
    const i = this.byUuid.get(uuid);
    return i !== undefined && i < this.committed ? i : undefined;
  }

  bySha256(hex: string): number[] {
    return (this.bySha.get(hex) ?? []).filter((i) => i < this.committed);
  }

  /** Entries whose publicKey.content (PEM bytes) has this SHA-256 (hex). */
  byPublicKey(hex: string): number[] {
    return (this.byKey.get(hex) ?? []).filter((i) => i < this.committed);
  }

  root(size: number): Buffer {
    if (size > this.committed) throw new RangeError(`no tree of size ${size} (size ${this.committed})`);
    return this.tree.root(size);
  }

  inclusionProof(index: number, size: number): Buffer[] {
    this.check(index);
    if (size > this.committed) throw new RangeError(`no tree of size ${size} (size ${this.committed})`);
    return this.tree.inclusionProof(index, size);
  }

  consistencyProof(first: number, last: number): Buffer[] {
    if (last > this.committed) throw new RangeError(`no tree of size ${last} (size ${this.committed})`);
    return this.tree.consistencyProof(first, last);
  }

  /** Waits for the appends already queued, then closes the data file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.fh.close();
    await this.lock.release();
  }
}

const stores = new Map<string, { store: Promise<LogStore>; refs: number }>();

/** The store of `dir` for this process, opened (locked, recovered) on first use. */
export async function acquireStore(dir: string, nowMs: () => number): Promise<LogStore> {
  const key = resolve(dir);
  let slot = stores.get(key);
  if (!slot) {
    const s = { store: LogStore.open(key, nowMs), refs: 0 };
    stores.set(key, s);
    s.store.catch(() => stores.delete(key));
    slot = s;
  }
  slot.refs += 1;
  try {
    return await slot.store;
  } catch (err) {
    slot.refs -= 1;
    throw err;
  }
}

/** Drops one user of the store; the last one closes it (and releases DIR/lock). */
export async function releaseStore(store: LogStore): Promise<void> {
  const slot = stores.get(store.dir);
  if (!slot) return;
  slot.refs -= 1;
  if (slot.refs > 0) return;
  stores.delete(store.dir);
  await store.close();
}
