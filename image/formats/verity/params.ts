// dm-verity geometry: where every level of the hash tree goes, exactly as veritysetup 2.6.1 lays it
// out (reproducible-build spec §4 "On-disk format"; cryptsetup lib/verity/verity_hash.c
// hash_levels() and create_or_verify(), lib/verity/verity.c VERITY_hash_offset_block()). Pure.
//
//   digest slot  format 1: 2^ceil(log2 D) bytes (zero padded), format 0: D bytes (dense)
//   per block    P = 2^floor(log2(HBS / D)) digests per hash block
//   levels       smallest L with (N - 1) >> (log2(P) * L) == 0; level i has ceil(N / P^(i+1)) blocks
//   start block  H0 = ceil((O + 512) / HBS) with a superblock at byte O, O / HBS without
//   order        level L-1 (one block) at H0, then L-2, ..., level 0 last
import { NodeimgError } from '../errors.js';

/** Hash algorithms nodeimg computes (names as veritysetup and the kernel spell them). */
export const VERITY_HASH_ALGORITHMS = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
} as const;
export type VerityHashAlgorithm = keyof typeof VERITY_HASH_ALGORITHMS;

/** 0: Chrome OS (H(block || salt), dense digests), 1: normal (H(salt || block), padded slots). */
export type VerityHashType = 0 | 1;

export const VERITY_SUPERBLOCK_SIZE = 512;
export const VERITY_MAX_SALT = 256;
/** VERITY_BLOCK_SIZE_OK in cryptsetup: a power of two from 512 bytes to 512 KiB. */
export const VERITY_MIN_BLOCK = 512;
export const VERITY_MAX_BLOCK = 512 * 1024;
const MAX_LEVELS = 63;

export interface VerityParams {
  /** Number of data blocks hashed (veritysetup --data-blocks; default there: device size / DBS). */
  readonly dataBlocks: number;
  /** Default 4096. */
  readonly dataBlockSize?: number;
  /** Default 4096. */
  readonly hashBlockSize?: number;
  /** Default sha256. */
  readonly hashAlgorithm?: VerityHashAlgorithm;
  /** Default 1. */
  readonly hashType?: VerityHashType;
  /** 0-256 bytes (veritysetup --salt; `-` is empty). */
  readonly salt: Uint8Array;
  /** Write a superblock at hashOffset (default true; veritysetup --no-superblock is false). */
  readonly superblock?: boolean;
  /** Byte offset of the hash area (superblock first) in the hash device; default 0. */
  readonly hashOffset?: number;
}

export interface VerityLevel {
  /** Hash blocks in this level. */
  readonly blocks: number;
  /** First hash block of this level, counted from the start of the hash device. */
  readonly startBlock: number;
}

export interface VerityPlan {
  readonly dataBlocks: number;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  readonly hashAlgorithm: VerityHashAlgorithm;
  readonly hashType: VerityHashType;
  readonly salt: Uint8Array;
  readonly superblock: boolean;
  readonly hashOffset: number;
  readonly digestSize: number;
  /** Bytes between consecutive digests in a hash block. */
  readonly slotSize: number;
  /** Digests per hash block. */
  readonly perBlock: number;
  /** Level 0 hashes the data blocks; the last level has one block. Empty when dataBlocks is 1. */
  readonly levels: readonly VerityLevel[];
  /** First hash block after the superblock (the kernel table's <hash_start>). */
  readonly hashStartBlock: number;
  /** Size of the hash device (file) veritysetup leaves: (H0 + all level blocks) * HBS bytes. */
  readonly hashDeviceSize: number;
}

const isPow2 = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;

function blockSizeProblem(what: string, n: number): string | undefined {
  if (isPow2(n) && n >= VERITY_MIN_BLOCK && n <= VERITY_MAX_BLOCK) return undefined;
  return `${what} ${n} is not a power of two from ${VERITY_MIN_BLOCK} to ${VERITY_MAX_BLOCK}`;
}

export function isVerityHashAlgorithm(name: string): name is VerityHashAlgorithm {
  return Object.hasOwn(VERITY_HASH_ALGORITHMS, name);
}

