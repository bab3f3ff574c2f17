// The release side of issue 12 with the real pieces and no image build: packages locked from a
// signed loopback repository into a build cache (as `nodeimg lock` keeps them), archived into a
// DirStore's shared pool and published with packages.json and sbom.spdx.json, which the signed
// info.json lists; `nodeimg fetch-measurements --packages --verify-packages` accepts the release and
// refuses a changed document or a missing pool object; a second version sharing packages sends no
// bytes for them; missing metadata and partial provenance are refused before anything is written;
// a rebuild takes the locked .debs from the release's archive after the mirror moved on.
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring, type Keyring, type PackageProvenance } from '../../../image/build/apt-archive/index.js';
import { KeySigner } from '../../../pipeline/adapters/key-signer.js';
import { LocalLog } from '../../../pipeline/adapters/local-log/local-log.js';
import { DirStore } from '../../../pipeline/adapters/store/dir-store.js';
import { StageCache } from '../../../pipeline/build/cache.js';
import type { Lock } from '../../../pipeline/build/lock.js';
import type { NodeimgError } from '../../../pipeline/errors.js';
import type { ReleaseInfoDocument } from '../../../pipeline/release/documents.js';
import { coordinates } from '../../../pipeline/release/names.js';
import {
  checkPackageMetadata,
  lockProvenance,
  prefetchFromArchive,
  releasePackageArchive,
} from '../../../pipeline/release/packages.js';
import { run } from '../../helpers/cli.js';
import { TestAptRepo, type TestDeb } from '../../helpers/apt-repo.js';
import { lockFromRepo, releaseWithPackages, writeDisk } from '../../helpers/package-release.js';
import { FIXED_CLOCK } from '../../helpers/release-store.js';

const ALPHA_X: TestDeb = { name: 'alpha', version: '1.0-1', filler: 30_000 };
const ALPHA_X1: TestDeb = { name: 'alpha', version: '1.1-1', filler: 30_000 };
const SHARED: TestDeb[] = [
  { name: 'beta', version: '2:0.9~rc1-3', architecture: 'all', section: 'admin', priority: 'required' },
  { name: 'gamma', version: '3.1-1', licence: 'GPL-2+ or Artistic', filler: 10_000 },
];
const NAMES = ['alpha', 'beta', 'gamma'];

let repo: TestAptRepo;
let keyring: Keyring;
let tmp: string;
let cache: StageCache;
let log: LocalLog;
let signer: KeySigner;
let keyPub: string;
let trustedRoot: string;
let disk: string;
let store: DirStore;
let v1: PackageProvenance[];

const storeDir = () => join(tmp, 'store');
const info = async (s: DirStore, version: string): Promise<ReleaseInfoDocument> =>
  JSON.parse(
    Buffer.from((await s.get(`v2/ref/-/stream/stable/${version}/image/info.json`)) ?? []).toString('utf8'),
  ) as ReleaseInfoDocument;

