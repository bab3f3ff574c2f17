// Hostile erofs images for image/formats/erofs: >= 3,000 mutations of two small mkfs.erofs images
// (the stage's options with shared xattrs, and a chunk-based one): superblock fields, inode fields
// (format, xattr count, mode, size, block address), dirents (nid, name offset), bit flips in the
// metadata, overwritten bytes, truncation and noise. Every case must end in a walked tree or a
// ParseError (never another exception, never a hang or a huge allocation), and the errors must
// include each kind the reader reports.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  inodeData,
  openErofs,
  readXattrs,
  walkErofs,
  type ErofsContext,
} from '../../image/formats/erofs/index.js';
import { ParseError } from '../../image/formats/errors.js';
import { fromBytes } from '../../image/formats/source.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { fillRandom, Prng } from '../helpers/prng.js';

const CASES = 3_000;
const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-fuzz-erofs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sample(name: string, ...args: string[]): Buffer {
  const tree = join(tmp, 'tree');
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, 'etc', 'sub'), { recursive: true });
  mkdirSync(join(tree, 'many'));
  writeFileSync(join(tree, 'etc', 'fstab'), 'root / erofs ro\n');
  writeFileSync(join(tree, 'etc', 'sub', 'data'), fillRandom(new Uint8Array(9000), 3));
  for (let i = 0; i < 120; i++) writeFileSync(join(tree, 'many', `file-${i}-${'x'.repeat(20)}`), `${i}`);
  symlinkSync('etc/fstab', join(tree, 'link'));
  for (const p of ['etc/fstab', 'etc/sub'])
    execFileSync(
      'python3',
      ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.a", b"v")', join(tree, p)],
      {
        stdio: 'ignore',
      },
    );
  const out = join(tmp, name);
  execFileSync('mkfs.erofs', ['--quiet', ...args, out, tree], { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out);
}

/** Where the interesting metadata of a pristine image is: inode offsets and directory data. */
async function layout(image: Buffer): Promise<{ inodes: number[]; dirBlocks: number[] }> {
  const fs = await openErofs(fromBytes(image));
  const inodes: number[] = [];
  const dirBlocks: number[] = [];
  for await (const e of walkErofs(fs)) {
    inodes.push(e.inode.offset);
    if ((e.inode.mode & 0o170000) === 0o040000)
      dirBlocks.push(
        e.inode.layout === 'inline' && e.inode.size < 4096 ? e.inode.tailOffset : e.inode.iu * 4096,
      );
  }
  return { inodes, dirBlocks };
}

/** Everything a reproduce diff touches: the walk, every xattr, the first MiB of every file. */
async function readAll(fs: ErofsContext): Promise<number> {
  let n = 0;
  for await (const e of walkErofs(fs)) {
    n++;
    await readXattrs(fs, e.inode);
    const type = e.inode.mode & 0o170000;
    if (type === 0o100000 || type === 0o120000) {
      const data = inodeData(fs, e.inode);
      await data.read(0, Math.min(data.size, 1024 * 1024));
    }
  }
  return n;
}

it('survives hostile erofs images', async () => {
  const images = [
    sample('plain.erofs', '-T', '1700000000', '-x1'),
    sample('chunk.erofs', '--chunksize=4096', '-T', '1'),
  ];
  const layouts = await Promise.all(images.map(layout));
  for (const image of images) expect(await readAll(await openErofs(fromBytes(image)))).toBeGreaterThan(120);
  const rng = new Prng(0x65726f66);
  const tally = new FuzzTally('erofs', 2000);
  const mutators = images.map((b) => new Mutator(b));
  for (let i = 0; i < CASES; i++) {
    const which = rng.int(2);
    const image = images[which] as Buffer;
    const m = mutators[which] as Mutator;
    const { inodes, dirBlocks } = layouts[which] as { inodes: number[]; dirBlocks: number[] };
    const kind = rng.int(8);
    let input: Uint8Array = image;
    switch (kind) {
      case 0: {
        const [at, size] = rng.pick([
          [1024 + 12, 1], // blkszbits
          [1024 + 14, 2], // root_nid
          [1024 + 40, 4], // meta_blkaddr
          [1024 + 44, 4], // xattr_blkaddr
          [1024 + 80, 4], // feature_incompat
        ] as const);
        m.uint(at, size, interesting(rng, [0, 1, 9, 12, 16, 17, 0x40, 0x80]));
        break;
      }
      case 1: {
        const base = rng.pick(inodes);
        const [at, size] = rng.pick([
          [0, 2], // i_format
          [2, 2], // i_xattr_icount
          [4, 2], // i_mode
          [8, 4], // i_size
          [16, 4], // i_u
          [24, 2], // uid
        ] as const);
        m.uint(base + at, size, interesting(rng, [0x1000, 0x4000, 0x8000, 0xa000, 4, 5, 6, 8, 0x20, 0x3f]));
        break;
      }
      case 2: {
        const block = rng.pick(dirBlocks);
        const k = rng.int(6);
        if (rng.chance(0.5)) m.uint(block + k * 12, 8, interesting(rng, [0, 1, 2, 36, 40]));
        else m.uint(block + k * 12 + 8, 2, interesting(rng, [0, 11, 12, 13, 24, 36, 4095, 4096]));
        break;
      }
      case 3:
        for (let n = 1 + rng.int(8); n > 0; n--)
          m.flip(rng.chance(0.5) ? rng.pick(inodes) + rng.int(64) : rng.int(image.length), rng.int(8));
        break;
      case 4:
        input = image.subarray(0, rng.int(image.length));
        break;
      case 5:
        m.write(rng.int(image.length), rng.bytes(1 + rng.int(64)));
        break;
      case 6:
        m.write(rng.pick(dirBlocks) + rng.int(200), rng.bytes(1 + rng.int(32)));
        break;
      default:
        input = rng.bytes(2048 + rng.int(8192));
        if (rng.chance(0.8)) {
          input.set(image.subarray(1024, 1152), 1024);
          input[1024 + 12] = 9; // 512-byte blocks, so the metadata lies inside the noise
        }
    }
    await tally.run(`case ${i} image ${which} kind ${kind}`, async () => {
      try {
        await readAll(await openErofs(fromBytes(input, 'fuzz.erofs')));
      } catch (err) {
        if (!(err instanceof ParseError)) throw new Error(`not a ParseError: ${String(err)}`, { cause: err });
        throw err;
      }
    });
    m.restore();
  }
  console.log(tally.summary());
  expect(tally.cases).toBe(CASES);
  expect(tally.ok).toBeGreaterThan(300);
  expect(tally.codes.get('PARSE_INVALID') ?? 0).toBeGreaterThan(200);
  expect(tally.codes.get('PARSE_TRUNCATED') ?? 0).toBeGreaterThan(100);
  expect(tally.codes.get('PARSE_UNSUPPORTED') ?? 0).toBeGreaterThan(10);
  expect(tally.slowest.ms).toBeLessThan(1000);
});
