// Issue 12 end to end, with real builds and the real Debian .debs of examples/minimal served from a
// signed loopback repository (test/helpers/apt-repo.ts): `nodeimg lock` authenticates them (version
// X), `nodeimg release` archives them with the release; then the repository is replaced by one that
// serves only X+1 (different versions, the X files gone from its pool), and `nodeimg reproduce` of
// the release, with an empty cache, takes X from the release's package archive and is
// byte-identical. A second version sharing the packages stores each .deb once.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debPath } from '../../../image/build/stages/fetch.js';
import type { Lock } from '../../../pipeline/build/lock.js';
import { freshDates, TestAptRepo, type TestDeb } from '../../helpers/apt-repo.js';
import { MINIMAL, recipeCopy, seedDebs, small } from '../../helpers/build.js';
import { run } from '../../helpers/cli.js';

const SLOW = process.env['NODEIMG_SLOW'] === '1';

let dir: string;
let repo: TestAptRepo;
let committed: Lock;
let recipe: string;
let keyPem: string;
let keyPub: string;
let store: string;
let root: string;

beforeAll(async () => {
  if (!SLOW) return;
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-mirror-moved-'));
  repo = await TestAptRepo.create();
  // version X: the real .debs the example locks, plus a linux-image-amd64 metapackage pointing at
  // the real kernel package (the real metapackage is not in the test cache)
  const seed = join(dir, 'seed');
  await seedDebs(seed);
  committed = JSON.parse(await readFile(join(MINIMAL, 'nodeimg.lock.json'), 'utf8')) as Lock;
  const kernel = committed.packages.find((p) => p.requested === 'linux-image-amd64') as Lock['packages'][0];
  const x: TestDeb[] = committed.packages.map((p) => ({
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    section: p.section,
    priority: p.priority,
    file: debPath(join(seed, 'debs'), p.sha256),
  }));
  x.push({
    name: 'linux-image-amd64',
    version: kernel.version,
    section: 'kernel',
    depends: `${kernel.name} (= ${kernel.version})`,
  });
  await repo.publish(x, freshDates());
  recipe = await recipeCopy(join(dir, 'recipe'), small);
  const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  keyPem = join(dir, 'key.pem');
  keyPub = join(dir, 'key.pub');
  await writeFile(keyPem, k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  await writeFile(keyPub, k.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  store = join(dir, 'store');
}, 120_000);

afterAll(async () => {
  await repo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const releaseArgs = (version: string, cache: string) => [
  'release',
  recipe,
  '--version',
  version,
  '--store',
  `dir:${store}`,
  '--key',
  keyPem,
  '--log',
  `dir:${join(dir, 'tlog')}`,
  '--cache',
  cache,
  '--keyring',
  repo.keyring,
  '-o',
  join(dir, `out-${version}`),
  '--json',
];

describe.skipIf(!SLOW)('a release outlives its mirror (issue 12)', () => {
  it('locks X from the signed loopback repository: the same .debs the example pins, with provenance', async () => {
    const cache = join(dir, 'cache');
    const r = await run([
      'lock',
      recipe,
      '--source',
      `deb ${repo.url} nodeimg-test main`,
      '--keyring',
      repo.keyring,
      '--cache',
      cache,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lock = JSON.parse(await readFile(join(recipe, 'nodeimg.lock.json'), 'utf8')) as Lock;
    expect(lock.packages.map((p) => [p.requested, p.name, p.version, p.sha256])).toEqual(
      committed.packages.map((p) => [p.requested, p.name, p.version, p.sha256]),
    );
    expect(lock.packages.every((p) => p.release?.suite === 'nodeimg-test')).toBe(true);
  }, 120_000);

  it('releases X with its package archive, provenance and SBOM', async () => {
    const r = await run(releaseArgs('v1.0.0', join(dir, 'cache')));
    expect(r.code, r.stderr).toBe(0);
    const pool = await readdir(join(store, 'packages', 'sha256'));
    expect(pool.sort()).toEqual(committed.packages.map((p) => p.sha256).sort());
    const tr = await run(['log', 'trusted-root', '--log', `dir:${join(dir, 'tlog')}`]);
    root = join(dir, 'trusted_root.json');
    await writeFile(root, tr.stdout);
  }, 900_000);

  it('after the mirror moved to X+1, reproduce takes X from the archive and is identical', async () => {
    await repo.publish(
      [
        { name: 'busybox-static', version: '1:1.35.0-4+deb12u1+b9', section: 'shells' },
        {
          name: 'linux-image-amd64',
          version: '6.1.999-1',
          depends: 'linux-image-6.1.0-99-amd64 (= 6.1.999-1)',
        },
        { name: 'linux-image-6.1.0-99-amd64', version: '6.1.999-1', section: 'kernel' },
        { name: 'systemd-boot-efi', version: '252.99-1~deb12u9', section: 'admin' },
      ],
      freshDates(),
    );
    for (const p of committed.packages) {
      const gone = await fetch(`${repo.url}/${p.filename}`);
      expect(gone.status).toBe(404);
    }
    const asked = repo.requests.length;
    const work = join(dir, 'work');
    await mkdir(work);
    const r = await run([
      'reproduce',
      '--version',
      'v1.0.0',
      '--store',
      `dir:${store}`,
      '--key',
      keyPub,
      '--trusted-root',
      root,
      '--offline',
      '--state',
      join(dir, 'state.json'),
      '--work',
      work,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { reproducible: boolean };
    expect(report.reproducible).toBe(true);
    // every .deb came from the release's archive: reproduce did not even ask the moved mirror
    expect(repo.requests.slice(asked).filter((q) => q.includes('/pool/'))).toEqual([]);
  }, 900_000);

  it('a second version sharing the packages stores each .deb once', async () => {
    const r = await run(releaseArgs('v1.0.1', join(dir, 'cache')));
    expect(r.code, r.stderr).toBe(0);
    const pool = await readdir(join(store, 'packages', 'sha256'));
    expect(pool.length).toBe(committed.packages.length);
    const summary = JSON.parse(r.stdout) as { packages?: { uploadedBytes: number } };
    expect(summary.packages?.uploadedBytes).toBe(0);
  }, 900_000);
});
