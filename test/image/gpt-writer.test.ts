// The GPT writer (image/formats/gpt/writer.ts): byte-identical to systemd-repart 252 for the same seed
// and layout, read back by our readGpt and by sfdisk (--verify, --json), random layouts round-trip,
// and inputs that cannot fit fail before anything is written.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { readGpt } from '../../image/formats/gpt/index.js';
import {
  GPT_ATTR,
  GPT_TYPES,
  gptDiskImage,
  gptTableBytes,
  planGpt,
  repartDiskGuid,
  repartPartitionGuid,
  type GptLayoutInput,
} from '../../image/formats/gpt/writer.js';
import { fromBytes } from '../../image/formats/source.js';
import { sfdiskJson, tool } from '../helpers/disk-tools.js';

const REPART = '/usr/bin/systemd-repart';
const SEED = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const MiB = 1024 * 1024;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-gpt-writer-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** sfdisk's "GUID:59,60" attribute notation as bits (only GUID: bits appear in these tests). */
function sfdiskAttrs(attrs: string | undefined): bigint {
  const m = /^GUID:([\d,]+)$/.exec(attrs ?? '');
  return m ? (m[1] as string).split(',').reduce((v, b) => v | (1n << BigInt(b)), 0n) : 0n;
}

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof NodeimgError && err.code === 'USAGE') return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('GUIDs derived as systemd-repart derives them', () => {
  it('matches the GUIDs systemd-repart 252 wrote for seed 0f1e2d3c-…', () => {
    // recorded from `systemd-repart --empty=create --seed=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0` (esp, root, root)
    expect(repartDiskGuid(SEED)).toBe('30b4ce77-972b-46b3-a625-91f980cf42f6');
    expect(repartPartitionGuid(SEED, GPT_TYPES.esp, 0)).toBe('ad4bbcd9-c37c-41ba-acfc-41940ccb21eb');
    expect(repartPartitionGuid(SEED, GPT_TYPES['root-x86-64'], 0)).toBe(
      '2cbb6e05-fbc4-4921-be24-07f60724fa1a',
    );
    expect(repartPartitionGuid(SEED, GPT_TYPES['root-x86-64'], 1)).toBe(
      'eba57682-24ec-4853-b4ad-158b724a6e1d',
    );
  });

  it.runIf(existsSync(REPART))('writes the same disk, byte for byte, as systemd-repart --seed', async () => {
    const defs = join(dir, 'repart.d');
    await mkdir(defs, { recursive: true });
    const layout: [string, string, number][] = [
      ['esp', 'esp', 20],
      ['root-x86-64', 'root', 10],
      ['root-x86-64-verity', 'root-verity', 2],
      ['root-x86-64-verity-sig', 'root-verity-sig', 1],
      ['root-x86-64', 'root-b', 10],
    ];
    for (const [i, [type, label, mib]] of layout.entries()) {
      await writeFile(
        join(defs, `${10 + i}-${label}.conf`),
        `[Partition]\nType=${type}\nLabel=${label}\nSizeMinBytes=${mib}M\nSizeMaxBytes=${mib}M\n`,
      );
    }
    const disk = join(dir, 'repart.raw');
    execFileSync(
      REPART,
      [
        '--empty=create',
        '--size=64M',
        `--seed=${SEED}`,
        '--dry-run=no',
        `--definitions=${defs}`,
        '--no-pager',
        disk,
      ],
      { stdio: 'ignore' },
    );
    const theirs = new Uint8Array(await readFile(disk));
    // what repart put in the attributes (it marks root partitions grow-fs): taken over as input
    const attrs = (await sfdiskJson(disk)).partitions.map((p) => sfdiskAttrs(p.attrs));
    expect(attrs).toEqual([0n, GPT_ATTR.growFs, GPT_ATTR.readOnly, 0n, GPT_ATTR.growFs]);
    const plan = planGpt({
      diskSize: 64 * MiB,
      seed: SEED,
      partitions: layout.map(([type, label, mib], i) => ({
        type,
        label,
        size: mib * MiB,
        attributes: attrs[i] ?? 0n,
      })),
    });
    const ours = gptDiskImage(plan);
    expect(ours.length).toBe(theirs.length);
    const diff: number[] = [];
    for (let i = 0; i < ours.length && diff.length < 20; i++) if (ours[i] !== theirs[i]) diff.push(i);
    expect(diff).toEqual([]);
  });
});

