// Fuzzer for openFat / walk / readFile / fileSource: ≥ 10,000 deterministic inputs mutated from
// valid FAT12, FAT16 and FAT32 volumes (mkfs.fat + mtools, with LFNs, deep and multi-cluster
// directories, deleted entries and fragmented files) plus purely random ones. Mutations target
// BPB fields, FAT links (loops, free/bad/out-of-range clusters, early end of chain), directory
// entries (clusters and sizes past the end, attributes, names, LFN ordinals and checksums,
// directory loops) and truncation. Every case must end in a result or a NodeimgError, quickly.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { openFat } from '../../image/formats/fat/index.js';
import { fromBytes } from '../../image/formats/source.js';
import { requireTools, tool } from '../helpers/disk-tools.js';
import { FuzzTally, interesting, Mutator } from '../helpers/fuzz.js';
import { fillRandom, Prng } from '../helpers/prng.js';

const SEED = 0x66617421; // "fat!"
const RANDOM_CASES = 1000;
const MAX_WALK = 500;

/** Geometry of a base volume, decoded here from the BPB independently of image/formats/fat. */
interface Base {
  readonly name: string;
  readonly cases: number;
  readonly bytes: Uint8Array;
  readonly bits: 12 | 16 | 32;
  readonly fatOffset: number;
  readonly dataOffset: number;
  readonly clusterSize: number;
  readonly maxCluster: number;
  /** Clusters in use by chains (files and directories). */
  readonly chainClusters: number[];
  /** Byte offsets of every used 32-byte directory slot (short, LFN and deleted). */
  readonly slots: number[];
  /** First clusters of the directories (the FAT32 root included). */
  readonly dirClusters: number[];
}

let work: string;
const bases: Base[] = [];

