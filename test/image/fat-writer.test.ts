// The FAT writer (image/formats/fat/writer.ts): fsck.fat -n finds nothing to fix, mtools lists and
// extracts the files, our openFat reads every file back byte for byte; the geometry is mkfs.fat's;
// random trees round-trip; trees that do not fit fail before anything is written.
import { mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { openFat, type FatFs } from '../../image/formats/fat/index.js';
import {
  fatTime,
  planFat,
  writeFat,
  type FatFileInput,
  type FatImageInput,
} from '../../image/formats/fat/writer.js';
import { encodeDirectoryNames, plainShortName } from '../../image/formats/fat/name-writer.js';
import { fromBytes } from '../../image/formats/source.js';
import { requireTools, tool } from '../helpers/disk-tools.js';
import { fitTree, treeArb, type TreeNode } from '../helpers/fat-tree.js';
import { fillRandom } from '../helpers/prng.js';

const MiB = 1024 * 1024;
const EPOCH = 1_700_000_001; // an odd second: the create time carries CrtTimeTenth 100
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

let dir: string;
beforeAll(async () => {
  await requireTools(['mkfs.fat', 'mcopy']);
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-fat-writer-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ESP_FILES: FatFileInput[] = [
  { path: 'EFI/BOOT/BOOTX64.EFI', data: fillRandom(new Uint8Array(300_001), 1) },
  { path: 'EFI/Linux/lab.efi', data: fillRandom(new Uint8Array(70_000), 2) },
  { path: 'EFI/systemd/systemd-bootx64.efi', data: fillRandom(new Uint8Array(1234), 3) },
  { path: 'loader/loader.conf', data: enc('timeout 0\neditor no\n') },
  { path: 'loader/entries/A long name, with spaces & more.conf', data: enc('title x\n') },
  { path: 'README', data: new Uint8Array(0) },
];

async function fsckClean(image: string): Promise<string> {
  const r = await execa('fsck.fat', ['-n', '-v', image], {
    reject: false,
    env: { PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
  });
  expect({ exit: r.exitCode, stderr: r.stderr }).toEqual({ exit: 0, stderr: '' });
  expect(r.stdout).not.toMatch(
    /differ|Free cluster summary wrong|Leaving filesystem unchanged|Fix\?|corrupt|invalid/i,
  );
  return r.stdout;
}

async function readAll(fs: FatFs): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of fs.walk())
    out.set(e.path, e.isDirectory ? 'dir' : Buffer.from(await fs.readFile(e)).toString('hex'));
  return out;
}

function expected(files: readonly FatFileInput[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) out.set(`/${parts.slice(0, i).join('/')}`, 'dir');
    out.set(`/${f.path}`, Buffer.from(f.data).toString('hex'));
  }
  return out;
}

const sortMap = (m: Map<string, string>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe.each([
  ['FAT12', 4 * MiB, undefined],
  ['FAT16', 32 * MiB, undefined],
  ['FAT32', 64 * MiB, 'FAT32'],
] as const)('%s ESP image', (type, size, fatType) => {
  const input: FatImageInput = {
    size,
    files: ESP_FILES,
    directories: ['EFI/empty'],
    volumeId: 0x1d2c3b4a,
    label: 'ESP',
    sourceDateEpoch: EPOCH,
    hiddenSectors: 2048,
    ...(fatType ? { fatType } : {}),
  };
  let image: string;
  let bytes: Uint8Array;

  beforeAll(async () => {
    bytes = writeFat(input);
    image = join(dir, `${type}.img`);
    await writeFile(image, bytes);
  });

  it('is the FAT type asked for, and deterministic', () => {
    expect(planFat(input).type).toBe(type);
    expect(Buffer.from(writeFat(input)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('fsck.fat -n finds nothing to fix', async () => {
    const out = await fsckClean(image);
    // files + EFI, BOOT, Linux, systemd, empty, loader, entries + the volume label entry
    expect(out).toMatch(new RegExp(`${ESP_FILES.length + 8} files`));
  });

  it('openFat reads every file byte-identical, the label, the id and the timestamps', async () => {
    const fs = await openFat(fromBytes(bytes, 'esp.img'));
    expect(fs.type).toBe(type);
    expect(fs.volumeId).toBe('1D2C-3B4A');
    expect(fs.volumeLabel).toBe('ESP');
    expect(fs.warnings).toEqual([]);
    const want = expected(ESP_FILES);
    want.set('/EFI/empty', 'dir');
    expect(sortMap(await readAll(fs))).toEqual(sortMap(want));
    expect((await fs.stat('/EFI/BOOT/BOOTX64.EFI'))?.mtime).toBe('2023-11-14T22:13:20');
    expect((await fs.stat('/EFI/BOOT/BOOTX64.EFI'))?.shortName).toBe('BOOTX64.EFI');
    expect((await fs.stat('/EFI/Linux/lab.efi'))?.shortName).toBe('LAB.EFI'); // NT lower-case bits, no LFN
    // files are contiguous, in sorted path order, after the directories
    const extents = await Promise.all(
      ESP_FILES.filter((f) => f.data.length > 0).map(
        async (f) => (await fs.extents((await fs.stat(f.path)) as never)).length,
      ),
    );
    expect(extents.every((n) => n === 1)).toBe(true);
  });

  it('mtools lists the label and every file, and extracts them byte-identical', async () => {
    const env = { MTOOLS_SKIP_CHECK: '1' };
    const listing = (await execa('mdir', ['-/', '-a', '-i', image, '::'], { env })).stdout;
    expect(listing).toMatch(/Volume in drive : is ESP/);
    expect(listing).toMatch(/Serial Number is 1D2C-3B4A/);
    expect(listing).toMatch(/A long name, with spaces & more\.conf/);
    const out = await mkdtemp(join(dir, `x-${type}-`));
    await execa('mcopy', ['-s', '-n', '-m', '-i', image, '::EFI', '::loader', '::README', out], { env });
    for (const f of ESP_FILES)
      expect(Buffer.from(await readFile(join(out, f.path))).equals(Buffer.from(f.data))).toBe(true);
    expect((await execa('mtype', ['-i', image, '::loader/loader.conf'], { env })).stdout).toBe(
      'timeout 0\neditor no',
    );
  });
});

describe('geometry like mkfs.fat 4.2', () => {
  it('sectors per cluster, reserved sectors, FAT size and type match mkfs.fat for the same size', async () => {
    const cases: [number, string[]][] = [
      [1, []],
      [4, []],
      [8, []],
      [16, []],
      [100, []],
      [200, []],
      [260, []],
      [511, []],
      [512, []],
      [1024, []],
      [40, ['-F', '32']],
      [260, ['-F', '32']],
      [300, ['-F', '32']],
      [600, ['-F', '16']],
      [16, ['-F', '12']],
    ];
    for (const [mb, args] of cases) {
      const f = join(dir, 'mkfs.img');
      await rm(f, { force: true });
      await writeFile(f, '');
      await truncate(f, mb * MiB);
      await tool('mkfs.fat', ['--invariant', ...args, f]);
      const fh = await open(f, 'r');
      const b = new Uint8Array(512);
      await fh.read(b, 0, 512, 0).finally(() => fh.close());
      const v = new DataView(b.buffer);
      const theirs = {
        spc: b[13],
        rsv: v.getUint16(14, true),
        fats: b[16],
        root: v.getUint16(17, true),
        fatSz: v.getUint16(22, true) || v.getUint32(36, true),
      };
      const p = planFat({
        size: mb * MiB,
        files: [],
        volumeId: 0,
        ...(args.length ? { fatType: `FAT${args[1]}` as 'FAT12' } : {}),
      });
      expect({
        mb,
        args,
        spc: p.sectorsPerCluster,
        rsv: p.reservedSectors,
        fats: 2,
        root: p.rootEntries,
        fatSz: p.fatSectors,
      }).toEqual({ mb, args, ...theirs });
    }
  });
});

describe('names', () => {
  it('keeps 8.3 names, uses NT case bits for lower-case 8.3, numeric-tail aliases for the rest', () => {
    expect(plainShortName('BOOTX64.EFI')?.ntCase).toBe(0);
    expect(plainShortName('lab.efi')?.ntCase).toBe(0x18);
    expect(plainShortName('Lab.efi')).toBeUndefined();
    expect(plainShortName('loader.conf')).toBeUndefined();
    const names = encodeDirectoryNames(['loader.conf', 'loader.confx', 'LOADER~1.CON', 'x y']);
    const text = names.map((n) => String.fromCharCode(...n.raw));
    expect(text).toEqual(['LOADER~2CON', 'LOADER~3CON', 'LOADER~1CON', 'XY~1       ']);
    expect(names.map((n) => n.lfn.length)).toEqual([1, 1, 0, 1]);
  });

  it('FAT timestamps are UTC, clamped to 1980..2107', () => {
    expect(fatTime(EPOCH)).toEqual({
      date: (43 << 9) | (11 << 5) | 14,
      time: (22 << 11) | (13 << 5) | 10,
      tenth: 100,
    });
    expect(fatTime(0)).toEqual({ date: (0 << 9) | (1 << 5) | 1, time: 0, tenth: 0 });
  });
});

describe('errors before anything is written', () => {
  const base = { size: 4 * MiB, volumeId: 1 };
  const msg = (input: FatImageInput): string => {
    try {
      planFat(input);
    } catch (err) {
      if (err instanceof NodeimgError && err.code === 'USAGE') return err.message;
      throw err;
    }
    throw new Error('no error');
  };
  it('the tree does not fit, bad names, clashes and bad volume fields', () => {
    expect(msg({ ...base, files: [{ path: 'big', data: new Uint8Array(5 * MiB) }] })).toMatch(
      /do not fit: they need \d+ clusters/,
    );
    expect(
      msg({
        ...base,
        files: Array.from({ length: 600 }, (_, i) => ({ path: `F${i}`, data: new Uint8Array(0) })),
      }),
    ).toMatch(/root directory holds 512 entries/);
    expect(
      msg({
        ...base,
        files: [
          { path: 'a/b', data: new Uint8Array(1) },
          { path: 'A/c', data: new Uint8Array(1) },
        ],
      }),
    ).toMatch(/differ only in case/);
    expect(
      msg({
        ...base,
        files: [
          { path: 'a', data: new Uint8Array(1) },
          { path: 'A', data: new Uint8Array(1) },
        ],
      }),
    ).toMatch(/same FAT entry/);
    expect(
      msg({
        ...base,
        files: [
          { path: 'a', data: new Uint8Array(1) },
          { path: 'a/b', data: new Uint8Array(1) },
        ],
      }),
    ).toMatch(/is a file, not a directory/);
    expect(msg({ ...base, files: [{ path: 'a?', data: new Uint8Array(1) }] })).toMatch(/contains "\?"/);
    expect(msg({ ...base, files: [{ path: '/a', data: new Uint8Array(1) }] })).toMatch(/empty component/);
    expect(msg({ ...base, files: [{ path: 'a.', data: new Uint8Array(1) }] })).toMatch(
      /ends with a space or a period/,
    );
    expect(msg({ ...base, files: [], label: 'esp' })).toMatch(/volume label/);
    expect(msg({ ...base, files: [], size: 1000 })).toMatch(/multiple of 512/);
    expect(msg({ ...base, files: [], fatType: 'FAT32' })).toMatch(/cannot hold a FAT32/);
    expect(msg({ ...base, files: [], volumeId: 2 ** 32 })).toMatch(/not a u32/);
  });
});

function flatten(nodes: readonly TreeNode[], prefix = ''): { files: FatFileInput[]; dirs: string[] } {
  const files: FatFileInput[] = [];
  const dirs: string[] = [];
  for (const n of nodes) {
    const path = prefix === '' ? n.name : `${prefix}/${n.name}`;
    if (n.kind === 'file') files.push({ path, data: fillRandom(new Uint8Array(n.size), n.seed) });
    else {
      dirs.push(path);
      const sub = flatten(n.children, path);
      files.push(...sub.files);
      dirs.push(...sub.dirs);
    }
  }
  return { files, dirs };
}

describe('random trees (fast-check)', () => {
  it('read back equal with openFat, and fsck.fat -n is clean', async () => {
    const img = join(dir, 'random.img');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ['FAT12', 2 * MiB] as const,
          ['FAT16', 12 * MiB] as const,
          ['FAT32', 36 * MiB] as const,
        ),
        treeArb(2048, 256 * 1024),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        async ([type, size], tree, volumeId) => {
          const cs = type === 'FAT32' ? 512 : 2048;
          const { files, dirs } = flatten(fitTree(tree, cs, Math.floor(size * 0.6)));
          const input: FatImageInput = {
            size,
            files,
            directories: dirs,
            volumeId,
            fatType: type,
            sourceDateEpoch: EPOCH,
          };
          const bytes = writeFat(input);
          const fs = await openFat(fromBytes(bytes));
          const want = expected(files);
          for (const d of dirs) want.set(`/${d}`, 'dir');
          expect(sortMap(await readAll(fs))).toEqual(sortMap(want));
          expect(fs.warnings).toEqual([]);
          await writeFile(img, bytes);
          await fsckClean(img);
        },
      ),
      { numRuns: 25, seed: 12 },
    );
    expect((await stat(img)).size).toBeGreaterThan(0);
    expect((await readdir(dir)).length).toBeGreaterThan(0);
  });
});
