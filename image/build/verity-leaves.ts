// The leaf level of a dm-verity tree, hashed straight from a file: data blocks [first, first +
// count) are read with vectored positioned reads (readv) straight into "frames" that already hold
// the salt next to each block, so a block is hashed where it was read (one crypto.hash call, no
// copy; 20-25 % less CPU than copying each block next to the salt). Reads are double-buffered: the
// next one runs while the current frames are hashed. Each digest goes to its slot in the level-0
// buffer, which may be a SharedArrayBuffer shared by several worker threads (each writes only its
// own blocks' slots). Used by verity-worker.ts in a worker thread, and directly for small inputs.
import { open, type FileHandle } from 'node:fs/promises';
import { NodeimgError } from '../formats/errors.js';
import { asBuffer, digestOffset, hasherFor, type VerityPlan } from '../formats/verity/index.js';

/** Bytes per read (at most IOV_MAX = 1024 blocks). */
export const LEAF_READ = 4 * 1024 * 1024;
const IOV_MAX = 1024;

export interface LeafJob {
  readonly path: string;
  readonly plan: VerityPlan;
  /** First data block (from the start of the file) and number of blocks. */
  readonly first: number;
  readonly count: number;
  /** Level 0: plan.levels[0].blocks * HBS bytes. */
  readonly leaf: Uint8Array;
}

interface FrameSet {
  readonly frames: Uint8Array[];
  /** The block part of each frame, where readv puts the data. */
  readonly blocks: Uint8Array[];
}

/** Reads `count` blocks at `position` into blocks[0..count), resuming after short reads. */
async function readBlocks(
  fh: FileHandle,
  set: FrameSet,
  count: number,
  dbs: number,
  position: number,
  path: string,
) {
  const want = count * dbs;
  let done = 0;
  while (done < want) {
    const k = Math.floor(done / dbs);
    const list = set.blocks.slice(k, count);
    if (done % dbs !== 0) list[0] = (list[0] as Uint8Array).subarray(done % dbs);
    const { bytesRead } = await fh.readv(list, position + done);
    if (bytesRead === 0)
      throw new NodeimgError(
        'IO_FAILED',
        `${path} ended at byte ${position + done} while dm-verity hashed it (did it change size?)`,
      );
    done += bytesRead;
  }
}

/** Hashes the job's blocks; `signal` (not for worker threads: it cannot be cloned) stops it between reads. */
export async function hashLeafRange(job: LeafJob, signal?: AbortSignal): Promise<void> {
  const { plan } = job;
  const leaf = asBuffer(job.leaf);
  const dbs = plan.dataBlockSize;
  const perRead = Math.max(1, Math.min(IOV_MAX, Math.floor(LEAF_READ / dbs)));
  const hasher = hasherFor(plan, dbs);
  const frameSet = (): FrameSet => {
    const buf = hasher.frames(perRead);
    const frames = Array.from({ length: perRead }, (_, i) =>
      buf.subarray(i * hasher.frameSize, (i + 1) * hasher.frameSize),
    );
    return { frames, blocks: frames.map((f) => f.subarray(hasher.blockOffset, hasher.blockOffset + dbs)) };
  };
  const sets = [frameSet(), frameSet()];
  const end = job.first + job.count;
  const fh = await open(job.path, 'r');
  try {
    const readAt = async (set: FrameSet, block: number): Promise<number> => {
      const n = Math.min(perRead, end - block);
      await readBlocks(fh, set, n, dbs, block * dbs, job.path);
      return n;
    };
    let block = job.first;
    let turn = 0;
    let pending = block < end ? readAt(sets[0] as FrameSet, block) : undefined;
    while (pending !== undefined) {
      const n = await pending;
      signal?.throwIfAborted();
      const { frames } = sets[turn] as FrameSet;
      const next = block + n;
      turn ^= 1;
      pending = next < end ? readAt(sets[turn] as FrameSet, next) : undefined;
      for (let i = 0; i < n; i++)
        hasher.digestFrameInto(frames[i] as Uint8Array, leaf, digestOffset(plan, block + i));
      block = next;
    }
  } finally {
    await fh.close();
  }
}
