// The dm-verity hash tree and hash device bytes as veritysetup 2.6.1 `format` writes them
// (reproducible-build spec §4; cryptsetup lib/verity/verity_hash.c). Pure and streaming: a
// VerityTreeBuilder takes the data in chunks of any size, in order, and keeps only the tree
// (about 1/128 of the data for sha256 and 4 KiB blocks) and one partial block. The leaf level can
// also be filled by someone else (image/build/verity.ts hashes it in worker threads) and finished
// with completeVerityTree.
import { NodeimgError } from '../errors.js';
import { hashBlocksInto, hasherFor } from './hasher.js';
import { planVerity, type VerityParams, type VerityPlan } from './params.js';
import { encodeVeritySuperblock } from './superblock.js';

export interface VerityTree {
  readonly plan: VerityPlan;
  /** Level i's bytes (plan.levels[i].blocks * HBS), i = 0 for the digests of the data blocks. */
  readonly levels: readonly Uint8Array[];
  /** The digest of the top hash block (of data block 0 when there is only one data block). */
  readonly rootHash: Uint8Array;
}

/** A piece of the hash device: `bytes` at byte `offset` from the device's start. */
export interface VerityPiece {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** Zero-filled level-0 buffer for `plan` (empty when there is a single data block). */
export function allocLeafLevel(
  plan: VerityPlan,
  alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
): Uint8Array {
  const first = plan.levels[0];
  return alloc(first ? first.blocks * plan.hashBlockSize : 0);
}

/**
 * Builds levels 1..L-1 from a complete level 0 and computes the root hash. With a single data
 * block there are no levels: `firstDigest` (the digest of data block 0) is the root hash.
 */
export function completeVerityTree(plan: VerityPlan, leaf: Uint8Array, firstDigest?: Uint8Array): VerityTree {
  const count = plan.levels.length;
  if (count === 0) {
    if (firstDigest === undefined)
      throw new NodeimgError('INTERNAL', 'dm-verity: one data block and no digest of it');
    return { plan, levels: [], rootHash: firstDigest };
  }
  const hbs = plan.hashBlockSize;
  if (leaf.length !== (plan.levels[0]?.blocks ?? 0) * hbs)
    throw new NodeimgError(
      'INTERNAL',
      `dm-verity: level 0 is ${leaf.length} bytes, not ${plan.levels[0]?.blocks} blocks`,
    );
  const hasher = hasherFor(plan, hbs);
  const levels: Uint8Array[] = [leaf];
  for (let i = 1; i < count; i++) {
    const level = new Uint8Array((plan.levels[i]?.blocks ?? 0) * hbs);
    hashBlocksInto(plan, hasher, levels[i - 1] as Uint8Array, 0, level);
    levels.push(level);
  }
  const top = levels[count - 1] as Uint8Array;
  return { plan, levels, rootHash: new Uint8Array(hasher.digest(top.subarray(0, hbs))) };
}

/** Streams data blocks into a dm-verity tree. */
export class VerityTreeBuilder {
  readonly plan: VerityPlan;
  private readonly hasher;
  private readonly leaf: Uint8Array;
  private readonly partial: Uint8Array;
  private partialLength = 0;
  private blocks = 0;
  private firstDigest: Uint8Array | undefined;

  constructor(params: VerityParams) {
    this.plan = planVerity(params);
    this.hasher = hasherFor(this.plan, this.plan.dataBlockSize);
    this.leaf = allocLeafLevel(this.plan);
    this.partial = new Uint8Array(this.plan.dataBlockSize);
  }

  /** Bytes taken so far. */
  get bytes(): number {
    return this.blocks * this.plan.dataBlockSize + this.partialLength;
  }

  private take(blocks: Uint8Array): void {
    const n = blocks.length / this.plan.dataBlockSize;
    if (this.blocks + n > this.plan.dataBlocks)
      throw new NodeimgError(
        'USAGE',
        `dm-verity: more data than the ${this.plan.dataBlocks} data blocks of ${this.plan.dataBlockSize} bytes planned`,
      );
    if (this.blocks === 0 && this.plan.levels.length === 0)
      this.firstDigest = new Uint8Array(this.hasher.digest(blocks.subarray(0, this.plan.dataBlockSize)));
    else hashBlocksInto(this.plan, this.hasher, blocks, this.blocks, this.leaf);
    this.blocks += n;
  }