beforeAll(async () => {
  await requireTools(['mkfs.fat', 'mcopy', 'mmd', 'mdel']);
  work = mkdtempSync(join(tmpdir(), 'nodeimg-fuzz-fat-'));
  const tree = stageTree(join(work, 'tree'));
  for (const [name, bits, kib, cases] of [
    ['FAT12', 12, 512, 3500],
    ['FAT16', 16, 2600, 3500],
    ['FAT32', 32, 34 * 1024, 2000],
  ] as const) {
    const img = join(work, `${name}.img`);
    await tool('mkfs.fat', [
      '-C',
      '-F',
      String(bits),
      '-s',
      '1',
      '-i',
      '1D2C3B4A',
      '-n',
      'FUZZ',
      img,
      String(kib),
    ]);
    // Fill holes so files fragment, leave a deleted entry behind.
    const fills = [1, 2, 3, 4].map((i) => join(work, `fill${i}.bin`));
    fills.forEach((f, i) => writeFileSync(f, fillRandom(new Uint8Array(1500 + i), i)));
    await tool('mcopy', ['-i', img, ...fills, '::/']);
    await tool('mdel', ['-i', img, '::/fill2.bin', '::/fill4.bin']);
    await tool('mcopy', ['-s', '-i', img, ...tree, '::/']);
    await tool('mdel', ['-i', img, '::/gone.txt']);
    bases.push(describeBase(name, cases, new Uint8Array(readFileSync(img)), bits));
  }
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function stageTree(root: string): string[] {
  const files: Record<string, number> = {
    'EFI/BOOT/BOOTX64.EFI': 5000,
    'EFI/Linux/nodeimg-6.1.0-amd64.efi': 20000,
    'deep/a/b/c/d/e/Leaf File.txt': 10,
    'empty.txt': 0,
    'lower.txt': 100,
    'gone.txt': 700,
    'Mixed Case Ünïcode name.bin': 3000,
  };
  for (let i = 0; i < 40; i++) files[`loader/entries/entry-number-${i}.conf`] = 50 + i;
  for (const [path, size] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, fillRandom(new Uint8Array(size), size));
  }
  return ['EFI', 'deep', 'loader', 'empty.txt', 'lower.txt', 'gone.txt', 'Mixed Case Ünïcode name.bin'].map(
    (n) => join(root, n),
  );
}

function describeBase(name: string, cases: number, bytes: Uint8Array, bits: 12 | 16 | 32): Base {
  const dv = new DataView(bytes.buffer);
  const bps = dv.getUint16(11, true);
  const spc = dv.getUint8(13);
  const rsvd = dv.getUint16(14, true);
  const nfats = dv.getUint8(16);
  const rootEnt = dv.getUint16(17, true);
  const fatSz = dv.getUint16(22, true) || dv.getUint32(36, true);
  const totSec = dv.getUint16(19, true) || dv.getUint32(32, true);
  const rootDirOffset = (rsvd + nfats * fatSz) * bps;
  const dataOffset = rootDirOffset + Math.ceil((rootEnt * 32) / bps) * bps;
  const clusterSize = bps * spc;
  const maxCluster = Math.floor((totSec * bps - dataOffset) / clusterSize) + 1;
  const fatOffset = rsvd * bps;
  const next = (c: number): number => {
    if (bits === 32) return dv.getUint32(fatOffset + c * 4, true) & 0x0fffffff;
    if (bits === 16) return dv.getUint16(fatOffset + c * 2, true);
    const v = dv.getUint16(fatOffset + c + (c >> 1), true);
    return c & 1 ? v >> 4 : v & 0xfff;
  };
  const chain = (c: number): number[] => {
    const out: number[] = [];
    while (c >= 2 && c <= maxCluster && out.length <= maxCluster) {
      out.push(c);
      c = next(c);
    }
    return out;
  };
  const chainClusters: number[] = [];
  for (let c = 2; c <= maxCluster; c++) if (next(c) !== 0) chainClusters.push(c);
  const slots: number[] = [];
  const dirClusters: number[] = [];
  const scan = (start: number, len: number) => {
    for (let at = start; at < start + len; at += 32) {
      if (bytes[at] === 0) return;
      slots.push(at);
      const attr = bytes[at + 11] as number;
      const isDot = bytes[at] === 0x2e;
      if (attr & 0x10 && (attr & 0x0f) !== 0x0f && bytes[at] !== 0xe5 && !isDot) {
        const c = (bits === 32 ? dv.getUint16(at + 20, true) * 0x10000 : 0) + dv.getUint16(at + 26, true);
        dirClusters.push(c);
        for (const dc of chain(c)) scan(dataOffset + (dc - 2) * clusterSize, clusterSize);
      }
    }
  };
  if (bits === 32) {
    const rootClus = dv.getUint32(44, true);
    dirClusters.push(rootClus);
    for (const c of chain(rootClus)) scan(dataOffset + (c - 2) * clusterSize, clusterSize);
  } else scan(rootDirOffset, rootEnt * 32);
  return {
    name,
    cases,
    bytes,
    bits,
    fatOffset,
    dataOffset,
    clusterSize,
    maxCluster,
    chainClusters,
    slots,
    dirClusters,
  };
}

// BPB fields (fatgen103 §3): [offset, size]; FAT32-only ones at 36..47.
type Field = readonly [offset: number, size: 1 | 2 | 4];
const BPB_FIELDS: readonly Field[] = [
  [11, 2],
  [13, 1],
  [14, 2],
  [16, 1],
  [17, 2],
  [19, 2],
  [21, 1],
  [22, 2],
  [32, 4],
];
const BPB32_FIELDS: readonly Field[] = [
  [36, 4],
  [40, 2],
  [42, 2],
  [44, 4],
];
// Directory entry fields (fatgen103 §6 and §7): [offset, size].
const DIRENT_FIELDS: readonly Field[] = [
  [0, 1],
  [11, 1],
  [12, 1],
  [13, 1],
  [20, 2],
  [26, 2],
  [28, 4],
];

function setFat(m: Mutator, b: Base, c: number, v: number): void {
  if (b.bits === 32) m.uint(b.fatOffset + c * 4, 4, v);
  else if (b.bits === 16) m.uint(b.fatOffset + c * 2, 2, v);
  else {
    const at = b.fatOffset + c + (c >> 1);
    const old = (m.buf[at] as number) | ((m.buf[at + 1] as number) << 8);
    const nv = c & 1 ? (old & 0x000f) | ((v & 0xfff) << 4) : (old & 0xf000) | (v & 0xfff);
    m.uint(at, 2, nv);
  }
}

function mutate(m: Mutator, b: Base, rng: Prng): number {
  let size = m.buf.length;
  const clusters = [0, 1, 2, b.maxCluster, b.maxCluster + 1, ...b.dirClusters];
  const metaEnd = b.dataOffset + 64 * b.clusterSize;
  const ops = 1 + rng.int(4);
  for (let i = 0; i < ops; i++) {
    switch (rng.int(10)) {
      case 0: {
        const [off, sz] = rng.pick(b.bits === 32 && rng.chance(0.4) ? BPB32_FIELDS : BPB_FIELDS);
        m.uint(off, sz, interesting(rng));
        break;
      }
      case 1:
      case 2: {
        // FAT link: loop to itself or an earlier cluster, free, reserved, bad, EOC, out of range.
        const c = rng.pick(b.chainClusters);
        const eoc = b.bits === 12 ? 0xfff : b.bits === 16 ? 0xffff : 0x0fffffff;
        const bad = b.bits === 12 ? 0xff7 : b.bits === 16 ? 0xfff7 : 0x0ffffff7;
        setFat(
          m,
          b,
          c,
          rng.pick([c, c - 1, rng.pick(b.chainClusters), 0, 1, bad, eoc, b.maxCluster + 1, interesting(rng)]),
        );
        break;
      }
      case 3:
      case 4: {
        const [off, sz] = rng.pick(DIRENT_FIELDS);
        const values =
          off === 0
            ? [0, 0xe5, 0x05, 0x2e, 0x2f, 0x20, 0x41, 0x4f]
            : off === 11
              ? [0x0f, 0x10, 0x08, 0x18, 0x20, 0x3f]
              : clusters;
        m.uint(rng.pick(b.slots) + off, sz, interesting(rng, values));
        break;
      }
      case 5: // directory loop: a subdirectory pointing at a directory (its parent, itself, root)
        m.uint(rng.pick(b.slots) + 26, 2, rng.pick(b.dirClusters));
        break;
      case 6:
        m.flip(rng.int(Math.min(metaEnd, m.buf.length)), rng.int(8));
        break;
      case 7:
        m.u8(rng.int(Math.min(metaEnd, m.buf.length)), rng.pick([0, 0xff]));
        break;
      case 8:
        size = rng.chance(0.5)
          ? rng.int(m.buf.length)
          : Math.max(0, m.buf.length - rng.int(8 * b.clusterSize));
        break;
      default:
        m.write(rng.int(Math.min(metaEnd, m.buf.length)), rng.bytes(1 + rng.int(64)));
    }
  }
  return size;
}

// Which defences the mutations reached (asserted at the end, so the fuzzer cannot silently
// stop exercising a check).
const REACHED: Record<string, RegExp> = {
  'FAT loop': /loops back to cluster/,
  'short chain': /chain ends after/,
  'cluster out of range': /outside 2\.\./,
  'bad cluster': /bad cluster marker/,
  'directory loop': /its own ancestor/,
  'bad name': /is not allowed/,
  'BPB check': /BPB_|FAT size|sector count|no data region|cannot hold/,
  'volume too small': /file system claims/,
  'oversized file': /exceeds \d+; use fileSource|needs \d+ clusters but the volume has/,
  'orphan LFN warning': /orphan long-name/,
};
const reached = new Map<string, number>();

function note(text: string): void {
  for (const [k, re] of Object.entries(REACHED)) if (re.test(text)) reached.set(k, (reached.get(k) ?? 0) + 1);
}

/** Runs fn; a NodeimgError is an acceptable outcome for one operation, anything else is not. */
async function tolerate(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof NodeimgError)) throw err;
    note(err.message);
  }
}

