// The members that differ between two tar archives (issue 11: the GCE image disk.tar.gz, and any
// other tar a reproducer asks to check: rootfs.tar, source.tar). A gzip'd archive is first
// decompressed by streaming into the work folder (all-zero 64 KiB runs left as holes, so a mostly
// empty disk.raw costs little; at most MAX_UNPACKED bytes), then both tars are read with nodeimg's
// bounded tar reader (image/formats/archive/tar.ts), member data hashed by streaming, and compared
// with entry-diff.ts. A differing member that is a raw disk image (name ending in .raw: the GCE
// tarball's only member) is explained like a published disk.raw (disk-diff.ts), in place inside
// the unpacked tar. The unpacked copies are removed at the end.
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { NodeimgError } from '../errors.js';
import { withFileSource } from '../../image/file-source.js';
import { readTar, type TarMember } from '../../image/formats/archive/index.js';
import { slice, type ByteSource } from '../../image/formats/source.js';
import { sha256Of } from '../../image/digest.js';
import { compareTrees, type EntryType, type TreeDifference, type TreeEntry } from './entry-diff.js';
import { explainDiskSources, type DiskDifference } from './disk-diff.js';

/** The published archive may be hostile: at most twice the rebuilt one's size, or 1 GiB, unpacked. */
const MIN_UNPACK_LIMIT = 1024 * 1024 * 1024;
const HOLE = 64 * 1024;
const ZERO = Buffer.alloc(HOLE);

export interface ArchiveDifference extends TreeDifference {
  /** Differing members that are disk images, explained. */
  readonly disks: readonly { readonly path: string; readonly disk: DiskDifference }[];
}

export const isTarName = (name: string): boolean => /\.(tar|tar\.gz|tgz)$/.test(name);

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Streams the gunzipped `from` into `to`, leaving zero runs as holes; returns the size. */
async function gunzipTo(from: string, to: string, limit: number): Promise<number> {
  const out = await open(to, 'w');
  const input = createReadStream(from);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  let pos = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += HOLE) {
        const piece = chunk.subarray(at, Math.min(chunk.length, at + HOLE));
        if (!piece.equals(ZERO.subarray(0, piece.length))) await out.write(piece, 0, piece.length, pos);
        pos += piece.length;
      }
      if (pos > limit)
        throw new NodeimgError('PARSE_LIMIT', `${from}: more than ${limit} bytes once decompressed`);
    }
    await out.truncate(pos);
    return pos;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_'))
      throw new NodeimgError('PARSE_INVALID', `${from}: not a valid gzip stream: ${(err as Error).message}`, {
        cause: err,
      });
    throw err;
  } finally {
    input.destroy();
    await out.close();
  }
}

const TYPE: Readonly<Record<TarMember['type'], EntryType>> = {
  file: 'file',
  sparse: 'file',
  hardlink: 'hardlink',
  symlink: 'symlink',
  char: 'char',
  block: 'block',
  dir: 'dir',
  fifo: 'fifo',
  other: 'other',
};

async function members(src: ByteSource, notes: string[], label: string) {
  const out = new Map<string, { entry: TreeEntry; data: ByteSource }>();
  let dupes = 0;
  let sparse = 0;
  for await (const m of readTar(src)) {
    const path = m.name.replace(/\/+$/, '') || m.name;
    const data = slice(src, m.dataOffset, m.size, `${src.name} ${path}`);
    const type = TYPE[m.type];
    if (m.type === 'sparse') sparse++;
    if (out.has(path)) dupes++;
    out.set(path, {
      data,
      entry: {
        side: {
          type,
          size: m.size,
          mode: m.mode.toString(8),
          uid: m.uid,
          gid: m.gid,
          owner: `${m.uname}:${m.gname}`,
          mtime: m.mtime,
          sha256: type === 'file' ? await sha256Of(data) : null,
          ...(type === 'symlink' || type === 'hardlink' ? { target: m.linkname } : {}),
          ...(type === 'char' || type === 'block' ? { rdev: `${m.devmajor}:${m.devminor}` } : {}),
        },
        ...(type === 'file' ? { read: () => data.read(0, data.size) } : {}),
      },
    });
  }
  if (dupes > 0) notes.push(`${label}: ${dupes} member name(s) appear more than once; the last one counts`);
  if (sparse > 0) notes.push(`${label}: ${sparse} GNU sparse member(s) compared by their stored bytes`);
  return out;
}

async function compareSources(pa: ByteSource, pb: ByteSource, type: string): Promise<ArchiveDifference> {
  const notes: string[] = [];
  const [a, b] = [await members(pa, notes, 'published'), await members(pb, notes, 'rebuilt')];
  const strip = (m: typeof a) => new Map([...m].map(([k, v]) => [k, v.entry]));
  const tree = await compareTrees(type, strip(a), strip(b), notes);
  const disks: { path: string; disk: DiskDifference }[] = [];
  for (const e of tree.entries) {
    const [x, y] = [a.get(e.path), b.get(e.path)];
    if (!x || !y || !e.path.endsWith('.raw') || !e.fields.includes('content')) continue;
    disks.push({ path: e.path, disk: await explainDiskSources(x.data, y.data) });
  }
  return { ...tree, disks };
}

/**
 * How the tar (or gzip'd tar) archive `published` differs from `rebuilt`, member by member.
 * `workDir` holds the decompressed copies while they are read.
 */
export async function explainArchive(
  published: string,
  rebuilt: string,
  workDir: string,
): Promise<ArchiveDifference> {
  const gz = (await isGzip(published)) && (await isGzip(rebuilt));
  const [ta, tb] = gz
    ? [join(workDir, '.published.unpacked.tar'), join(workDir, '.rebuilt.unpacked.tar')]
    : [published, rebuilt];
  try {
    if (gz) {
      const size = await gunzipTo(rebuilt, tb, Number.MAX_SAFE_INTEGER);
      await gunzipTo(published, ta, Math.max(2 * size, MIN_UNPACK_LIMIT));
    }
    return await withFileSource(ta, (pa) =>
      withFileSource(tb, (pb) => compareSources(pa, pb, gz ? 'tar+gzip' : 'tar')),
    );
  } finally {
    if (gz) await Promise.all([rm(ta, { force: true }), rm(tb, { force: true })]);
  }
}