  /** Takes the next bytes of the data device. */
  update(chunk: Uint8Array): this {
    const dbs = this.plan.dataBlockSize;
    let at = 0;
    if (this.partialLength > 0) {
      const n = Math.min(dbs - this.partialLength, chunk.length);
      this.partial.set(chunk.subarray(0, n), this.partialLength);
      this.partialLength += n;
      at = n;
      if (this.partialLength < dbs) return this;
      this.take(this.partial);
      this.partialLength = 0;
    }
    const whole = Math.floor((chunk.length - at) / dbs) * dbs;
    if (whole > 0) this.take(chunk.subarray(at, at + whole));
    const rest = chunk.subarray(at + whole);
    this.partial.set(rest, 0);
    this.partialLength = rest.length;
    return this;
  }

  /** The tree, once exactly dataBlocks * dataBlockSize bytes were given. */
  digest(): VerityTree {
    const want = this.plan.dataBlocks * this.plan.dataBlockSize;
    if (this.bytes !== want)
      throw new NodeimgError(
        'USAGE',
        `dm-verity: got ${this.bytes} bytes of data, the plan needs ${want} (${this.plan.dataBlocks} blocks of ${this.plan.dataBlockSize})`,
      );
    return completeVerityTree(this.plan, this.leaf, this.firstDigest);
  }
}

/** The dm-verity tree of `data` (all of it: its length must be a multiple of the data block size). */
export function verityTreeOf(data: Uint8Array, params: Omit<VerityParams, 'dataBlocks'>): VerityTree {
  const dbs = params.dataBlockSize ?? 4096;
  if (data.length === 0 || data.length % dbs !== 0)
    throw new NodeimgError('USAGE', `dm-verity: ${data.length} bytes are not a positive multiple of ${dbs}`);
  return new VerityTreeBuilder({ ...params, dataBlocks: data.length / dbs }).update(data).digest();
}

/**
 * What veritysetup writes to the hash device: the superblock at hashOffset (when the plan has
 * one) and every level at its start block. Bytes between them (the rest of the superblock's hash
 * block) are zero in a fresh file; the device ends at plan.hashDeviceSize.
 */
export function verityHashPieces(tree: VerityTree, uuid?: string): VerityPiece[] {
  const { plan } = tree;
  const pieces: VerityPiece[] = [];
  if (plan.superblock) {
    if (uuid === undefined) throw new NodeimgError('USAGE', 'dm-verity: a superblock needs a UUID');
    pieces.push({ offset: plan.hashOffset, bytes: encodeVeritySuperblock(plan, uuid) });
  }
  for (let i = plan.levels.length - 1; i >= 0; i--)
    pieces.push({
      offset: (plan.levels[i]?.startBlock ?? 0) * plan.hashBlockSize,
      bytes: tree.levels[i] as Uint8Array,
    });
  return pieces;
}

/**
 * The bytes of the hash device from plan.hashOffset to its end (for a separate hash file with
 * offset 0: the whole file veritysetup writes).
 */
export function verityHashArea(tree: VerityTree, uuid?: string): Uint8Array {
  const { plan } = tree;
  const out = new Uint8Array(plan.hashDeviceSize - plan.hashOffset);
  for (const p of verityHashPieces(tree, uuid)) out.set(p.bytes, p.offset - plan.hashOffset);
  return out;
}

/** Size of the hash area after hashOffset (superblock block included). */
export function verityHashAreaSize(plan: VerityPlan): number {
  return plan.hashDeviceSize - plan.hashOffset;
}

/**
 * The dm-verity target line for dmsetup / dm-mod.create= (kernel
 * Documentation/admin-guide/device-mapper/verity.rst; spec §4 "Kernel table").
 */
export function verityTable(tree: VerityTree, dataDevice: string, hashDevice: string): string {
  const p = tree.plan;
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return [
    0,
    (p.dataBlocks * p.dataBlockSize) / 512,
    'verity',
    p.hashType,
    dataDevice,
    hashDevice,
    p.dataBlockSize,
    p.hashBlockSize,
    p.dataBlocks,
    p.hashStartBlock,
    p.hashAlgorithm,
    hex(tree.rootHash),
    p.salt.length === 0 ? '-' : hex(p.salt),
  ].join(' ');
}