async function exercise(bytes: Uint8Array, rng: Prng): Promise<void> {
  const fs = await openFat(fromBytes(bytes, 'fuzz.img')).catch((err: unknown) => {
    if (err instanceof NodeimgError) note(err.message);
    throw err;
  });
  let n = 0;
  await tolerate(async () => {
    for await (const e of fs.walk()) {
      if (++n > MAX_WALK) break;
      if (e.isDirectory) continue;
      await tolerate(async () => {
        // Any claimed size: readFile must validate the chain (or the cap) before allocating.
        expect((await fs.readFile(e)).length).toBe(e.size);
      });
      await tolerate(async () => {
        const src = fs.fileSource(e);
        if (src.size > 0) await src.read(rng.int(src.size), 1);
      });
    }
  });
  await tolerate(() => fs.list('/'));
  await tolerate(() => fs.readFile('/EFI/BOOT/BOOTX64.EFI'));
  await tolerate(() => fs.list('/loader/entries'));
  fs.warnings.forEach(note);
}

function randomVolume(rng: Prng): Uint8Array {
  const bytes = rng.bytes(rng.int(64 * 1024));
  if (bytes.length >= 512 && rng.chance(0.6)) {
    // A plausible BPB over random data, so directory and FAT decoding see garbage.
    const dv = new DataView(bytes.buffer);
    dv.setUint16(11, 512, true);
    dv.setUint8(13, 1 << rng.int(4));
    dv.setUint16(14, 1 + rng.int(4), true);
    dv.setUint8(16, 1 + rng.int(2));
    dv.setUint16(17, 16 * (1 + rng.int(8)), true);
    dv.setUint16(19, Math.floor(bytes.length / 512), true);
    dv.setUint16(22, 1 + rng.int(3), true);
    bytes[510] = 0x55;
    bytes[511] = 0xaa;
  }
  return bytes;
}

