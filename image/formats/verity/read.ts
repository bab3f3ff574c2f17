// Reading an existing dm-verity hash device (a separate hash image, or the hash area appended to a
// data image at some offset): its superblock, the tree layout it implies, the root hash (the digest
// of the top hash block; the data are not needed), and a consistency check of the upper levels
// against the levels below them. Reads only ranges, at most CHUNK bytes at a time, through a
// ByteSource. Pure.
import { NodeimgError, ParseError } from '../errors.js';
import { checkRange, type ByteSource } from '../source.js';
import { hashBlocksInto, hasherFor } from './hasher.js';
import { digestOffset, planVerity, VERITY_SUPERBLOCK_SIZE, type VerityPlan } from './params.js';
import { parseVeritySuperblock, type VeritySuperblock } from './superblock.js';

const CHUNK = 4 * 1024 * 1024;

export interface VerityHashDevice {
  readonly superblock: VeritySuperblock;
  readonly plan: VerityPlan;
  /**
   * The root hash, from the top hash block. Undefined when there is a single data block: the root
   * hash is then that block's digest and the hash device holds nothing else.
   */
  readonly rootHash: Uint8Array | undefined;
}

/** Reads the superblock at byte `offset` of `src` and the root hash from the top hash block. */
export async function readVerityHashDevice(src: ByteSource, offset = 0): Promise<VerityHashDevice> {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % 512 !== 0)
    throw new NodeimgError('USAGE', `a dm-verity superblock offset is a multiple of 512, not ${offset}`);
  checkRange(src, offset, VERITY_SUPERBLOCK_SIZE);
  const superblock = parseVeritySuperblock(await src.read(offset, VERITY_SUPERBLOCK_SIZE), src.base + offset);
  let plan: VerityPlan;
  try {
    plan = planVerity({ ...superblock, superblock: true, hashOffset: offset });
  } catch (err) {
    throw new ParseError('PARSE_INVALID', 'dm-verity superblock', src.base + offset, (err as Error).message, {
      cause: err,
    });
  }
  if (src.size < plan.hashDeviceSize)
    throw new ParseError(
      'PARSE_TRUNCATED',
      src.name,
      src.base + src.size,
      `the dm-verity hash device is ${src.size} bytes, its ${plan.levels.length}-level tree ends at ${plan.hashDeviceSize}`,
    );
  const top = plan.levels[plan.levels.length - 1];
  if (top === undefined) return { superblock, plan, rootHash: undefined };
  const block = await src.read(top.startBlock * plan.hashBlockSize, plan.hashBlockSize);
  return { superblock, plan, rootHash: new Uint8Array(hasherFor(plan, plan.hashBlockSize).digest(block)) };
}

export type VerityTreeCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The level whose block does not match what the level below (or the padding rule) gives. */
      readonly level: number;
      readonly block: number;
      /** Absolute byte offset of that hash block. */
      readonly offset: number;
      readonly reason: string;
    };

function firstDifference(a: Uint8Array, b: Uint8Array, blockSize: number): number {
  for (let i = 0; i < a.length; i += blockSize)
    if (Buffer.compare(a.subarray(i, i + blockSize), b.subarray(i, i + blockSize)) !== 0)
      return i / blockSize;
  return -1;
}

/**
 * Checks every hash block above level 0 against the digests of the blocks below it, and the zero
 * padding of level 0 (unused slot bytes and block tails). Needs no data device; the leaf digests
 * themselves can only be checked against the data (veritysetup verify).
 */
export async function checkVerityHashTree(
  src: ByteSource,
  device: VerityHashDevice,
): Promise<VerityTreeCheck> {
  const { plan } = device;
  const hbs = plan.hashBlockSize;
  const at = (level: number, block: number): number => ((plan.levels[level]?.startBlock ?? 0) + block) * hbs;
  const fail = (level: number, block: number, reason: string): VerityTreeCheck => ({
    ok: false,
    level,
    block,
    offset: src.base + at(level, block),
    reason,
  });
  const leaves = plan.levels[0];
  if (leaves === undefined) return { ok: true };
  // level 0 padding: only the first `used` digests of each block are set, each slot zero-padded
  const zero = new Uint8Array(hbs);
  for (let b = 0; b < leaves.blocks; b++) {
    const used = Math.min(plan.perBlock, plan.dataBlocks - b * plan.perBlock);
    const bytes = await src.read(at(0, b), hbs);
    for (let i = 0; i < used; i++) {
      const pad = bytes.subarray(
        digestOffset(plan, i) + plan.digestSize,
        digestOffset(plan, i) + plan.slotSize,
      );
      if (pad.some((x) => x !== 0)) return fail(0, b, `digest ${i} has non-zero padding`);
    }
    const tail = bytes.subarray(digestOffset(plan, used - 1) + plan.slotSize);
    if (Buffer.compare(tail, zero.subarray(0, tail.length)) !== 0)
      return fail(0, b, `the bytes after the last of its ${used} digests are not zero`);
  }
  const hasher = hasherFor(plan, hbs);
  const childrenPerChunk = Math.max(1, Math.floor(CHUNK / hbs / plan.perBlock)) * plan.perBlock;
  for (let level = 1; level < plan.levels.length; level++) {
    const below = plan.levels[level - 1]?.blocks ?? 0;
    for (let child = 0; child < below; child += childrenPerChunk) {
      const n = Math.min(childrenPerChunk, below - child);
      const parents = Math.ceil(n / plan.perBlock);
      const first = child / plan.perBlock;
      const expected = new Uint8Array(parents * hbs);
      // digestOffset counts from the chunk's first parent because `child` is a multiple of perBlock
      hashBlocksInto(plan, hasher, await src.read(at(level - 1, child), n * hbs), 0, expected);
      const stored = await src.read(at(level, first), parents * hbs);
      const bad = firstDifference(expected, stored, hbs);
      if (bad >= 0) return fail(level, first + bad, 'does not hold the digests of the blocks below it');
    }
  }
  return { ok: true };
}
