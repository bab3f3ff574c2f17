// `nodeimg build` of examples/minimal (a smaller disk, no GCE tarball: test/helpers/build.ts
// small()) for real: the artefacts and a canonical manifest without anything host-dependent, the
// measurements equal `nodeimg measure`'s, a warm rebuild under 5 s with every stage from the cache,
// and a changed command line rerunning exactly the UKI and what follows it.
import { createHash, createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, type CanonicalValue } from '../../../pipeline/build/canonical.js';
import { assertSchema } from '../../../pipeline/build/schema-errors.js';
import type { BuildManifest } from '../../../pipeline/build/manifest.js';
import { execa } from 'execa';
import { OVMF, SNAKEOIL } from '../../../image/build/lab/config.js';
import { run } from '../../helpers/cli.js';
import { recipeCopy, sharedCache, small } from '../../helpers/build.js';

interface Summary {
  ok: boolean;
  out: string;
  manifestSha256: string;
  stages: { id: string; status: string; cached: boolean; elapsedMs: number; key: string }[];
  artifacts: { path: string; sha256: string; size: number }[];
}

let dir: string;
let cache: string;
let recipe: string;
let first: Summary;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function build(recipeDir: string, out: string): Promise<Summary> {
  const r = await run(['build', recipeDir, '-o', out, '--cache', cache, '--json']);
  if (r.code !== 0) throw new Error(`build failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Summary;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-build-'));
  cache = await sharedCache();
  recipe = await recipeCopy(join(dir, 'recipe'), small);
  first = await build(recipe, join(dir, 'out'));
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nodeimg build examples/minimal (small)', () => {
  it('writes the artefacts and manifest.json, nothing else, and no temporary folder is left', async () => {
    expect(first.ok).toBe(true);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual([
      'disk.qcow2',
      'disk.raw',
      'disk.vhd',
      'manifest.json',
      'measurements.json',
      'uki.efi',
    ]);
    expect((await readdir(dir)).sort()).toEqual(['out', 'recipe']);
    for (const a of first.artifacts)
      expect(await sha256File(join(dir, 'out', a.path)), a.path).toBe(a.sha256);
  });

  it('the manifest is canonical, valid, complete and holds nothing host-dependent', async () => {
    const text = await readFile(join(dir, 'out', 'manifest.json'), 'utf8');
    const m = JSON.parse(text) as BuildManifest;
    assertSchema('manifest', 'https://nodeimg.dev/schema/build-manifest/v1.json', m);
    expect(text).toBe(canonicalJson(m as unknown as CanonicalValue));
    expect(createHash('sha256').update(text).digest('hex')).toBe(first.manifestSha256);
    expect(m.recipe.sha256).toBe(await sha256File(join(recipe, 'recipe.json')));
    expect(m.lock.sha256).toBe(await sha256File(join(recipe, 'nodeimg.lock.json')));
    expect(m.stages.map((s) => s.id)).toEqual([
      'fetch:busybox-static',
      'extract:busybox-static',
      'fetch:linux-image-amd64',
      'extract:linux-image-amd64',
      'fetch:systemd-boot-efi',
      'extract:systemd-boot-efi',
      'initrd',
      'uki',
      'esp',
      'disk',
      'format:qcow2',
      'format:vhd',
      'measure:qemu',
    ]);
    expect(Object.keys(m.tools)).toEqual(
      expect.arrayContaining(['node', 'binutils', 'tar', 'cpio', 'gzip', 'qemu-utils']),
    );
    expect(m.artifacts.map((a) => a.path)).toEqual([
      'disk.raw',
      'disk.qcow2',
      'disk.vhd',
      'uki.efi',
      'measurements.json',
    ]);
    expect(m.measurements[0]?.expected['11']?.['sha256']).toMatch(/^[0-9a-f]{64}$/);
    for (const host of [dir, cache, tmpdir(), homedir(), process.cwd()]) expect(text).not.toContain(host);
    // the host name as a word (it may be as short as "vm", which "vmlinuz" holds)
    const name = hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(text).not.toMatch(new RegExp(`(^|[^A-Za-z0-9-])${name}($|[^A-Za-z0-9-])`));
    expect(text).not.toMatch(/"\/[^"]*"/); // no absolute path at all
    expect(text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/); // no time stamps
    expect(text).not.toMatch(/"(elapsed|elapsedMs|cached|status|time)"/);
  });

  it('measurements.json is what `nodeimg measure disk.raw --vars OVMF_VARS_4M.fd` says', async () => {
    const r = await run(['measure', join(dir, 'out', 'disk.raw'), '--vars', OVMF.vars, '--json']);
    expect(r.code).toBe(0);
    expect(await readFile(join(dir, 'out', 'measurements.json'), 'utf8')).toBe(r.stdout);
  });

  it('a warm rebuild takes every stage from the cache in < 5 s and gives the same manifest', async () => {
    const t0 = Date.now();
    const warm = await build(recipe, join(dir, 'out'));
    const ms = Date.now() - t0;
    expect(warm.stages.filter((s) => s.status === 'ran')).toEqual([]);
    expect(warm.stages.filter((s) => !s.cached)).toEqual([]);
    expect(ms).toBeLessThan(5000);
    expect(warm.manifestSha256).toBe(first.manifestSha256);
  });

  it('changing only the command line reruns exactly the UKI and the stages after it', async () => {
    const marker = `nodeimg.test=${randomUUID()}`; // never in the shared cache
    const changed = await recipeCopy(join(dir, 'cmdline'), (r) => ({
      ...small(r),
      cmdline: `${r.cmdline} ${marker}`,
    }));
    const out = join(dir, 'out-cmdline');
    const s = await build(changed, out);
    expect(s.stages.filter((x) => x.status === 'ran').map((x) => x.id)).toEqual([
      'uki',
      'esp',
      'disk',
      'format:qcow2',
      'format:vhd',
      'measure:qemu',
    ]);
    const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as BuildManifest;
    const before = JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as BuildManifest;
    const key = (mm: BuildManifest, id: string) => mm.stages.find((x) => x.id === id)?.key;
    expect(key(m, 'initrd')).toBe(key(before, 'initrd'));
    expect(key(m, 'uki')).not.toBe(key(before, 'uki'));
    expect(m.measurements[0]?.expected['11']).not.toEqual(before.measurements[0]?.expected['11']);
    const uki = await readFile(join(out, 'uki.efi'));
    expect(uki.includes(Buffer.from(marker))).toBe(true);
    // this command line is never built again: keep the shared cache from growing
    for (const x of s.stages)
      if (x.status === 'ran') await rm(join(cache, 'stages', x.key), { recursive: true });
  });

  it('sdboot layout, Secure Boot signing with a key from the command line, two platforms', async () => {
    const keys = join(dir, 'keys');
    await mkdir(keys);
    const key = join(keys, 'db.key');
    await execa('openssl', [
      'pkey',
      '-in',
      SNAKEOIL.key,
      '-passin',
      `pass:${SNAKEOIL.passphrase}`,
      '-out',
      key,
    ]);
    const sb = await recipeCopy(join(dir, 'sb'), (r) => ({
      ...small(r),
      outputs: { formats: ['raw'] },
      boot: { layout: 'sdboot', bootloader: 'systemd-boot-efi' },
      platforms: [
        { name: 'qemu-sb', firmware: 'ovmf-secboot' },
        { name: 'qemu', firmware: 'ovmf', banks: ['sha256'] },
      ],
    }));
    const out = join(dir, 'out-sb');
    const r = await run([
      'build',
      sb,
      '-o',
      out,
      '--cache',
      cache,
      '--key',
      key,
      '--cert',
      SNAKEOIL.cert,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      'disk.raw',
      'manifest.json',
      'measurements-qemu.json',
      'measurements.json',
      'uki.efi',
    ]);
    const text = await readFile(join(out, 'manifest.json'), 'utf8');
    const m = JSON.parse(text) as BuildManifest;
    const sign = m.stages.find((s) => s.id === 'sign');
    expect(Object.keys(sign?.outputs ?? {})).toEqual(['systemd-bootx64.efi', 'uki.efi']);
    // the key is named by the digest of its public key, never by its file or path
    const spki = createPublicKey(createPrivateKey(await readFile(key))).export({
      type: 'spki',
      format: 'der',
    });
    expect(sign?.inputs['key']).toEqual({
      sha256: createHash('sha256').update(spki).digest('hex'),
      from: 'file:secure-boot-key',
    });
    expect(text).not.toContain(await sha256File(key));
    expect(text).not.toContain(keys);
    expect(m.measurements.map((x) => [x.platform, x.path, x.secureBoot])).toEqual([
      ['qemu-sb', 'measurements.json', true],
      ['qemu', 'measurements-qemu.json', false],
    ]);
    expect(Object.keys(m.measurements[1]?.expected['4'] ?? {})).toEqual(['sha256']);
    const inspect = await run(['inspect', '--json', join(out, 'uki.efi')]);
    expect(inspect.stdout).toContain('O=SnakeOil');
    const doc = JSON.parse(await readFile(join(out, 'measurements.json'), 'utf8')) as {
      boot: { mode: string };
    };
    expect(doc.boot.mode).toBe('systemd-boot');
  });

  it('never replaces a folder that is not a build output', async () => {
    const mine = join(dir, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep me');
    const r = await run(['build', recipe, '-o', mine, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${mine} exists and is not a nodeimg build output; refusing to replace it`);
    expect(await readdir(mine)).toEqual(['notes.txt']);
  });
});
