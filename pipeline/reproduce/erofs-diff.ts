// The files that differ between two erofs file systems (the dm-verity protected root partition of
// a nodeimg disk): both trees read with nodeimg's own erofs reader (image/formats/erofs, pure and
// bounded: no tool runs on the published, possibly hostile, bytes), every entry's metadata and
// extended attributes, and the sha256 of every regular file's content (streamed; hard links are
// hashed once). Compressed files (mkfs.erofs -z, not what nodeimg builds) and files larger than
// the whole file system (possible only with holes; a hostile image could claim terabytes of them)
// are compared by their metadata only, and the report says so.
import { createHash } from 'node:crypto';
import {
  inodeData,
  openErofs,
  readXattrs,
  walkErofs,
  type ErofsContext,
  type ErofsInode,
} from '../../image/formats/erofs/index.js';
import type { ByteSource } from '../../image/formats/source.js';
import { sha256Of } from '../../image/digest.js';
import { cachedSource } from './cached-source.js';
import {
  compareTrees,
  xattrText,
  type EntryType,
  type TreeDifference,
  type TreeEntry,
} from './entry-diff.js';

const TYPES: Readonly<Record<number, EntryType>> = {
  0o010000: 'fifo',
  0o020000: 'char',
  0o040000: 'dir',
  0o060000: 'block',
  0o100000: 'file',
  0o120000: 'symlink',
  0o140000: 'socket',
};
const MAX_SYMLINK = 4096;

interface Skipped {
  compressed: number;
  oversized: number;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Linux new_decode_dev (include/linux/kdev_t.h), the encoding erofs stores in i_u.rdev. */
function rdevText(dev: number): string {
  return `${(dev & 0xfff00) >>> 8}:${(dev & 0xff) | ((dev >>> 12) & 0xfff00)}`;
}

async function entry(
  fs: ErofsContext,
  inode: ErofsInode,
  hashes: Map<number, string>,
  skipped: Skipped,
): Promise<TreeEntry> {
  const type = TYPES[inode.mode & 0o170000] ?? 'other';
  const xattrs = (await readXattrs(fs, inode)).map((x) => xattrText(x.name, x.value, sha256)).sort();
  const isCompressed = inode.layout === 'compressed' || inode.layout === 'compressed-legacy';
  let content: string | null = null;
  let target: string | undefined;
  let read: (() => Promise<Uint8Array>) | undefined;
  if (type === 'file' && isCompressed) skipped.compressed++;
  else if (type === 'file' && inode.size > fs.src.size) skipped.oversized++;
  else if (type === 'file') {
    const data = inodeData(fs, inode);
    content = hashes.get(inode.nid) ?? (await sha256Of(data));
    hashes.set(inode.nid, content);
    read = () => data.read(0, data.size);
  } else if (type === 'symlink' && !isCompressed && inode.size <= MAX_SYMLINK)
    target = new TextDecoder().decode(await inodeData(fs, inode).read(0, inode.size));
  return {
    side: {
      type,
      size: inode.size,
      mode: (inode.mode & 0o7777).toString(8),
      uid: inode.uid,
      gid: inode.gid,
      mtime: inode.mtime,
      sha256: content,
      nlink: inode.nlink,
      ...(target !== undefined ? { target } : {}),
      ...(type === 'char' || type === 'block' ? { rdev: rdevText(inode.iu) } : {}),
      ...(xattrs.length > 0 ? { xattrs } : {}),
    },
    ...(read ? { read } : {}),
  };
}

async function tree(src: ByteSource, skipped: Skipped): Promise<Map<string, TreeEntry>> {
  const fs = await openErofs(cachedSource(src));
  const hashes = new Map<number, string>();
  const out = new Map<string, TreeEntry>();
  for await (const e of walkErofs(fs)) out.set(`/${e.path}`, await entry(fs, e.inode, hashes, skipped));
  return out;
}

/** How the erofs file system `published` differs from `rebuilt`, file by file. */
export async function erofsDifferences(published: ByteSource, rebuilt: ByteSource): Promise<TreeDifference> {
  const sa: Skipped = { compressed: 0, oversized: 0 };
  const sb: Skipped = { compressed: 0, oversized: 0 };
  const [a, b] = await Promise.all([tree(published, sa), tree(rebuilt, sb)]);
  const notes: string[] = [];
  if (sa.compressed + sb.compressed > 0)
    notes.push(
      `${sa.compressed} published and ${sb.compressed} rebuilt compressed files: compared by metadata only (content not decompressed)`,
    );
  if (sa.oversized + sb.oversized > 0)
    notes.push(
      `${sa.oversized} published and ${sb.oversized} rebuilt files larger than their file system: compared by metadata only`,
    );
  return compareTrees('erofs', a, b, notes);
}
