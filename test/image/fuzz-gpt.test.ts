// Fuzzer for readGpt / partitionSource / gptEventData: ≥ 10,000 deterministic inputs mutated from
// valid disks (sfdisk, 512-byte sectors; hand-built, 4096-byte sectors and 256-byte entries)
// plus purely random ones. Every case must end in a result or a NodeimgError, quickly.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gptEventData, partitionSource, readGpt, type GptSectorSize } from '../../image/formats/gpt/index.js';
import { fromBytes } from '../../image/formats/source.js';
import { requireTools, tool } from '../helpers/disk-tools.js';
import { FuzzTally, interesting, Mutator } from '../helpers/fuzz.js';
import { buildGpt, fixEntriesCrc, fixHeaderCrc } from '../helpers/gpt-bytes.js';
import { Prng } from '../helpers/prng.js';

const CASES_PER_BASE = 3000;
const RANDOM_CASES = 1000;
const SEED = 0x6e6f6465; // "node"

interface Base {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly bs: 512 | 4096;
}

let work: string;
const bases: Base[] = [];

beforeAll(async () => {
  await requireTools(['sfdisk']);
  work = mkdtempSync(join(tmpdir(), 'nodeimg-fuzz-gpt-'));
  const disk = join(work, 'small.img');
  writeFileSync(disk, new Uint8Array(256 * 1024));
  await tool(
    'sfdisk',
    ['-q', disk],
    `label: gpt\nlabel-id: 3F9A8C1E-5B2D-4E6F-9A1B-2C3D4E5F6A7B\nfirst-lba: 34\n${disk}1 : start=34, size=100, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"\n${disk}2 : start=134, size=200, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"\n${disk}4 : start=400, size=50, type=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5, name="verity"\n`,
  );
  bases.push({ name: 'sfdisk-512', bytes: new Uint8Array(readFileSync(disk)), bs: 512 });
  const parts = [
    {
      type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
      uuid: '11111111-2222-4333-8444-555555555555',
      first: 6,
      last: 20,
      name: 'ESP',
    },
    {
      slot: 3,
      type: '0fc63daf-8483-4772-8e79-3d69d8477de4',
      uuid: '66666666-7777-4888-9999-aaaaaaaaaaaa',
      first: 21,
      last: 57,
      attrs: 1n << 60n,
      name: 'data',
    },
  ];
  bases.push({
    name: 'built-4096',
    bytes: buildGpt({
      blockSize: 4096,
      totalLbas: 64,
      diskGuid: '01020304-0506-4708-890a-0b0c0d0e0f10',
      partitions: parts,
    }),
    bs: 4096,
  });
  bases.push({
    name: 'built-512-e256',
    bytes: buildGpt({
      blockSize: 512,
      totalLbas: 128,
      entries: 16,
      entrySize: 256,
      diskGuid: '01020304-0506-4708-890a-0b0c0d0e0f10',
      partitions: parts.map((p) => ({ ...p, first: p.first + 4, last: p.last + 40 })),
    }),
    bs: 512,
  });
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// Header fields (UEFI 2.10 Table 5.21): [offset, size].
const HEADER_FIELDS = [
  [8, 4],
  [12, 4],
  [24, 8],
  [32, 8],
  [40, 8],
  [48, 8],
  [72, 8],
  [80, 4],
  [84, 4],
  [88, 4],
] as const;
// Entry fields (Table 5.22).
const ENTRY_FIELDS = [
  [0, 8],
  [32, 8],
  [40, 8],
  [48, 8],
] as const;

function mutate(m: Mutator, base: Base, rng: Prng): number {
  const bs = base.bs;
  const total = base.bytes.length / bs;
  const headers = [bs, (total - 1) * bs];
  const lbaValues = [0, 1, 2, total - 2, total - 1, total, total + 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
  const dv = () => new DataView(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength);
  let size = m.buf.length;
  const ops = 1 + rng.int(4);
  for (let i = 0; i < ops; i++) {
    const hdr = rng.pick(headers);
    switch (rng.int(9)) {
      case 0: // bit flip in the metadata (first and last 34 blocks) or anywhere
        m.flip(
          rng.chance(0.8)
            ? rng.chance(0.5)
              ? rng.int(34 * bs)
              : m.buf.length - 1 - rng.int(34 * bs)
            : rng.int(m.buf.length),
          rng.int(8),
        );
        break;
      case 1:
        m.u8(hdr + rng.int(bs), rng.pick([0, 0xff]));
        break;
      case 2: {
        const [off, sz] = rng.pick(HEADER_FIELDS);
        m.uint(hdr + off, sz, interesting(rng, lbaValues));
        break;
      }
      case 3: {
        const entryLba = Number(dv().getBigUint64(hdr + 72, true));
        const es = dv().getUint32(hdr + 84, true) || 128;
        const [off, sz] = rng.pick(ENTRY_FIELDS);
        m.uint(entryLba * bs + rng.int(8) * es + off, sz, interesting(rng, lbaValues));
        break;
      }
      case 4: // copy one header block over the other
        m.write(rng.pick(headers), m.buf.slice(hdr, hdr + bs));
        break;
      case 5: // zero a block
        m.write(rng.int(total) * bs, new Uint8Array(bs));
        break;
      case 6:
        size = rng.chance(0.5)
          ? rng.int(m.buf.length)
          : m.buf.length - bs * (1 + rng.int(40)) + rng.int(2) * rng.int(bs);
        break;
      default:
        m.write(rng.int(m.buf.length), rng.bytes(1 + rng.int(32)));
    }
  }
  // Most cases re-seal the CRCs, so the field checks behind them are reached.
  if (rng.chance(0.7)) {
    for (const h of headers) {
      fixEntriesCrc(m.buf, h, bs);
      fixHeaderCrc(m.buf, h);
    }
  }
  return Math.max(0, Math.min(size, m.buf.length));
}

async function exercise(bytes: Uint8Array, sectorSize: GptSectorSize | undefined): Promise<void> {
  const disk = fromBytes(bytes, 'fuzz.img');
  const gpt = await readGpt(disk, sectorSize === undefined ? {} : { sectorSize });
  expect(gpt.partitions.length).toBeLessThanOrEqual(1024);
  for (const p of gpt.partitions) {
    expect(p.firstLba).toBeLessThanOrEqual(p.lastLba);
    expect(p.offset + p.size).toBeLessThanOrEqual(bytes.length);
    const src = partitionSource(disk, p);
    await src.read(0, 1);
    await src.read(src.size - 1, 1);
  }
  if (!gpt.usedBackup) {
    const data = await gptEventData(disk, gpt);
    expect(data.length).toBe(100 + gpt.partitions.length * gpt.header.sizeOfEntry);
  }
}

it(`survives ${3 * CASES_PER_BASE + RANDOM_CASES} mutated and random disks`, async () => {
  const tally = new FuzzTally('fuzz-gpt', 5000);
  const rng = new Prng(SEED);
  const started = performance.now();
  for (const base of bases) {
    const work = new Uint8Array(base.bytes);
    const m = new Mutator(work);
    for (let i = 0; i < CASES_PER_BASE; i++) {
      const size = mutate(m, base, rng);
      const ss = rng.pick([undefined, undefined, 512, 4096] as const);
      await tally.run(`${base.name}#${i}`, () => exercise(work.subarray(0, size), ss));
      m.restore();
    }
  }
  for (let i = 0; i < RANDOM_CASES; i++) {
    const bytes = rng.bytes(rng.int(64 * 1024));
    // Half of them carry a signature and a sealed header, so they get past the first check.
    if (rng.chance(0.5) && bytes.length >= 1024) {
      bytes.set(new TextEncoder().encode('EFI PART'), 512);
      new DataView(bytes.buffer).setUint32(512 + 12, 92, true);
      fixHeaderCrc(bytes, 512);
    }
    await tally.run(`random#${i}`, () => exercise(bytes, undefined));
  }
  console.log(`${tally.summary()}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
  expect(tally.cases).toBeGreaterThanOrEqual(10_000);
  expect(tally.ok).toBeGreaterThan(100);
  expect(tally.cases - tally.ok).toBeGreaterThan(100);
});
