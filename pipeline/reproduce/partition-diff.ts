// What a differing Linux partition of a nodeimg disk holds, for the reproduce report (issue 11):
// - an erofs file system (the root nodeimg builds): the files that differ (erofs-diff.ts);
// - a dm-verity hash tree (Discoverable Partitions Specification "root verity" partitions, or any
//   partition starting with a "verity\0\0" superblock): its hash blocks follow from the data
//   partition, so they are not listed; the report gives both root hashes and says whether the data
//   partition differs too (then it is the cause) or not (then the hash partition itself changed).
// Both readers are nodeimg's own (pure, bounded); nothing runs a tool on the published bytes.
import { NodeimgError } from '../errors.js';
import { isErofs } from '../../image/formats/erofs/index.js';
import type { GptPartition } from '../../image/formats/gpt/index.js';
import type { ByteSource } from '../../image/formats/source.js';
import { readVerityHashDevice, VERITY_SIGNATURE } from '../../image/formats/verity/index.js';
import { erofsDifferences } from './erofs-diff.js';
import type { TreeDifference } from './entry-diff.js';

/** DPS verity partition type -> the type of the data partition it protects. */
const VERITY_DATA: ReadonlyMap<string, string> = new Map([
  ['2c7357ed-ebd2-46d9-aec1-23d437ec2bf5', '4f68bce3-e8cd-4db1-96e7-fbcaf984b709'], // root x86-64
  ['77ff5f63-e7b6-4633-acf4-1565b864c0e6', '8484680c-9521-48c6-9c11-b0720656f69e'], // /usr x86-64
]);

export interface PartitionExplanation {
  readonly filesystem?: TreeDifference;
  readonly note?: string;
}

async function isVerity(src: ByteSource): Promise<boolean> {
  if (src.size < 512) return false;
  const head = await src.read(0, VERITY_SIGNATURE.length);
  return head.every((b, i) => b === VERITY_SIGNATURE[i]);
}

async function rootHash(src: ByteSource): Promise<{ hash: string; superblock: string }> {
  const d = await readVerityHashDevice(src);
  const { salt, ...rest } = d.superblock;
  return {
    hash: d.rootHash ? Buffer.from(d.rootHash).toString('hex') : '(single data block)',
    superblock: JSON.stringify({ ...rest, salt: Buffer.from(salt).toString('hex') }),
  };
}

/**
 * Explains partition `p` (rebuilt; `q` published) whose bytes differ. `differing` is the set of
 * partition indexes whose bytes differ, to tell a verity tree's cause.
 */
export async function explainPartition(
  published: ByteSource,
  rebuilt: ByteSource,
  q: GptPartition,
  p: GptPartition,
  partitions: readonly GptPartition[],
  differing: ReadonlySet<number>,
): Promise<PartitionExplanation | undefined> {
  if ((await isErofs(published)) && (await isErofs(rebuilt)))
    return { filesystem: await erofsDifferences(published, rebuilt) };
  const dpsVerity = VERITY_DATA.has(p.typeGuid.toLowerCase());
  if (!dpsVerity && !((await isVerity(published)) && (await isVerity(rebuilt)))) return undefined;
  const dataType = VERITY_DATA.get(p.typeGuid.toLowerCase());
  const data = partitions.find((x) => x.index !== p.index && x.typeGuid.toLowerCase() === dataType);
  let hashes: string;
  try {
    const [a, b] = [await rootHash(published), await rootHash(rebuilt)];
    hashes = `root hash published ${a.hash}, rebuilt ${b.hash}${a.superblock === b.superblock ? '' : '; the superblocks differ too (UUID, salt or sizes)'}; `;
  } catch (err) {
    if (!(err instanceof NodeimgError)) throw err;
    hashes = `cannot read the hash tree: ${err.message}; `;
  }
  const cause =
    data === undefined
      ? `its data partition is not identified (partition ${q.index} type ${q.typeGuid}); the hash blocks are not listed`
      : differing.has(data.index)
        ? `it differs because partition ${data.index} (the data it hashes) differs; the hash blocks are not listed`
        : `partition ${data.index} (the data it hashes) is identical: the hash partition itself was changed`;
  return { note: `dm-verity hash tree: ${hashes}${cause}` };
}
