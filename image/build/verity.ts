// dm-verity for a file-system image, computed by nodeimg (image/formats/verity) instead of
// `veritysetup format`, with the same bytes: the tests compare the hash image and root hash with
// veritysetup 2.6.1 for random sizes, block sizes, salts and algorithms. The salt and superblock
// UUID come from the build seed (image/formats/seed.ts, labels "verity-salt:<label>" and
// "verity-uuid:<label>") unless given, so the same seed gives the same root hash (veritysetup's
// defaults are random: spec §4). The data image is streamed (hashed on worker threads), never read
// whole; the tree is kept in memory (1/128 of the data for sha256 and 4 KiB blocks).
//
// Two layouts: a separate hash image (writeVerityHashImage: written to a temporary name and renamed,
// like `veritysetup format DATA HASH`), or the hash area appended to the data image at an offset
// (appendVerityHash: `veritysetup format --data-blocks N --hash-offset O IMG IMG`, in place).
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NodeimgError } from '../formats/errors.js';
import { seedBytes, seedUuid } from '../formats/seed.js';
import {
  completeVerityTree,
  hasherFor,
  planVerity,
  verityHashArea,
  verityUuidBytes,
  type VerityHashAlgorithm,
  type VerityHashType,
  type VerityPlan,
  type VerityTree,
} from '../formats/verity/index.js';
import { hashLeaves, type LeafOptions } from './verity-parallel.js';

export interface VerityOptions extends LeafOptions {
  /** Build seed (a UUID); salt and UUID derive from it unless given. */
  readonly seed?: string;
  /** Distinguishes several verity devices of one seed; default "root". */
  readonly label?: string;
  /** Default: HMAC-SHA256(seed, "verity-salt:<label>"), 32 bytes. Empty is allowed (veritysetup --salt -). */
  readonly salt?: Uint8Array;
  /** Superblock UUID; default: v4 UUID from HMAC-SHA256(seed, "verity-uuid:<label>"). */
  readonly uuid?: string;
  readonly hashAlgorithm?: VerityHashAlgorithm;
  readonly hashType?: VerityHashType;
  readonly dataBlockSize?: number;
  readonly hashBlockSize?: number;
  /** Write the superblock (default true). */
  readonly superblock?: boolean;
  /** Hash only the first N data blocks; default: the whole file, which must be whole blocks. */
  readonly dataBlocks?: number;
}

