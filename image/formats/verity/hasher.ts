// The dm-verity block digest (reproducible-build spec §4 "On-disk format" 1; cryptsetup
// lib/verity/verity_hash.c verify_hash_block): format 1 hashes salt || block, format 0 (Chrome OS)
// block || salt. Data blocks and hash blocks are hashed the same way. Pure (node:crypto only).
//
// Speed: one crypto.hash() call per block over a scratch buffer holding the salt and the block is
// about 10 % faster than createHash + two updates (per-call overhead dominates at 4 KiB); the
// block copy costs less than the second update.
import { hash } from 'node:crypto';
import { digestOffset, type VerityHashAlgorithm, type VerityHashType, type VerityPlan } from './params.js';

export class VerityBlockHasher {
  /** Bytes hashed per block: the block and the salt. */
  readonly frameSize: number;
  /** Where the block and the salt sit in a frame. */
  readonly blockOffset: number;
  readonly saltOffset: number;
  private readonly scratch: Buffer;

  constructor(
    readonly algorithm: VerityHashAlgorithm,
    readonly hashType: VerityHashType,
    readonly salt: Uint8Array,
    readonly blockSize: number,
  ) {
    this.frameSize = salt.length + blockSize;
    this.blockOffset = hashType === 1 ? salt.length : 0;
    this.saltOffset = hashType === 1 ? 0 : blockSize;
    this.scratch = Buffer.alloc(this.frameSize);
    this.scratch.set(salt, this.saltOffset);
  }

  /** The digest of one block (exactly blockSize bytes). */
  digest(block: Uint8Array): Buffer {
    return hash(this.algorithm, this.frameOf(block), 'buffer');
  }

  /** Writes the digest of one block at out[at..]. */
  digestInto(block: Uint8Array, out: Buffer, at: number): void {
    this.digestFrameInto(this.frameOf(block), out, at);
  }

  /**
   * Writes the digest of a frame the caller laid out (frameSize bytes: the salt at saltOffset, the
   * block at blockOffset) at out[at..]. image/build/verity-leaves.ts reads data blocks straight
   * into frames whose salt is already in place, saving the copy. The digest travels as a latin1 ('binary')
   * string written straight into `out`: 10-15 % less time per 4 KiB block than a Buffer per digest.
   */
  digestFrameInto(frame: Uint8Array, out: Buffer, at: number): void {
    out.write(hash(this.algorithm, frame, 'binary'), at, 'binary');
  }

  private frameOf(block: Uint8Array): Uint8Array {
    if (this.salt.length === 0) return block;
    this.scratch.set(block, this.blockOffset);
    return this.scratch;
  }

  /** A buffer of `count` frames with the salt in place in each. */
  frames(count: number): Buffer {
    const buf = Buffer.alloc(count * this.frameSize);
    if (this.salt.length > 0)
      for (let i = 0; i < count; i++) buf.set(this.salt, i * this.frameSize + this.saltOffset);
    return buf;
  }
}

export function hasherFor(plan: VerityPlan, blockSize: number): VerityBlockHasher {
  return new VerityBlockHasher(plan.hashAlgorithm, plan.hashType, plan.salt, blockSize);
}

/**
 * Hashes the whole blocks of `blocks` (block indexes first, first + 1, ...) and stores each digest
 * where the level above keeps it: `level` is that level's buffer (its blocks * HBS bytes, zero
 * filled). Returns the number of blocks hashed.
 */
export function hashBlocksInto(
  plan: VerityPlan,
  hasher: VerityBlockHasher,
  blocks: Uint8Array,
  first: number,
  level: Uint8Array,
): number {
  const size = hasher.blockSize;
  const count = Math.floor(blocks.length / size);
  const out = asBuffer(level);
  for (let i = 0; i < count; i++)
    hasher.digestInto(blocks.subarray(i * size, (i + 1) * size), out, digestOffset(plan, first + i));
  return count;
}

/** A Buffer over the same memory (a Uint8Array over a SharedArrayBuffer included). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
