// examples/minimal end to end: two cold builds in different folders (own cache, time zone, umask
// and working directory each) give byte-identical artefacts and manifests; a warm rebuild takes
// < 5 s with every stage from the cache; a changed command line reruns exactly the UKI and what
// follows; and the built disk boots under QEMU + OVMF + swtpm to the example's marker with every
// PCR equal to the measurements.json the build wrote.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectAccel } from '../../image/build/lab/index.js';
import { run } from '../helpers/cli.js';
import { runBootCheck } from '../helpers/boot-check-run.js';
import { buildInChild } from '../helpers/isolated-build.js';
import { MINIMAL, recipeCopy, sharedDebs } from '../helpers/build.js';

const CLI = join(import.meta.dirname, '..', 'helpers', 'build-recipe-cli.ts');
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

beforeAll(async () => {
  await sharedDebs();
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-build-e2e-'));
  await mkdir(join(dir, 'a'));
  await mkdir(join(dir, 'b'));
  outs = [
    await buildInChild(CLI, join(dir, 'a'), 'one', 'Pacific/Kiritimati', '077'),
    await buildInChild(CLI, join(dir, 'b'), 'two', 'America/Adak', '002'),
  ];
}, 900_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('nodeimg build examples/minimal', () => {
  it('two cold builds in different places give byte-identical outputs and equal manifests', async () => {
    const [a, b] = await Promise.all(outs.map(digests));
    expect(Object.keys(a ?? {})).toEqual([
      'disk.qcow2',
      'disk.raw',
      'disk.tar.gz',
      'disk.vhd',
      'manifest.json',
      'measurements.json',
      'uki.efi',
    ]);
    expect(b).toEqual(a);
    const manifest = JSON.parse(await readFile(join(outs[0] as string, 'manifest.json'), 'utf8')) as {
      artifacts: { path: string; sha256: string }[];
    };
    for (const x of manifest.artifacts) expect(a?.[x.path], x.path).toBe(x.sha256);
  });

  it('a warm rebuild takes every stage from the cache in < 5 s', async () => {
    const t0 = Date.now();
    const r = await run([
      'build',
      MINIMAL,
      '-o',
      outs[0] as string,
      '--cache',
      join(dir, 'a', 'one', 'cache'),
      '--json',
    ]);
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { stages: { id: string; status: string }[]; manifestSha256: string };
    expect(s.stages.filter((x) => x.status !== 'cached')).toEqual([]);
    expect(ms).toBeLessThan(5000);
    expect(s.manifestSha256).toBe(await sha256(join(outs[1] as string, 'manifest.json')));
  });

  it('a changed command line reruns exactly the UKI and the stages after it', async () => {
    const changed = await recipeCopy(join(dir, 'cmdline'), (r) => ({
      ...r,
      cmdline: `${r.cmdline} t=${randomUUID()}`,
    }));
    const r = await run([
      'build',
      changed,
      '-o',
      join(dir, 'out-cmdline'),
      '--cache',
      join(dir, 'a', 'one', 'cache'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { stages: { id: string; status: string }[] };
    expect(s.stages.filter((x) => x.status === 'ran').map((x) => x.id)).toEqual([
      'uki',
      'esp',
      'disk',
      'format:qcow2',
      'format:vhd',
      'format:gce',
      'measure:qemu',
    ]);
  });

  it('the disk boots to the marker and every PCR equals the measurements.json of the build', async () => {
    const accel = await detectAccel();
    const out = outs[0] as string;
    const r = await runBootCheck(dir, accel, [
      join(out, 'disk.raw'),
      '--marker',
      'NODEIMG-MINIMAL-BOOTED',
      // only the marker ends the boot: under TCG on a busy host the kernel can be silent on the
      // TPM for longer than the default 10 s after ExitBootServices
      '--quiet',
      '600',
      '--timeout',
      '600',
      '--against',
      join(out, 'measurements.json'),
      '--json',
    ]);
    expect(r.stderr).toMatch(/the marker appeared on the serial console/);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
  }, 600_000);
});