it('reads the unmutated volumes completely', async () => {
  for (const b of bases) {
    const fs = await openFat(fromBytes(b.bytes, b.name));
    const paths: string[] = [];
    for await (const e of fs.walk()) {
      paths.push(e.path);
      if (!e.isDirectory) expect((await fs.readFile(e)).length).toBe(e.size);
    }
    expect(fs).toMatchObject({ type: b.name, volumeId: '1D2C-3B4A', volumeLabel: 'FUZZ', warnings: [] });
    // 11 directories, 6 named files (gone.txt deleted), 40 loader entries, 2 surviving fillers.
    expect(paths).toHaveLength(11 + 6 + 40 + 2);
    expect(paths).toContain('/EFI/Linux/nodeimg-6.1.0-amd64.efi');
    expect(paths).not.toContain('/gone.txt');
  }
});

it(`survives ${3500 + 3500 + 2000 + RANDOM_CASES} mutated and random volumes`, async () => {
  const tally = new FuzzTally('fuzz-fat', 10_000);
  const rng = new Prng(SEED);
  const started = performance.now();
  const timings: string[] = [];
  for (const b of bases) {
    const t0 = performance.now();
    const m = new Mutator(b.bytes);
    for (let i = 0; i < b.cases; i++) {
      const size = mutate(m, b, rng);
      const caseRng = new Prng(rng.u32());
      await tally.run(`${b.name}#${i}`, () => exercise(b.bytes.subarray(0, size), caseRng));
      m.restore();
    }
    timings.push(`${b.name} ${b.cases} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (let i = 0; i < RANDOM_CASES; i++) {
    const bytes = randomVolume(rng);
    const caseRng = new Prng(rng.u32());
    await tally.run(`random#${i}`, () => exercise(bytes, caseRng));
  }
  console.log(`${tally.summary()}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`fuzz-fat per base: ${timings.join(', ')}`);
  console.log(`fuzz-fat defences reached: ${[...reached].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  expect(tally.cases).toBeGreaterThanOrEqual(10_000);
  expect([...reached.keys()].sort()).toEqual(Object.keys(REACHED).sort());
  expect(tally.ok).toBeGreaterThan(1000);
  expect(tally.cases - tally.ok).toBeGreaterThan(1000);
});
