// Creating and reading the log store's data file, DIR/entries.dat (format: record-file.ts).
// Creating: an empty file with its header, or, for a directory in the first on-disk format
// (entries/*.json, legacy.ts), every old entry and one tree head, written durably before the old
// folder is renamed entries.migrated-<ms>.
// Reading: ENTRY records are handed over in batches, each closed by its HEAD record. What follows
// the last HEAD is a torn tail when it can be one: the store writes one batch at a time and
// fdatasyncs it before it writes the next, so a crash can tear only the last batch, and whatever
// order the disk persisted its pages in, at most that batch's own HEAD can be intact after a hole,
// and it then ends the file. Such a tail (never acknowledged) is cut off and reported. Damage with a
// valid HEAD and more bytes after it, or more than a batch from the end, is older than the last
// batch: acknowledged entries, not a torn write, and the log refuses to open.
import type { FileHandle } from 'node:fs/promises';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { readLegacyEntries } from './legacy.js';
import { writeDurable } from './log-dir.js';
import { leafHash } from './merkle.js';
import { MerkleTree } from './merkle-tree.js';
import {
  ENTRY,
  HEAD,
  MAGIC,
  RECORD_HEADER,
  encodeRecord,
  entryPayload,
  headPayload,
  scanRecords,
} from './record-file.js';

export const DATA_FILE = 'entries.dat';
/** Bytes of ENTRY records per batch; a torn tail is never longer than one batch. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const HEAD_RECORD = RECORD_HEADER + 48;

/** The data file is damaged in a way a crash cannot explain; the log refuses to open. */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
}

export interface StoredEntry {
  readonly body: Buffer;
  readonly time: number;
  readonly bodyOffset: number;
}

export interface TreeHead {
  readonly treeSize: number;
  readonly root: Buffer;
  readonly offset: number;
}

export interface Recovery {
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
  readonly droppedEntries: number;
}

/** Creates DIR/entries.dat, migrating a first-format log; returns how many entries it migrated. */
export async function initDataFile(dir: string, nowMs: number): Promise<number> {
  const legacy = (await readLegacyEntries(dir)) ?? [];
  const tree = new MerkleTree();
  const chunks: Buffer[] = [MAGIC];
  for (const e of legacy) {
    chunks.push(encodeRecord(ENTRY, entryPayload(e.integratedTime, e.body)));
    tree.append(leafHash(e.body));
  }
  if (legacy.length > 0) chunks.push(encodeRecord(HEAD, headPayload(tree.size, tree.root(), nowMs)));
  await writeDurable(join(dir, DATA_FILE), Buffer.concat(chunks));
  if (legacy.length > 0) await rename(join(dir, 'entries'), join(dir, `entries.migrated-${nowMs}`));
  return legacy.length;
}

/**
 * Reads the data file: `onBatch` gets every committed batch in order (it may throw to refuse it);
 * a torn tail is cut off (the file truncated and synced). Returns the end of the committed data.
 */
export async function readDataFile(
  fh: FileHandle,
  path: string,
  onBatch: (entries: readonly StoredEntry[], head: TreeHead) => void,
): Promise<{ end: number; recovery?: Recovery }> {
  const size = (await fh.stat()).size;
  const magic = Buffer.alloc(MAGIC.length);
  await fh.read(magic, 0, MAGIC.length, 0);
  if (size < MAGIC.length || !magic.equals(MAGIC))
    throw new StoreCorruptError(`${path} is not a nodeimg transparency log data file (bad header)`);
  let staged: StoredEntry[] = [];
  let end = MAGIC.length;
  const scan = await scanRecords(fh, size, MAGIC.length, (r) => {
    if (r.type === ENTRY) {
      if (r.payload.length < 8)
        throw new StoreCorruptError(`${path}: short entry record at offset ${r.offset}`);
      const time = Number(r.payload.readBigUInt64BE(0));
      staged.push({ body: r.payload.subarray(8), time, bodyOffset: r.offset + RECORD_HEADER + 8 });
    } else if (r.type === HEAD && r.payload.length === 48) {
      const head = {
        treeSize: Number(r.payload.readBigUInt64BE(0)),
        root: r.payload.subarray(8, 40),
        offset: r.offset,
      };
      onBatch(staged, head);
      staged = [];
      end = r.end;
    } else throw new StoreCorruptError(`${path}: unknown record type ${r.type} at offset ${r.offset}`);
  });
  if (size === end) return { end };
  const bytes = size - end;
  const reason = scan.damage ?? `${staged.length} complete entries not closed by a tree head`;
  const tooLong = bytes > MAX_BATCH_BYTES + 64 * 1024;
  const later = scan.damage && !tooLong ? await findLaterHead(fh, scan.validEnd, size) : undefined;
  if (tooLong || later !== undefined)
    throw new StoreCorruptError(
      `${path}: ${reason}, ${bytes} bytes before the end of the file` +
        (later !== undefined ? ` with a complete batch after it (tree head at offset ${later})` : '') +
        ': this is not a write cut short by a crash; restore the log from a copy',
    );
  await fh.truncate(end);
  await fh.sync();
  return { end, recovery: { offset: end, bytes, reason, droppedEntries: staged.length } };
}

/** Offset of a valid HEAD record in [from, to) that is followed by more bytes, if any. */
async function findLaterHead(fh: FileHandle, from: number, to: number): Promise<number | undefined> {
  const buf = Buffer.alloc(to - from);
  const { bytesRead } = await fh.read(buf, 0, buf.length, from);
  const data = buf.subarray(0, bytesRead);
  for (let p = 0; p + HEAD_RECORD < data.length; p++) {
    if (data.readUInt32BE(p) !== 48 || data[p + 8] !== HEAD) continue;
    if (crc32(data.subarray(p + 8, p + HEAD_RECORD)) === data.readUInt32BE(p + 4)) return from + p;
  }
  return undefined;
}