describe('gptDiskImage read back', () => {
  const input: GptLayoutInput = {
    diskSize: 96 * MiB,
    seed: SEED,
    partitions: [
      { type: 'esp', size: 32 * MiB, label: 'ESP' },
      { type: 'root-x86-64', size: 40 * MiB, attributes: GPT_ATTR.readOnly | GPT_ATTR.growFs },
      { type: 'root-x86-64-verity', size: 4 * MiB },
      { type: 'root-x86-64-verity-sig', size: 'rest' },
    ],
  };

  it('readGpt sees every field, both copies, no warnings', async () => {
    const plan = planGpt(input);
    const disk = gptDiskImage(plan);
    const gpt = await readGpt(fromBytes(disk, 'disk.raw'));
    expect(gpt.warnings).toEqual([]);
    expect(gpt.usedBackup).toBe(false);
    expect(gpt.header.diskGuid).toBe(repartDiskGuid(SEED));
    expect(gpt.header.firstUsableLba).toBe(2048);
    expect(gpt.header.lastUsableLba).toBe(96 * 2048 - 34);
    expect(
      gpt.partitions.map((p) => [
        p.index,
        p.typeGuid,
        p.uniqueGuid,
        p.name,
        p.firstLba,
        p.lastLba,
        p.attributes,
      ]),
    ).toEqual(
      plan.partitions.map((p) => [p.index, p.typeGuid, p.uuid, p.label, p.firstLba, p.lastLba, p.attributes]),
    );
    expect(plan.partitions.map((p) => p.label)).toEqual([
      'ESP',
      'root-x86-64',
      'root-x86-64-verity',
      'root-x86-64-verity-sig',
    ]);
    expect(plan.partitions.at(-1)?.lastLba).toBe(96 * 2048 - 34);
    // the backup alone (primary destroyed) gives the same partitions
    const broken = new Uint8Array(disk);
    broken.fill(0, 512, 1024);
    const backup = await readGpt(fromBytes(broken));
    expect(backup.usedBackup).toBe(true);
    expect(backup.partitions).toEqual(gpt.partitions);
  });

  it('sfdisk --verify is clean and sfdisk --json agrees', async () => {
    const plan = planGpt(input);
    const file = join(dir, 'disk.raw');
    await writeFile(file, gptDiskImage(plan));
    const verify = await tool('sfdisk', ['--verify', file]);
    expect(verify).toMatch(/No errors detected/);
    const t = await sfdiskJson(file);
    expect(t.id.toLowerCase()).toBe(plan.diskGuid);
    expect(t.firstlba).toBe(plan.firstUsableLba);
    expect(t.lastlba).toBe(plan.lastUsableLba);
    expect(
      t.partitions.map((p) => [p.start, p.size, p.type.toLowerCase(), p.uuid.toLowerCase(), p.name ?? '']),
    ).toEqual(
      plan.partitions.map((p) => [p.firstLba, p.lastLba - p.firstLba + 1, p.typeGuid, p.uuid, p.label]),
    );
    expect(t.partitions[1]?.attrs).toBe('GUID:59,60');
  });

  it('4096-byte sectors: 6 blocks of table at the end, first usable LBA 256', async () => {
    const plan = planGpt({ ...input, sectorSize: 4096 });
    expect(plan.firstUsableLba).toBe(256);
    expect(plan.lastUsableLba).toBe(plan.totalLbas - 6);
    const gpt = await readGpt(fromBytes(gptDiskImage(plan)));
    expect(gpt.sectorSize).toBe(4096);
    expect(gpt.warnings).toEqual([]);
    expect(gpt.partitions.map((p) => p.offset)).toEqual(plan.partitions.map((p) => p.offset));
  });

  it('the head and tail are all the table there is (the rest of an empty disk is zero)', () => {
    const plan = planGpt(input);
    const t = gptTableBytes(plan);
    expect(t.head.length).toBe(34 * 512);
    expect(t.tail.length).toBe(33 * 512);
    expect(t.tailOffset + t.tail.length).toBe(plan.diskSize);
  });
});