/** Why `p` cannot be laid out, or undefined when it can. */
export function verityParamsProblem(p: VerityParams): string | undefined {
  const dbs = p.dataBlockSize ?? 4096;
  const hbs = p.hashBlockSize ?? 4096;
  const offset = p.hashOffset ?? 0;
  const alg = p.hashAlgorithm ?? 'sha256';
  if (!isVerityHashAlgorithm(alg))
    return `hash algorithm ${JSON.stringify(alg)} is not one of ${Object.keys(VERITY_HASH_ALGORITHMS).join(', ')}`;
  if (p.hashType !== undefined && p.hashType !== 0 && p.hashType !== 1)
    return `hash type ${String(p.hashType)} is not 0 (Chrome OS) or 1 (normal)`;
  const bad = blockSizeProblem('data block size', dbs) ?? blockSizeProblem('hash block size', hbs);
  if (bad) return bad;
  if (!Number.isSafeInteger(p.dataBlocks) || p.dataBlocks < 1)
    return `the number of data blocks must be a positive integer, not ${p.dataBlocks}`;
  if (!Number.isSafeInteger(p.dataBlocks * dbs))
    return `${p.dataBlocks} data blocks of ${dbs} bytes exceed 2^53 bytes`;
  if (p.salt.length > VERITY_MAX_SALT)
    return `a salt is at most ${VERITY_MAX_SALT} bytes, not ${p.salt.length}`;
  if (!Number.isSafeInteger(offset) || offset < 0) return `hash offset ${offset} is not a byte offset`;
  const align = p.superblock === false ? hbs : 512;
  if (offset % align !== 0)
    return `hash offset ${offset} is not a multiple of ${align}${p.superblock === false ? ' (the hash block size, without a superblock)' : ''}`;
  return undefined;
}

/** floor(log2(n)) for n >= 1. */
function bitsDown(n: number): number {
  return Math.floor(Math.log2(n));
}

/** The layout of `p`; throws USAGE with verityParamsProblem's text when there is none. */
export function planVerity(p: VerityParams): VerityPlan {
  const problem = verityParamsProblem(p);
  if (problem !== undefined) throw new NodeimgError('USAGE', `dm-verity: ${problem}`);
  const dataBlockSize = p.dataBlockSize ?? 4096;
  const hashBlockSize = p.hashBlockSize ?? 4096;
  const hashAlgorithm = p.hashAlgorithm ?? 'sha256';
  const hashType = p.hashType ?? 1;
  const superblock = p.superblock ?? true;
  const hashOffset = p.hashOffset ?? 0;
  const digestSize = VERITY_HASH_ALGORITHMS[hashAlgorithm];
  const slotSize = hashType === 1 ? 2 ** Math.ceil(Math.log2(digestSize)) : digestSize;
  const bits = bitsDown(Math.floor(hashBlockSize / digestSize));
  const perBlock = 2 ** bits;
  const n = p.dataBlocks;
  // (N - 1) >> (bits * L), with N up to 2^53: divide by a power of two (exact in floating point)
  let count = 0;
  while (bits * count < 64 && Math.floor((n - 1) / 2 ** (bits * count)) > 0) count++;
  if (count > MAX_LEVELS)
    throw new NodeimgError('USAGE', `dm-verity: ${count} hash levels exceed ${MAX_LEVELS}`);
  const hashStartBlock = superblock
    ? Math.ceil((hashOffset + VERITY_SUPERBLOCK_SIZE) / hashBlockSize)
    : hashOffset / hashBlockSize;
  const levels: VerityLevel[] = new Array<VerityLevel>(count);
  let position = hashStartBlock;
  for (let i = count - 1; i >= 0; i--) {
    const blocks = Math.ceil(n / 2 ** ((i + 1) * bits));
    levels[i] = { blocks, startBlock: position };
    position += blocks;
  }
  const hashDeviceSize = position * hashBlockSize;
  if (!Number.isSafeInteger(hashDeviceSize))
    throw new NodeimgError('USAGE', 'dm-verity: the hash device would exceed 2^53 bytes');
  return {
    dataBlocks: n,
    dataBlockSize,
    hashBlockSize,
    hashAlgorithm,
    hashType,
    salt: p.salt,
    superblock,
    hashOffset,
    digestSize,
    slotSize,
    perBlock,
    levels,
    hashStartBlock,
    hashDeviceSize,
  };
}

/** Byte offset, inside its level's buffer, of the digest of block `index` of the level below. */
export function digestOffset(plan: VerityPlan, index: number): number {
  return Math.floor(index / plan.perBlock) * plan.hashBlockSize + (index % plan.perBlock) * plan.slotSize;
}
