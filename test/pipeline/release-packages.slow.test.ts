// `nodeimg release` end to end with package provenance: examples/minimal (smaller), its locked
// .debs served from a signed file:// mirror made here with the real tools (apt-ftparchive with an
// override file so each stanza has the lock's Section and Priority, gpg --clearsign with a
// throwaway key), the lock given `release` blocks from authenticateSuite exactly as `nodeimg lock`
// records them (the InRelease and index kept in the cache's apt-meta folder). The release archives
// the packages and publishes packages.json and sbom.spdx.json; fetch-measurements --verify-packages
// accepts them; a second version with the same lock sends no .deb bytes; nodeimg reproduce takes
// the .debs from the release's archive.
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateSuite, loadKeyring } from '../../image/build/apt-archive/index.js';
import { runTool } from '../../image/build/run-tool.js';
import { debPath } from '../../image/build/stages/fetch.js';
import { StageCache } from '../../pipeline/build/cache.js';
import type { Lock } from '../../pipeline/build/lock.js';
import { run } from '../helpers/cli.js';
import { recipeCopy, seedDebs, sharedDebs, small } from '../helpers/build.js';

const slow = process.env['NODEIMG_SLOW'] === '1' ? describe : describe.skip;

let tmp: string;
let recipe: string;
let cache: string;
let keyring: string;
let lock: Lock;

/** A signed file:// mirror holding exactly the lock's .debs at their pool paths. */
async function signedMirror(dir: string, l: Lock): Promise<{ mirror: string; keyring: string }> {
  const mirror = join(dir, 'debian');
  const store = await sharedDebs();
  for (const p of l.packages) {
    await mkdir(dirname(join(mirror, p.filename)), { recursive: true });
    await link(debPath(store, p.sha256), join(mirror, p.filename));
  }
  const override = join(dir, 'override');
  await writeFile(override, l.packages.map((p) => `${p.name} ${p.priority} ${p.section}\n`).join(''));
  const { stdout } = await runTool('apt-ftparchive', ['packages', 'pool', override], {
    cwd: mirror,
    timeoutMs: 120_000,
  });
  const bin = join(mirror, 'dists', 'bookworm', 'main', 'binary-amd64');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'Packages'), stdout);
  await runTool('xz', ['-k', '-9', join(bin, 'Packages')], { timeoutMs: 60_000 });
  const field = (k: string, v: string) => ['-o', `APT::FTPArchive::Release::${k}=${v}`];
  const { stdout: release } = await runTool(
    'apt-ftparchive',
    [
      ...field('Origin', 'Debian'),
      ...field('Suite', 'bookworm'),
      ...field('Codename', 'bookworm'),
      ...field('Architectures', 'amd64'),
      ...field('Components', 'main'),
      ...field('Date', 'Sat, 01 Jun 2024 00:00:00 UTC'),
      'release',
      'dists/bookworm',
    ],
    { cwd: mirror, timeoutMs: 60_000 },
  );
  await writeFile(join(mirror, 'dists/bookworm/Release'), release);
  const home = join(dir, 'gnupg');
  await mkdir(home, { mode: 0o700 });
  const gpg = (args: string[]) =>
    runTool(
      'gpg',
      ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      {
        timeoutMs: 60_000,
      },
    );
  await gpg(['--quick-gen-key', 'nodeimg slow test <slow@nodeimg.invalid>', 'ed25519', 'sign', 'never']);
  const ring = join(dir, 'keyring.gpg');
  await gpg(['--output', ring, '--export', 'slow@nodeimg.invalid']);
  await gpg([
    '--digest-algo',
    'SHA256',
    '--clearsign',
    '--output',
    join(mirror, 'dists/bookworm/InRelease'),
    join(mirror, 'dists/bookworm/Release'),
  ]);
  await runTool('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);
  return { mirror: `file://${mirror}`, keyring: ring };
}

function releaseArgs(version: string): string[] {
  return [
    'release',
    recipe,
    '--version',
    version,
    '--store',
    `dir:${join(tmp, 'store')}`,
    '--log',
    `dir:${join(tmp, 'tlog')}`,
    '--key',
    join(tmp, 'keys', 'key.pem'),
    '--cache',
    cache,
    '-o',
    join(tmp, 'out'),
    '--keyring',
    keyring,
    '--json',
  ];
}

