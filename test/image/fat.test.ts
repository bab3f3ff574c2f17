// Property: whatever tree mkfs.fat + mtools write into a FAT12/16/32 partition of a GPT disk,
// readGpt → partitionSource → openFat reads back the same paths and the same bytes, through
// readFile and through fileSource at odd offsets, including files fragmented around holes.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileSource } from '../../image/file-source.js';
import { openFat, type FatEntry, type FatFs } from '../../image/formats/fat/index.js';
import { partitionSource, readGpt } from '../../image/formats/gpt/index.js';
import { requireTools, tool, TOOL_MTIME } from '../helpers/disk-tools.js';
import { fitTree, stageTree, treeArb, type Expected } from '../helpers/fat-tree.js';
import { fillRandom, Prng } from '../helpers/prng.js';

const MiB = 1024 * 1024;
const PART_START = 2048; // sectors
const VOLUME_ID = '1D2C3B4A';
const LABEL = 'NODEIMGTEST';

interface Variant {
  readonly type: 'FAT12' | 'FAT16' | 'FAT32';
  readonly mkfs: readonly string[];
  readonly fsKiB: number;
  readonly clusterSize: number;
  readonly bigMax: number;
  readonly budget: number;
  readonly runs: number;
  readonly seed: number;
}

// Sizes chosen so mkfs.fat really produces each type by cluster count (fatgen103 §3.5):
// 7 MiB / 2 KiB ≈ 3.5k clusters, 24 MiB / 2 KiB ≈ 12k, 40 MiB / 512 B ≈ 81k.
const VARIANTS: readonly Variant[] = [
  {
    type: 'FAT12',
    mkfs: ['-F', '12', '-s', '4'],
    fsKiB: 7 * 1024,
    clusterSize: 2048,
    bigMax: 1.5 * MiB,
    budget: 4 * MiB,
    runs: 25,
    seed: 12,
  },
  {
    type: 'FAT16',
    mkfs: ['-F', '16', '-s', '4'],
    fsKiB: 24 * 1024,
    clusterSize: 2048,
    bigMax: 3 * MiB,
    budget: 14 * MiB,
    runs: 25,
    seed: 16,
  },
  {
    type: 'FAT32',
    mkfs: ['-F', '32', '-s', '1'],
    fsKiB: 40 * 1024,
    clusterSize: 512,
    bigMax: 3 * MiB,
    budget: 20 * MiB,
    runs: 20,
    seed: 32,
  },
];

const FILLERS = 6;

