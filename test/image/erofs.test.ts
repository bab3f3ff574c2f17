// image/formats/erofs against real mkfs.erofs (erofs-utils) images: the reader's tree (paths,
// types, modes, owners, sizes, contents, symlink targets, device numbers, link counts, xattrs)
// must equal the source folder's lstat view, for compact and extended inodes, inline, plain and
// chunk-based layouts, shared and inline xattrs (-x), long names, a directory of several blocks,
// and the options the erofs stage uses (-T, -U) plus --all-root; compressed (-zlz4) files are
// recognised as such. Runs as root (mknod, chown).
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  linkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inodeData,
  openErofs,
  readErofsSuperblock,
  readXattrs,
  walkErofs,
} from '../../image/formats/erofs/index.js';
import { ParseError } from '../../image/formats/errors.js';
import { fromBytes } from '../../image/formats/source.js';
import { fillRandom } from '../helpers/prng.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-erofs-'));
const tree = join(tmp, 'tree');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tree with every kind of entry the reader handles. */
function makeTree(): void {
  mkdirSync(join(tree, 'etc', 'deep', 'er'), { recursive: true });
  mkdirSync(join(tree, 'many'));
  writeFileSync(join(tree, 'etc', 'fstab'), '/dev/root / erofs ro 0 0\n');
  writeFileSync(join(tree, 'empty'), '');
  writeFileSync(join(tree, 'block4k'), fillRandom(new Uint8Array(4096), 1));
  writeFileSync(join(tree, 'big.bin'), fillRandom(new Uint8Array(3 * 4096 + 777), 2));
  writeFileSync(join(tree, 'n'.repeat(200)), 'long name\n');
  for (let i = 0; i < 300; i++) writeFileSync(join(tree, 'many', `entry-with-a-long-name-${i}`), `${i}\n`);
  symlinkSync('etc/fstab', join(tree, 'link'));
  symlinkSync('x'.repeat(300), join(tree, 'longlink'));
  linkSync(join(tree, 'etc', 'fstab'), join(tree, 'etc', 'fstab.hard'));
  execFileSync('mknod', [join(tree, 'null'), 'c', '1', '3']);
  execFileSync('mknod', [join(tree, 'sda'), 'b', '8', '300']);
  execFileSync('mkfifo', [join(tree, 'fifo')]);
  chownSync(join(tree, 'big.bin'), 70000, 123); // beyond 16 bits: an extended inode
  chownSync(join(tree, 'empty'), 1000, 1000);
  execFileSync('chmod', ['4755', join(tree, 'block4k')]);
  setXattr(join(tree, 'etc', 'fstab'), 'user.shared', 'same');
}

/** setfattr is not installed; python3 (os.setxattr) is, as for the PE tests. */
function setXattr(path: string, name: string, value: string | null): void {
  const op = value === null ? `os.removexattr(p, n)` : `os.setxattr(p, n, v.encode())`;
  execFileSync('python3', ['-c', `import os, sys; p, n, v = sys.argv[1:4]; ${op}`, path, name, value ?? '']);
}

interface Seen {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  content?: string;
  target?: string;
  rdev?: number;
  nlink?: number;
}

function typeOf(mode: number): string {
  return (
    {
      0o010000: 'fifo',
      0o020000: 'char',
      0o040000: 'dir',
      0o060000: 'block',
      0o100000: 'file',
      0o120000: 'symlink',
    }[mode & 0o170000] ?? 'other'
  );
}

/** The folder as lstat sees it (what the reader must reproduce). */
function expected(allRoot = false): Map<string, Seen> {
  const out = new Map<string, Seen>();
  const visit = (rel: string): void => {
    const st = lstatSync(join(tree, rel));
    const type = typeOf(st.mode);
    out.set(rel, {
      type,
      mode: st.mode & 0o7777,
      uid: allRoot ? 0 : st.uid,
      gid: allRoot ? 0 : st.gid,
      size: type === 'file' || type === 'symlink' ? st.size : 0,
      ...(type === 'file' ? { content: readFileSync(join(tree, rel)).toString('hex') } : {}),
      ...(type === 'symlink' ? { target: readlinkSync(join(tree, rel)) } : {}),
      ...(type === 'char' || type === 'block' ? { rdev: st.rdev } : {}),
      ...(type === 'file' ? { nlink: st.nlink } : {}),
    });
    if (type === 'dir') for (const n of readdirSync(join(tree, rel))) visit(rel === '' ? n : `${rel}/${n}`);
  };
  visit('');
  return out;
}

async function read(image: Buffer): Promise<Map<string, Seen>> {
  const fs = await openErofs(fromBytes(image, 'root.erofs'));
  const out = new Map<string, Seen>();
  for await (const e of walkErofs(fs)) {
    const i = e.inode;
    const type = typeOf(i.mode);
    const data =
      type === 'file' || type === 'symlink' ? Buffer.from(await inodeData(fs, i).read(0, i.size)) : undefined;
    out.set(e.path, {
      type,
      mode: i.mode & 0o7777,
      uid: i.uid,
      gid: i.gid,
      size: type === 'file' || type === 'symlink' ? i.size : 0,
      ...(type === 'file' ? { content: data?.toString('hex') ?? '' } : {}),
      ...(type === 'symlink' ? { target: data?.toString() ?? '' } : {}),
      // erofs stores Linux new_encode_dev(), which equals glibc's st_rdev for majors below 4096
      ...(type === 'char' || type === 'block' ? { rdev: i.iu } : {}),
      ...(type === 'file' ? { nlink: i.nlink } : {}),
    });
  }
  return out;
}

