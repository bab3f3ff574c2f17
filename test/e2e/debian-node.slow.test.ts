// examples/debian-node end to end (issue 6): two cold builds in different folders (own cache, time
// zone, umask and working directory each; the .debs come from a shared store) give byte-identical
// artefacts and equal manifests; the disk boots under QEMU + OVMF + swtpm through the busybox
// initrd, which opens the erofs root through dm-verity, into systemd's multi-user target with the
// root mounted read-only, to the example's marker, every PCR equal to the build's
// measurements.json; and a copy of the disk with one byte flipped in the root partition does not
// boot: dm-verity reports the corrupted block and the root never mounts.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileSource } from '../../image/file-source.js';
import { readGpt } from '../../image/formats/gpt/read-gpt.js';
import { GPT_TYPES } from '../../image/formats/gpt/writer.js';
import { detectAccel } from '../../image/build/lab/index.js';
import { runBootCheck } from '../helpers/boot-check-run.js';
import { MARKER, sharedDebianNodeDebs } from '../helpers/debian-node.js';
import { buildInChild } from '../helpers/isolated-build.js';

const CLI = join(import.meta.dirname, '..', 'helpers', 'build-debian-node-cli.ts');
let dir: string;
let outs: string[];

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function digests(out: string): Promise<Record<string, string>> {
  const files = (await readdir(out)).sort();
  return Object.fromEntries(
    await Promise.all(files.map(async (f) => [f, await sha256(join(out, f))] as const)),
  );
}

/** Boots `disk` until the marker (or the guest powers off); returns the run, its JSON and console. */
async function boot(disk: string, measurements: string, logs: string) {
  const r = await runBootCheck(dir, await detectAccel(), [
    disk,
    '--marker',
    MARKER,
    '--quiet',
    '600',
    '--timeout',
    '600',
    '--against',
    measurements,
    '--logs',
    logs,
    '--json',
  ]);
  const serial = await readFile(join(logs, 'console.log'), 'latin1');
  const json = JSON.parse(r.stdout) as { ok: boolean; boot: { endReason: string } };
  return { r, json, serial };
}

beforeAll(async () => {
  await sharedDebianNodeDebs();
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-debian-node-e2e-'));
  await mkdir(join(dir, 'a'));
  await mkdir(join(dir, 'b'));
  outs = [
    await buildInChild(CLI, join(dir, 'a'), 'one', 'Pacific/Kiritimati', '077'),
    await buildInChild(CLI, join(dir, 'b'), 'two', 'America/Adak', '002'),
  ];
}, 1_800_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('nodeimg build examples/debian-node', () => {
  it('two cold builds in different places give byte-identical outputs and equal manifests', async () => {
    const [a, b] = await Promise.all(outs.map(digests));
    expect(Object.keys(a ?? {})).toEqual([
      'disk.raw',
      'manifest.json',
      'measurements.json',
      'roothash.txt',
      'uki.efi',
    ]);
    expect(b).toEqual(a);
    const manifest = JSON.parse(await readFile(join(outs[0] as string, 'manifest.json'), 'utf8')) as {
      artifacts: { path: string; sha256: string }[];
    };
    for (const x of manifest.artifacts) expect(a?.[x.path], x.path).toBe(x.sha256);
  });

  it('boots to multi-user on the read-only verity root, every PCR as predicted', async () => {
    const out = outs[0] as string;
    const { r, json, serial } = await boot(
      join(out, 'disk.raw'),
      join(out, 'measurements.json'),
      join(dir, 'logs-good'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(json.ok).toBe(true);
    expect(json.boot.endReason).toBe('marker');
    const roothash = (await readFile(join(out, 'roothash.txt'), 'utf8')).trim();
    expect(serial).toContain(`root hash ${roothash}`);
    expect(serial).toMatch(/Reached target .*multi-user\.target/);
    expect(serial).toMatch(/nodeimg debian-node root: \/dev\/mapper\/root \/ erofs ro,/);
    expect(serial).toContain(MARKER);
  }, 900_000);

  it('a byte flipped in the root partition makes dm-verity refuse the root', async () => {
    const out = outs[0] as string;
    const disk = join(dir, 'flipped.raw');
    await execa('cp', ['--sparse=always', join(out, 'disk.raw'), disk]);
    const src = await openFileSource(disk);
    let offset: number;
    try {
      const root = (await readGpt(src)).partitions.find(
        (p) => p.typeGuid.toLowerCase() === GPT_TYPES['root-x86-64'],
      );
      if (!root) throw new Error('no root-x86-64 partition');
      // byte 100 of the erofs image: before its superblock (at 1024), so erofs itself would never
      // notice; only the hash of data block 0, which the mount reads, no longer matches
      offset = root.offset + 100;
    } finally {
      await src.close();
    }
    const fh = await open(disk, 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, offset);
      b[0] = (b[0] as number) ^ 0xff;
      await fh.write(b, 0, 1, offset);
    } finally {
      await fh.close();
    }
    const { json, serial } = await boot(disk, join(out, 'measurements.json'), join(dir, 'logs-flipped'));
    expect(json.boot.endReason).not.toBe('marker');
    expect(serial).toMatch(/device-mapper: verity: [0-9:]+: data block 0 is corrupted/);
    expect(serial).toContain('NODEIMG-INITRD-FAILED');
    expect(serial).not.toContain(MARKER);
  }, 900_000);
});