let work: string;
beforeAll(async () => {
  await requireTools(['sfdisk', 'mkfs.fat', 'mcopy', 'mmd', 'mdel']);
  work = mkdtempSync(join(tmpdir(), 'nodeimg-fat-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function makeDisk(v: Variant): Promise<string> {
  const disk = join(work, `${v.type}.img`);
  writeFileSync(disk, new Uint8Array(0));
  truncateSync(disk, v.fsKiB * 1024 + 2 * MiB);
  const script = `label: gpt\nlabel-id: 3F9A8C1E-5B2D-4E6F-9A1B-2C3D4E5F6A7B\nfirst-lba: ${PART_START}\n${disk}1 : start=${PART_START}, size=${v.fsKiB * 2}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0A1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9, name="ESP"\n`;
  await tool('sfdisk', ['-q', disk], script);
  return disk;
}

/**
 * Formats the partition, writes FILLERS files and deletes every other one, then copies the tree:
 * mtools must fill the holes, so multi-cluster files fragment. FAT32 keeps a next-free hint in
 * FSInfo that would skip the holes, so it is reset to "unknown" (0xFFFFFFFF, fatgen103 §5).
 */
async function buildVolume(
  v: Variant,
  disk: string,
  staged: string,
  run: number,
  expected: Expected,
): Promise<void> {
  const img = `${disk}@@${PART_START * 512}`;
  await tool('mkfs.fat', [
    `--offset=${PART_START}`,
    ...v.mkfs,
    '-i',
    VOLUME_ID,
    '-n',
    LABEL,
    disk,
    String(v.fsKiB),
  ]);
  const fillDir = join(staged, '..', 'fill');
  mkdirSync(fillDir);
  const fills: string[] = [];
  for (let i = 1; i <= FILLERS; i++) {
    const content = fillRandom(new Uint8Array(3 * v.clusterSize + 100 * i), run * 100 + i);
    const name = `#fill${i}.bin`;
    writeFileSync(join(fillDir, name), content);
    fills.push(join(fillDir, name));
    if (i % 2 === 1) expected.set(`/${name}`, content);
  }
  await tool('mcopy', ['-i', img, ...fills, '::/']);
  await tool('mdel', [
    '-i',
    img,
    ...fills.filter((_, i) => i % 2 === 1).map((f) => `::/${f.slice(fillDir.length + 1)}`),
  ]);
  if (v.type === 'FAT32') await resetFsInfoHint(disk);
  const top = readdirSync(staged).map((n) => join(staged, n));
  if (top.length > 0) await tool('mcopy', ['-s', '-i', img, ...top, '::/'], '');
}

async function resetFsInfoHint(disk: string): Promise<void> {
  const fh = await open(disk, 'r+');
  try {
    const bpb = new Uint8Array(512);
    await fh.read(bpb, 0, 512, PART_START * 512);
    const fsInfo = new DataView(bpb.buffer).getUint16(48, true);
    await fh.write(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0, 4, PART_START * 512 + fsInfo * 512 + 492);
  } finally {
    await fh.close();
  }
}

async function collect(fs: FatFs): Promise<Map<string, FatEntry>> {
  const out = new Map<string, FatEntry>();
  for await (const e of fs.walk()) out.set(e.path, e);
  return out;
}

/** Reads the whole file through fileSource in odd-sized chunks plus a few random ranges. */
async function streamed(fs: FatFs, e: FatEntry, rng: Prng, content: Uint8Array): Promise<void> {
  const src = fs.fileSource(e);
  expect(src.size).toBe(content.length);
  const chunk = 3 * fs.clusterSize + 7;
  const whole = new Uint8Array(e.size);
  for (let off = 0; off < e.size; off += chunk)
    whole.set(await src.read(off, Math.min(chunk, e.size - off)), off);
  expect(Buffer.compare(whole, content)).toBe(0);
  for (let i = 0; i < 3 && e.size > 0; i++) {
    const off = rng.int(e.size);
    const len = rng.int(Math.min(e.size - off, 5 * fs.clusterSize) + 1);
    expect(Buffer.compare(await src.read(off, len), content.subarray(off, off + len))).toBe(0);
  }
}

describe.each(VARIANTS)('$type property: mkfs.fat + mtools → GPT → openFat', (v) => {
  let fragmented = 0;
  let files = 0;

  it(`reads back every path and byte (${v.runs} random trees)`, async () => {
    const disk = await makeDisk(v);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(treeArb(v.clusterSize, v.bigMax), async (raw) => {
        run++;
        const tree = fitTree(raw, v.clusterSize, v.budget);
        const runDir = join(work, `${v.type}-${run}`);
        const staged = join(runDir, 'tree');
        mkdirSync(staged, { recursive: true });
        try {
          const expected: Expected = new Map();
          stageTree(tree, staged, expected);
          await buildVolume(v, disk, staged, run, expected);
          await withFileSource(disk, async (src) => {
            const gpt = await readGpt(src);
            const esp = gpt.partitions[0];
            if (!esp) throw new Error('no partition');
            const fs = await openFat(partitionSource(src, esp));
            expect(fs).toMatchObject({
              type: v.type,
              volumeId: '1D2C-3B4A',
              volumeLabel: LABEL,
              clusterSize: v.clusterSize,
            });
            const got = await collect(fs);
            expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
            const rng = new Prng(run);
            for (const [path, want] of expected) {
              const e = got.get(path) as FatEntry;
              expect(e.mtime).toBe(TOOL_MTIME);
              if (want === 'dir') {
                expect(e.isDirectory).toBe(true);
                continue;
              }
              files++;
              expect(e).toMatchObject({ isDirectory: false, size: want.length });
              expect(Buffer.compare(await fs.readFile(e), want)).toBe(0);
              await streamed(fs, e, rng, want);
              if ((await fs.extents(e)).length > 1) fragmented++;
            }
            // Case-insensitive lookup by path, as firmware does.
            const some = [...expected.keys()].at(-1) as string;
            expect((await fs.stat(some.toUpperCase()))?.path).toBe(some);
            expect((await fs.list('/')).map((e) => e.path)).toEqual(
              [...got.keys()].filter((p) => p.lastIndexOf('/') === 0),
            );
            expect(fs.warnings).toEqual([]);
          });
        } finally {
          rmSync(runDir, { recursive: true, force: true });
        }
      }),
      // FAT_PROPERTY_SEED / FAT_PROPERTY_RUNS explore other trees without editing the file.
      {
        numRuns: Number(process.env['FAT_PROPERTY_RUNS'] ?? v.runs),
        seed: Number(process.env['FAT_PROPERTY_SEED'] ?? v.seed),
        endOnFailure: true,
      },
    );
    console.log(`${v.type}: ${run} trees, ${files} files compared, ${fragmented} fragmented`);
    expect(fragmented).toBeGreaterThan(0);
  });
});