function mkfs(name: string, ...args: string[]): Buffer {
  const out = join(tmp, name);
  execFileSync('mkfs.erofs', ['--quiet', ...args, out, tree], { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out);
}

beforeAll(makeTree);

describe('erofs reader on mkfs.erofs images', () => {
  it('reads the tree the erofs stage makes (-T, -U): every entry as lstat sees it', async () => {
    const image = mkfs('stage.erofs', '-T', '1700000000', '-U', '6e6f6465-696d-4467-a964-656269616e21');
    const sb = await readErofsSuperblock(fromBytes(image));
    expect(sb.uuid).toBe('6e6f6465-696d-4467-a964-656269616e21');
    expect(sb.blockSize).toBe(4096);
    const got = await read(image);
    expect(got).toEqual(expected());
    expect(got.size).toBeGreaterThan(300);
    const fs = await openErofs(fromBytes(image));
    const times = new Set<number>();
    const layouts = new Set<string>();
    let extended = 0;
    for await (const e of walkErofs(fs)) {
      times.add(e.inode.mtime);
      layouts.add(e.inode.layout);
      if (e.inode.extended) extended++;
    }
    expect(times).toEqual(new Set([1700000000]));
    expect(layouts).toEqual(new Set(['plain', 'inline']));
    expect(extended).toBeGreaterThan(0); // uid 70000
  });

  it('reads --all-root, chunk-based files (--chunksize) and per-file times', async () => {
    expect(await read(mkfs('root.erofs', '--all-root', '-T', '1700000000'))).toEqual(expected(true));
    const chunked = mkfs('chunk.erofs', '--chunksize=4096');
    expect(await read(chunked)).toEqual(expected());
    const fs = await openErofs(fromBytes(chunked));
    const layouts = new Set<string>();
    for await (const e of walkErofs(fs)) layouts.add(e.inode.layout);
    expect(layouts.has('chunked')).toBe(true);
  });

  it('reads inline and shared xattrs (-x1 shares those used more than once)', async () => {
    setXattr(join(tree, 'empty'), 'user.shared', 'same');
    setXattr(join(tree, 'etc', 'deep'), 'trusted.overlay.opaque', 'y');
    try {
      for (const x of ['-x1', '-x5']) {
        const fs = await openErofs(fromBytes(mkfs(`xattr${x}.erofs`, x, '-T', '1')));
        const seen = new Map<string, string[]>();
        for await (const e of walkErofs(fs)) {
          // one shared xattr id (12 + 4 bytes) with -x1; the entry itself inline with -x5
          if (e.path === 'etc/fstab') expect(e.inode.xattrSize).toBe(x === '-x1' ? 16 : 28);
          seen.set(
            e.path,
            (await readXattrs(fs, e.inode)).map((a) => `${a.name}=${Buffer.from(a.value).toString()}`),
          );
        }
        expect(seen.get('etc/fstab')).toEqual(['user.shared=same']);
        expect(seen.get('etc/fstab.hard')).toEqual(['user.shared=same']);
        expect(seen.get('empty')).toEqual(['user.shared=same']);
        expect(seen.get('etc/deep')).toEqual(['trusted.overlay.opaque=y']);
        expect(seen.get('big.bin')).toEqual([]);
      }
    } finally {
      setXattr(join(tree, 'empty'), 'user.shared', null);
      setXattr(join(tree, 'etc', 'deep'), 'trusted.overlay.opaque', null);
    }
  });

  it('recognises compressed files (-zlz4) and refuses to read their data', async () => {
    writeFileSync(join(tree, 'compressible'), 'a'.repeat(64 * 1024));
    try {
      const fs = await openErofs(fromBytes(mkfs('lz4.erofs', '-zlz4', '-T', '1')));
      let found = false;
      for await (const e of walkErofs(fs))
        if (e.path === 'compressible') {
          found = true;
          expect(e.inode.layout).toMatch(/compressed/);
          expect(() => inodeData(fs, e.inode)).toThrow(ParseError);
        }
      expect(found).toBe(true);
    } finally {
      rmSync(join(tree, 'compressible'));
    }
  });

  it('rejects what is not erofs, and images of unknown incompatible features', async () => {
    await expect(openErofs(fromBytes(new Uint8Array(8192)))).rejects.toThrow(/magic/);
    await expect(openErofs(fromBytes(new Uint8Array(100)))).rejects.toThrow(ParseError);
    const image = mkfs('feat.erofs', '-T', '1');
    image.writeUInt32LE(0x80, 1024 + 80); // the 48-bit layout
    await expect(openErofs(fromBytes(image))).rejects.toMatchObject({ code: 'PARSE_UNSUPPORTED' });
  });
});