export interface VerityImage {
  /** The file holding the hash area (the hash image, or the data image it was appended to). */
  readonly path: string;
  /** Hex. */
  readonly rootHash: string;
  /** Hex ('' for an empty salt). */
  readonly salt: string;
  /** Superblock UUID (absent without a superblock). */
  readonly uuid?: string;
  readonly hashAlgorithm: VerityHashAlgorithm;
  readonly hashType: VerityHashType;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  readonly dataBlocks: number;
  /** Byte offset of the hash area (the superblock) in `path`. */
  readonly hashOffset: number;
  /** The kernel table's hash start block (in hash blocks from the start of `path`). */
  readonly hashStartBlock: number;
  /** Bytes of the hash area, from hashOffset to the end of the tree. */
  readonly hashSize: number;
  /** sha256 (hex) of those bytes. */
  readonly hashSha256: string;
  /** Hash tree levels (0 when there is a single data block). */
  readonly levels: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The salt and UUID `opts` asks for (or derives from the seed). */
export function verityIdentity(opts: VerityOptions): { salt: Uint8Array; uuid: string | undefined } {
  const label = opts.label ?? 'root';
  const needsUuid = (opts.superblock ?? true) && opts.uuid === undefined;
  if (opts.seed === undefined && (opts.salt === undefined || needsUuid))
    throw new NodeimgError('USAGE', 'dm-verity needs a seed, or an explicit salt and UUID', {
      hint: 'pass the build seed; veritysetup would pick a random salt and UUID, which is not reproducible',
    });
  const seed = opts.seed as string;
  const salt = opts.salt ?? seedBytes(seed, `verity-salt:${label}`);
  if (opts.uuid !== undefined) verityUuidBytes(opts.uuid); // USAGE when malformed
  const uuid = (opts.superblock ?? true) ? (opts.uuid ?? seedUuid(seed, `verity-uuid:${label}`)) : undefined;
  return { salt, uuid: uuid?.toLowerCase() };
}

/** How many data blocks of `path` to hash: all of them, which must be whole blocks. */
async function dataBlocksOf(path: string, opts: VerityOptions): Promise<{ size: number; blocks: number }> {
  const st = await stat(path).catch((err: unknown) => {
    throw new NodeimgError('IO_NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  });
  if (!st.isFile()) throw new NodeimgError('USAGE', `${path} is not a regular file`);
  const dbs = opts.dataBlockSize ?? 4096;
  if (opts.dataBlocks !== undefined) {
    if (opts.dataBlocks * dbs > st.size)
      throw new NodeimgError(
        'USAGE',
        `${path} has ${st.size} bytes, fewer than ${opts.dataBlocks} blocks of ${dbs}`,
      );
    return { size: st.size, blocks: opts.dataBlocks };
  }
  if (st.size === 0 || st.size % dbs !== 0)
    throw new NodeimgError(
      'USAGE',
      `${path} is ${st.size} bytes, not a positive multiple of the ${dbs}-byte data block size`,
      {
        hint: 'veritysetup would silently leave the trailing partial block unprotected; pad the image to whole blocks or pass dataBlocks',
      },
    );
  return { size: st.size, blocks: st.size / dbs };
}

/** The tree of the first plan.dataBlocks blocks of `path`. */
export async function verityTreeOfFile(
  path: string,
  plan: VerityPlan,
  opts: LeafOptions = {},
): Promise<VerityTree> {
  if (plan.levels.length === 0) {
    const fh = await open(path, 'r');
    try {
      const block = Buffer.alloc(plan.dataBlockSize);
      await fh.read(block, 0, block.length, 0);
      return completeVerityTree(plan, new Uint8Array(0), hasherFor(plan, plan.dataBlockSize).digest(block));
    } finally {
      await fh.close();
    }
  }
  return completeVerityTree(plan, await hashLeaves(path, plan, opts));
}

function planFor(opts: VerityOptions, dataBlocks: number, salt: Uint8Array, hashOffset: number): VerityPlan {
  return planVerity({
    dataBlocks,
    salt,
    hashOffset,
    ...(opts.dataBlockSize === undefined ? {} : { dataBlockSize: opts.dataBlockSize }),
    ...(opts.hashBlockSize === undefined ? {} : { hashBlockSize: opts.hashBlockSize }),
    ...(opts.hashAlgorithm === undefined ? {} : { hashAlgorithm: opts.hashAlgorithm }),
    ...(opts.hashType === undefined ? {} : { hashType: opts.hashType }),
    ...(opts.superblock === undefined ? {} : { superblock: opts.superblock }),
  });
}

function result(path: string, tree: VerityTree, uuid: string | undefined, area: Uint8Array): VerityImage {
  const p = tree.plan;
  return {
    path,
    rootHash: hex(tree.rootHash),
    salt: hex(p.salt),
    ...(uuid === undefined ? {} : { uuid }),
    hashAlgorithm: p.hashAlgorithm,
    hashType: p.hashType,
    dataBlockSize: p.dataBlockSize,
    hashBlockSize: p.hashBlockSize,
    dataBlocks: p.dataBlocks,
    hashOffset: p.hashOffset,
    hashStartBlock: p.hashStartBlock,
    hashSize: area.length,
    hashSha256: createHash('sha256').update(area).digest('hex'),
    levels: p.levels.length,
  };
}

/**
 * Writes the hash image of `dataPath` to `outPath` (`veritysetup format DATA HASH` with the salt
 * and UUID of `opts`). The file appears under its name only when complete.
 */
export async function writeVerityHashImage(
  dataPath: string,
  outPath: string,
  opts: VerityOptions,
): Promise<VerityImage> {
  const { salt, uuid } = verityIdentity(opts);
  const { blocks } = await dataBlocksOf(dataPath, opts);
  const plan = planFor(opts, blocks, salt, 0);
  const tree = await verityTreeOfFile(dataPath, plan, opts);
  const area = verityHashArea(tree, uuid);
  await mkdir(dirname(outPath), { recursive: true });
  const tmp = join(dirname(outPath), `.${basename(outPath)}.partial`);
  await rm(tmp, { force: true });
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.write(area, 0, area.length, 0);
    } finally {
      await fh.close();
    }
    await rename(tmp, outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return result(outPath, tree, uuid, area);
}

/**
 * Appends the hash area to the data image `path` itself, at `hashOffset` (default: right after
 * the data blocks), like `veritysetup format --data-blocks N --hash-offset O IMG IMG`. Writes in
 * place: meant for an image the caller is still building under a temporary name.
 */
export async function appendVerityHash(
  path: string,
  opts: VerityOptions & { readonly hashOffset?: number },
): Promise<VerityImage> {
  const { salt, uuid } = verityIdentity(opts);
  const { blocks } = await dataBlocksOf(path, opts);
  const dataEnd = blocks * (opts.dataBlockSize ?? 4096);
  const hashOffset = opts.hashOffset ?? dataEnd;
  if (hashOffset < dataEnd)
    throw new NodeimgError('USAGE', `hash offset ${hashOffset} overlaps the ${dataEnd} bytes of data blocks`);
  const plan = planFor(opts, blocks, salt, hashOffset);
  const tree = await verityTreeOfFile(path, plan, opts);
  const area = verityHashArea(tree, uuid);
  const fh = await open(path, 'r+');
  try {
    await fh.write(area, 0, area.length, hashOffset); // extends the file to plan.hashDeviceSize
  } finally {
    await fh.close();
  }
  return result(path, tree, uuid, area);
}