function fetchArgs(dir: string, version: string, extra: string[] = []): string[] {
  return [
    'fetch-measurements',
    '--version',
    version,
    '--store',
    `dir:${dir}`,
    '--key',
    keyPub,
    '--trusted-root',
    trustedRoot,
    '--offline',
    '--state',
    join(tmp, `state-${Math.random()}.json`),
    '--json',
    ...extra,
  ];
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-release-packages-'));
  repo = await TestAptRepo.create();
  keyring = await loadKeyring(repo.keyring);
  cache = new StageCache(join(tmp, 'cache'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  signer = KeySigner.fromPem(pem, 'test', {});
  keyPub = join(tmp, 'key.pub');
  await writeFile(keyPub, pair.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  log = await LocalLog.open(join(tmp, 'tlog'), FIXED_CLOCK);
  trustedRoot = join(tmp, 'trusted_root.json');
  await writeFile(trustedRoot, `${JSON.stringify(log.trustedRoot(), null, 2)}\n`);
  disk = await writeDisk(tmp);
  store = new DirStore(storeDir());
  v1 = await lockFromRepo(repo, keyring, [ALPHA_X, ...SHARED], NAMES, cache);
}, 60_000);

afterAll(async () => {
  await log?.close();
  await repo?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('nodeimg release: package archive and documents', () => {
  it('stores the .debs, InRelease and index in the pool, and packages.json + sbom.spdx.json listed in info.json', async () => {
    const { archived, published } = await releaseWithPackages({
      store,
      log,
      signer,
      coords: coordinates('v1.0.0'),
      packages: v1,
      cache,
      keyring,
      artefact: disk,
    });
    const debBytes = v1.reduce((n, p) => n + p.size, 0);
    expect(archived.archive.debBytes).toBe(debBytes);
    // first release: everything sent once, the .debs as they are (no overhead)
    const sentDebs = archived.archive.objects.filter((o) => o.kind === 'deb' && o.result === 'created');
    expect(sentDebs.reduce((n, o) => n + o.size, 0)).toBe(debBytes);
    for (const p of v1) expect((await store.head(`packages/sha256/${p.sha256}`))?.size).toBe(p.size);
    expect(await store.list('packages/inrelease/sha256/')).toHaveLength(1);
    expect(await store.list('packages/index/sha256/')).toHaveLength(1);

    const i = await info(store, 'v1.0.0');
    expect(i.packages?.count).toBe(3);
    expect(i.packages?.provenance.key).toBe('v2/ref/-/stream/stable/v1.0.0/image/packages.json');
    expect(i.packages?.sbom.key).toBe('v2/ref/-/stream/stable/v1.0.0/image/sbom.spdx.json');
    expect(published.packages).toEqual(i.packages);
    const prov = Buffer.from((await store.get(i.packages?.provenance.key ?? '')) ?? []).toString('utf8');
    expect(prov).toBe(archived.documents.provenanceText);
    const sbom = JSON.parse(
      Buffer.from((await store.get(i.packages?.sbom.key ?? '')) ?? []).toString('utf8'),
    ) as { packages: { name: string; licenseDeclared: string; checksums?: { checksumValue: string }[] }[] };
    expect(sbom.packages.find((p) => p.name === 'gamma')?.licenseDeclared).toBe(
      '(GPL-2.0-or-later OR Artistic-1.0) AND LicenseRef-deb-public-domain',
    );
    expect(
      sbom.packages.filter((p) => p.name !== 'sample').map((p) => p.checksums?.[0]?.checksumValue),
    ).toEqual(expect.arrayContaining(v1.map((p) => p.sha256)));
  });

  it('fetch-measurements --packages --verify-packages accepts it; a changed packages.json or a lost .deb is refused', async () => {
    const ok = await run(
      fetchArgs(storeDir(), 'v1.0.0', [
        '--packages',
        '--verify-packages',
        '--deep',
        '--keyring',
        repo.keyring,
      ]),
    );
    expect(ok.code, ok.stderr).toBe(0);
    const s = JSON.parse(ok.stdout) as {
      packages: {
        count: number;
        archive: { packages: number; releases: number; debBytes: number; deep: boolean };
      };
    };
    expect(s.packages.count).toBe(3);
    expect(s.packages.archive).toEqual({
      packages: 3,
      releases: 1,
      debBytes: v1.reduce((n, p) => n + p.size, 0),
      deep: true,
    });
    // another keyring: the archived InRelease does not verify
    const other = await run(
      fetchArgs(storeDir(), 'v1.0.0', ['--verify-packages', '--keyring', repo.otherKeyring]),
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('PROVENANCE_SIGNATURE');

    // packages.json changed after release: the sha256 the signed info.json lists catches it
    const changed = join(tmp, 'store-changed');
    await cp(storeDir(), changed, { recursive: true });
    const key = 'v2/ref/-/stream/stable/v1.0.0/image/packages.json';
    const edited = (await readFile(join(changed, key), 'utf8')).replace(
      '"priority": "required"',
      '"priority": "extra"',
    );
    await writeFile(join(changed, key), edited);
    const bad = await run(fetchArgs(changed, 'v1.0.0', ['--packages']));
    expect(bad.code, bad.stderr).toBe(10); // VERIFY_DIGEST_MISMATCH
    // without --packages the verifier does not look at it (measurements.json is unchanged)
    expect((await run(fetchArgs(changed, 'v1.0.0'))).code).toBe(0);

    // a pool .deb lost: --packages alone (documents) passes, --verify-packages does not
    const lost = join(tmp, 'store-lost');
    await cp(storeDir(), lost, { recursive: true });
    await unlink(join(lost, 'packages/sha256', v1[0]?.sha256 ?? ''));
    expect((await run(fetchArgs(lost, 'v1.0.0', ['--packages']))).code).toBe(0);
    const gone = await run(fetchArgs(lost, 'v1.0.0', ['--verify-packages', '--keyring', repo.keyring]));
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('missing from the package archive');
  }, 60_000);

  it('a second version sharing the packages sends 0 bytes for them and stores each .deb once', async () => {
    const same = await releaseWithPackages({
      store,
      log,
      signer,
      coords: coordinates('v1.1.0'),
      packages: v1,
      cache,
      keyring,
      artefact: disk,
    });
    expect(same.archived.archive.uploadedBytes).toBe(0);
    expect(same.archived.archive.objects.every((o) => o.result === 'present')).toBe(true);
    expect(same.published.packages?.provenance.sha256).toBe(
      (await info(store, 'v1.0.0')).packages?.provenance.sha256,
    );

    // the mirror moves on: alpha X+1; beta and gamma unchanged
    const v2 = await lockFromRepo(repo, keyring, [ALPHA_X1, ...SHARED], NAMES, cache);
    const next = await releaseWithPackages({
      store,
      log,
      signer,
      coords: coordinates('v1.2.0'),
      packages: v2,
      cache,
      keyring,
      artefact: disk,
    });
    const sentDebs = next.archived.archive.objects.filter((o) => o.kind === 'deb' && o.result === 'created');
    const alpha = v2.find((p) => p.name === 'alpha') as PackageProvenance;
    expect(sentDebs.map((o) => o.key)).toEqual([`packages/sha256/${alpha.sha256}`]);
    expect(sentDebs[0]?.size).toBe(alpha.size);
    expect(await store.list('packages/sha256/')).toHaveLength(4); // alpha X, alpha X+1, beta, gamma
    expect(await store.list('packages/inrelease/sha256/')).toHaveLength(2);
    const ok = await run(fetchArgs(storeDir(), 'v1.2.0', ['--verify-packages', '--keyring', repo.keyring]));
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);

  it('a rebuild takes the locked .debs from the release archive after the mirror moved on', async () => {
    const i = await info(store, 'v1.0.0');
    const archive = releasePackageArchive(store, i);
    expect(archive).toBe(store);
    const { packages: _listed, ...bare } = i;
    expect(releasePackageArchive(store, bare)).toBeUndefined();
    const debs = join(tmp, 'rebuild-debs');
    const before = repo.requests.length;
    const got = await prefetchFromArchive(store, v1, debs);
    expect(got).toEqual({ fromArchive: 3, cached: 0, left: 0 });
    expect(repo.requests.slice(before)).toEqual([]);
    for (const p of v1)
      expect(
        Buffer.compare(
          await readFile(join(debs, 'sha256', `${p.sha256}.deb`)),
          Buffer.from(
            await repo.deb(p.name === 'alpha' ? ALPHA_X : (SHARED.find((d) => d.name === p.name) as TestDeb)),
          ),
        ),
      ).toBe(0);
    // a second run finds them cached
    expect(await prefetchFromArchive(store, v1, debs)).toEqual({ fromArchive: 0, cached: 3, left: 0 });
  });

  it('refuses partial provenance and missing metadata before writing anything', async () => {
    const lock: Lock = {
      lock: 1,
      distribution: { name: 'debian', suite: 'nodeimg-test', architecture: 'amd64' },
      packages: v1,
    };
    expect(lockProvenance(lock, 'nodeimg.lock.json').kind).toBe('all');
    const none = { ...lock, packages: v1.map(({ release: _r, ...p }) => p) };
    expect(lockProvenance(none, 'nodeimg.lock.json').kind).toBe('none');
    const partial = { ...lock, packages: [...none.packages.slice(0, 1), ...v1.slice(1)] };
    let err: unknown;
    try {
      lockProvenance(partial, 'nodeimg.lock.json');
    } catch (e) {
      err = e;
    }
    expect((err as NodeimgError).code).toBe('USAGE');
    expect((err as Error).message).toMatch(
      /provenance \(release\) for 2 of 3 packages; 1 have none: alpha=1\.0-1/,
    );

    const empty = new StageCache(join(tmp, 'empty-cache'));
    const e2 = await checkPackageMetadata({
      packages: v1,
      keyring,
      architecture: 'amd64',
      cacheDir: empty.root,
      debsDir: empty.debsDir,
      metaDir: empty.metaDir,
      recipe: 'examples/x',
    }).catch((e: unknown) => e);
    expect((e2 as NodeimgError).code).toBe('IO_NOT_FOUND');
    expect((e2 as Error).message).toContain(v1[0]?.release.inRelease);
    expect((e2 as NodeimgError).hint).toContain(`nodeimg lock examples/x --cache ${empty.root}`);
    // and the archive step with that cache writes nothing
    const fresh = new DirStore(join(tmp, 'store-fresh'));
    const e3 = await releaseWithPackages({
      store: fresh,
      log,
      signer,
      coords: coordinates('v9.0.0'),
      packages: v1,
      cache: empty,
      keyring,
      artefact: disk,
    }).catch((e: unknown) => e);
    expect((e3 as NodeimgError).code).toBe('IO_NOT_FOUND');
    expect(await fresh.list('')).toEqual([]);
  });
});