describe('errors before anything is written', () => {
  it('too many partitions, partitions that do not fit, bad sizes and labels', () => {
    const base = { diskSize: 64 * MiB, seed: SEED };
    expect(
      usageMessage(() =>
        planGpt({
          ...base,
          partitions: Array.from({ length: 129 }, () => ({ type: 'linux-generic', size: 512 })),
        }),
      ),
    ).toMatch(/129 partitions do not fit in a GPT of 128 entries/);
    expect(usageMessage(() => planGpt({ ...base, partitions: [{ type: 'esp', size: 63 * MiB }] }))).toMatch(
      /partition 1 \(esp\) does not fit/,
    );
    expect(
      usageMessage(() =>
        planGpt({
          ...base,
          partitions: [
            { type: 'esp', size: 30 * MiB },
            { type: 'esp', size: 33 * MiB },
          ],
        }),
      ),
    ).toMatch(/partition 2 .* does not fit/);
    expect(usageMessage(() => planGpt({ ...base, partitions: [{ type: 'esp', size: 1000 }] }))).toMatch(
      /not a positive multiple of the 512-byte sector/,
    );
    expect(
      usageMessage(() =>
        planGpt({
          ...base,
          partitions: [
            { type: 'esp', size: 'rest' },
            { type: 'esp', size: 512 },
          ],
        }),
      ),
    ).toMatch(/'rest' but is not the last/);
    expect(
      usageMessage(() =>
        planGpt({ ...base, partitions: [{ type: 'esp', size: 512, label: 'x'.repeat(37) }] }),
      ),
    ).toMatch(/longer than 36/);
    expect(usageMessage(() => planGpt({ ...base, partitions: [{ type: 'nope', size: 512 }] }))).toMatch(
      /not a UUID/,
    );
    expect(usageMessage(() => planGpt({ ...base, seed: 'x', partitions: [] }))).toMatch(/not a UUID/);
    expect(usageMessage(() => planGpt({ ...base, diskSize: 1000, partitions: [] }))).toMatch(
      /not a positive multiple/,
    );
    expect(usageMessage(() => planGpt({ ...base, diskSize: MiB, partitions: [] }))).toMatch(/too small/);
    const u = '11111111-2222-4333-8444-555555555555';
    expect(
      usageMessage(() =>
        planGpt({
          ...base,
          partitions: [
            { type: 'esp', size: 512, uuid: u },
            { type: 'esp', size: 512, uuid: u },
          ],
        }),
      ),
    ).toMatch(/used twice/);
  });
});

describe('random layouts (fast-check)', () => {
  it('either fail with a USAGE error or read back exactly', async () => {
    const types = Object.keys(GPT_TYPES);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<512 | 4096>(512, 4096),
        fc.constantFrom(4096, 65536, MiB),
        fc.integer({ min: 1, max: 16 }),
        fc.array(
          fc.record({
            type: fc.constantFrom(...types),
            blocks: fc.integer({ min: 1, max: 600 }),
            label: fc.option(fc.string({ maxLength: 36, unit: 'binary-ascii' }), { nil: undefined }),
            attrs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          }),
          { maxLength: 10 },
        ),
        fc.uuid(),
        async (ss, align, mib, parts, seed) => {
          const input: GptLayoutInput = {
            diskSize: mib * MiB,
            sectorSize: ss,
            alignment: Math.max(align, ss),
            seed,
            partitions: parts.map((p) => ({
              type: p.type,
              size: p.blocks * ss,
              attributes: p.attrs,
              ...(p.label === undefined ? {} : { label: p.label.replaceAll('\0', '') }),
            })),
          };
          let plan;
          try {
            plan = planGpt(input);
          } catch (err) {
            expect(err).toBeInstanceOf(NodeimgError);
            expect((err as NodeimgError).message).toMatch(/does not fit|too small/);
            return;
          }
          const gpt = await readGpt(fromBytes(gptDiskImage(plan)));
          expect(gpt.warnings).toEqual([]);
          expect(gpt.sectorSize).toBe(ss);
          expect(
            gpt.partitions.map((p) => [p.typeGuid, p.uniqueGuid, p.name, p.offset, p.size, p.attributes]),
          ).toEqual(
            plan.partitions.map((p) => [p.typeGuid, p.uuid, p.label, p.offset, p.size, p.attributes]),
          );
          for (const p of plan.partitions) expect(p.offset % input.alignment!).toBe(0);
          // deterministic
          expect(
            Buffer.from(gptTableBytes(planGpt(input)).head).equals(Buffer.from(gptTableBytes(plan).head)),
          ).toBe(true);
        },
      ),
      { numRuns: 80, seed: 3 },
    );
  });
});
