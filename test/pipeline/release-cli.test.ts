// `nodeimg release` of (a smaller copy of) examples/minimal into a local directory store with the
// local transparency log, as the README's main job does, and the verifier's view of it:
// fetch-measurements from the directory and over HTTP (nodeimg serve's handler) accepts it and
// writes exactly the published measurements.json; releasing the same version again is a no-op;
// changing the image and releasing it under the same version is refused.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore } from '../../pipeline/adapters/store/dir-store.js';
import { startStoreServer } from '../../pipeline/adapters/store/serve-handler.js';
import { run } from '../helpers/cli.js';
import { recipeCopy, seedDebs, small } from '../helpers/build.js';

let tmp: string;
let recipe: string;
let cache: string;
const paths = () => ({
  store: join(tmp, 'store'),
  log: join(tmp, 'tlog'),
  key: join(tmp, 'keys', 'key.pem'),
  pub: join(tmp, 'keys', 'key.pub'),
  root: join(tmp, 'trusted_root.json'),
});

function releaseArgs(version: string, extra: string[] = []): string[] {
  const p = paths();
  return [
    'release',
    recipe,
    '--version',
    version,
    '--store',
    `dir:${p.store}`,
    '--log',
    `dir:${p.log}`,
    '--key',
    p.key,
    '--cache',
    cache,
    '-o',
    join(tmp, 'out'),
    '--json',
    ...extra,
  ];
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-release-'));
  recipe = await recipeCopy(join(tmp, 'recipe'), small);
  cache = join(tmp, 'cache');
  await seedDebs(cache);
  expect((await run(['keygen', '-o', join(tmp, 'keys')])).code).toBe(0);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('nodeimg release', () => {
  it('builds, signs, logs and publishes; fetch-measurements accepts it from the directory and over HTTP', async () => {
    const p = paths();
    const r = await run(releaseArgs('v0.1.0'));
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as {
      newIndex: boolean;
      index: { sequence: number; key: string };
      documents: Record<string, { key: string; sha256: string }>;
      artefacts: { name: string; key: string }[];
      logIndexes: Record<string, number>;
    };
    expect(s.newIndex).toBe(true);
    expect(s.index.sequence).toBe(1);
    // the example's lock has no package provenance (issue 12): released without it, and said so
    const pk = (
      JSON.parse(r.stdout) as { packages: { archived: number; provenance: unknown; skipped: string } }
    ).packages;
    expect(pk).toMatchObject({ archived: 0, uploadedBytes: 0, provenance: null, sbom: null });
    expect(pk.skipped).toMatch(/no package provenance was archived: the lock has none/);
    expect(r.stderr).toContain('no package provenance was archived');
    expect(s.artefacts.map((a) => a.name)).toEqual(
      expect.arrayContaining(['disk.qcow2', 'disk.raw', 'disk.vhd', 'uki.efi']),
    );
    expect(Object.keys(s.logIndexes).sort()).toEqual([
      'index',
      'info.json',
      'manifest.json',
      'measurements.json',
    ]);
    for (const d of Object.values(s.documents))
      expect(existsSync(join(p.store, `${d.key}.sigstore.json`))).toBe(true);
    // the published measurements carry the release and the build's PCRs
    const published = await readFile(join(p.store, s.documents['measurements.json']?.key ?? ''), 'utf8');
    const doc = JSON.parse(published) as { release: { version: string; enforced: number[] }; pcrs: object };
    expect(doc.release.version).toBe('v0.1.0');
    expect(doc.release.enforced).toEqual(expect.arrayContaining([4, 9, 11]));
    const built = JSON.parse(await readFile(join(tmp, 'out', 'measurements.json'), 'utf8')) as {
      pcrs: object;
    };
    expect(doc.pcrs).toEqual(built.pcrs);

    expect((await run(['log', 'trusted-root', '--log', `dir:${p.log}`])).code).toBe(0);
    const rootText = (await run(['log', 'trusted-root', '--log', `dir:${p.log}`])).stdout;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(p.root, rootText);
    const fetch = async (storeRef: string, out: string) =>
      run([
        'fetch-measurements',
        '--version',
        'v0.1.0',
        '--store',
        storeRef,
        '--key',
        p.pub,
        '--trusted-root',
        p.root,
        '--offline',
        '--state',
        join(tmp, `state-${out}.json`),
        '-o',
        join(tmp, out),
      ]);
    const local = await fetch(`dir:${p.store}`, 'fetched-dir.json');
    expect(local.code, local.stderr).toBe(0);
    const noPackages = await run([
      'fetch-measurements',
      '--version',
      'v0.1.0',
      '--store',
      `dir:${p.store}`,
      '--key',
      p.pub,
      '--trusted-root',
      p.root,
      '--offline',
      '--state',
      join(tmp, 'state-packages.json'),
      '--packages',
    ]);
    expect(noPackages.code).toBe(22); // VERIFY_NOT_FOUND: info.json lists no packages.json
    expect(noPackages.stderr).toContain('released without package provenance');
    expect(await readFile(join(tmp, 'fetched-dir.json'), 'utf8')).toBe(published);
    const server = await startStoreServer(new DirStore(p.store));
    try {
      const remote = await fetch(server.url, 'fetched-http.json');
      expect(remote.code, remote.stderr).toBe(0);
      expect(await readFile(join(tmp, 'fetched-http.json'), 'utf8')).toBe(published);
    } finally {
      await server.close();
    }
  }, 300_000);

  it('is a no-op the second time, and refuses the same version with other content', async () => {
    const again = await run(releaseArgs('v0.1.0'));
    expect(again.code, again.stderr).toBe(0);
    const s = JSON.parse(again.stdout) as { newIndex: boolean; written: number };
    expect(s.newIndex).toBe(false);
    expect(s.written).toBe(0);
    // another kernel command line: another UKI, other measurements, same version -> refused
    recipe = await recipeCopy(join(tmp, 'recipe2'), (r) => ({
      ...small(r),
      cmdline: `${r.cmdline} nodeimg.test=1`,
    }));
    const changed = await run(releaseArgs('v0.1.0'));
    expect(changed.code, changed.stderr).toBe(7);
    expect(changed.stderr).toContain('PUBLISH_CONFLICT');
    // as a new version it is released, on top of the first
    const next = await run(releaseArgs('v0.2.0'));
    expect(next.code, next.stderr).toBe(0);
    expect((JSON.parse(next.stdout) as { index: { sequence: number } }).index.sequence).toBe(2);
  }, 300_000);
});