interface PackagesSummary {
  archived: number;
  uploadedBytes: number;
  debBytes: number;
  provenance: { key: string; sha256: string } | null;
  sbom: { key: string; sha256: string } | null;
  skipped: string | null;
}

slow('nodeimg release with package provenance (slow: builds the example)', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nodeimg-release-packages-slow-'));
    recipe = await recipeCopy(join(tmp, 'recipe'), small);
    cache = join(tmp, 'cache');
    await seedDebs(cache);
    expect((await run(['keygen', '-o', join(tmp, 'keys')])).code).toBe(0);
    const file = join(recipe, 'nodeimg.lock.json');
    const plain = JSON.parse(await readFile(file, 'utf8')) as Lock;
    const m = await signedMirror(join(tmp, 'mirror'), plain);
    keyring = m.keyring;
    const suite = await authenticateSuite({
      mirror: m.mirror,
      suite: 'bookworm',
      architecture: 'amd64',
      keyring: await loadKeyring(keyring),
      clock: { now: () => Date.UTC(2024, 5, 2) },
      metaDir: new StageCache(cache).metaDir,
    });
    const release = {
      suite: 'bookworm',
      inRelease: suite.inRelease.sha256,
      date: new Date(suite.release.date).toISOString(),
    };
    lock = { ...plain, packages: plain.packages.map((p) => ({ ...p, release })) };
    await writeFile(file, `${JSON.stringify(lock, null, 2)}\n`);
  }, 300_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('archives the packages, publishes packages.json + sbom.spdx.json, and they verify', async () => {
    const r = await run(releaseArgs('v0.1.0'));
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { packages: PackagesSummary };
    const debBytes = lock.packages.reduce((n, p) => n + p.size, 0);
    expect(s.packages.archived).toBe(lock.packages.length);
    expect(s.packages.debBytes).toBe(debBytes);
    expect(s.packages.uploadedBytes).toBeGreaterThan(debBytes); // + the InRelease and index
    expect(s.packages.skipped).toBeNull();
    expect(s.packages.provenance?.key).toBe('v2/ref/-/stream/stable/v0.1.0/image/packages.json');
    expect(s.packages.sbom?.key).toBe('v2/ref/-/stream/stable/v0.1.0/image/sbom.spdx.json');

    const root = (await run(['log', 'trusted-root', '--log', `dir:${join(tmp, 'tlog')}`])).stdout;
    await writeFile(join(tmp, 'trusted_root.json'), root);
    const fetch = await run([
      'fetch-measurements',
      '--version',
      'v0.1.0',
      '--store',
      `dir:${join(tmp, 'store')}`,
      '--key',
      join(tmp, 'keys', 'key.pub'),
      '--trusted-root',
      join(tmp, 'trusted_root.json'),
      '--offline',
      '--state',
      join(tmp, 'state.json'),
      '--verify-packages',
      '--deep',
      '--keyring',
      keyring,
      '--json',
    ]);
    expect(fetch.code, fetch.stderr).toBe(0);
    const f = JSON.parse(fetch.stdout) as { packages: { count: number; archive: { debBytes: number } } };
    expect(f.packages.count).toBe(lock.packages.length);
    expect(f.packages.archive.debBytes).toBe(debBytes);

    // a second version of the same lock: nothing of the pool is sent again
    const again = await run(releaseArgs('v0.2.0'));
    expect(again.code, again.stderr).toBe(0);
    const s2 = JSON.parse(again.stdout) as { packages: PackagesSummary };
    expect(s2.packages.uploadedBytes).toBe(0);
    expect(s2.packages.provenance?.sha256).toBe(s.packages.provenance?.sha256);

    // nodeimg reproduce takes the locked .debs from the release's archive (empty cache, no --deb-cache)
    const rep = await run([
      'reproduce',
      '--version',
      'v0.1.0',
      '--store',
      `dir:${join(tmp, 'store')}`,
      '--key',
      join(tmp, 'keys', 'key.pub'),
      '--trusted-root',
      join(tmp, 'trusted_root.json'),
      '--offline',
      '--state',
      join(tmp, 'state-reproduce.json'),
    ]);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stderr).toContain(
      `${lock.packages.length} of ${lock.packages.length} locked .debs taken from it (sha256 verified)`,
    );
  }, 600_000);
});
