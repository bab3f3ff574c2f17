// The package archive of a release (issue 12 §2-3) with the real pieces: a signed repository on
// 127.0.0.1 (test/helpers/apt-repo.ts), authenticateSuite, and a DirStore. Two releases that
// share packages store each .deb once; after the mirror moves from version X to X+1, the first
// release's packages come from the archive, byte-identical and verified; the archived chain
// re-checks offline, and damage to it is caught.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticateSuite,
  fetchDeb,
  loadKeyring,
  provenanceOf,
  resolvePackages,
  type Keyring,
  type PackageProvenance,
} from '../../../image/build/apt-archive/index.js';
import type { NodeimgError } from '../../../image/formats/errors.js';
import { DirStore } from '../../../pipeline/adapters/store/dir-store.js';
import {
  archivePackages,
  fetchLocked,
  parseProvenanceDocument,
  verifyPackageArchive,
} from '../../../pipeline/packages/index.js';
import { REPO_CLOCK, TestAptRepo, type TestDeb } from '../../helpers/apt-repo.js';

const ALPHA_X: TestDeb = { name: 'alpha', version: '1.0-1', filler: 20_000 };
const ALPHA_X1: TestDeb = { name: 'alpha', version: '1.1-1', filler: 20_000 };
const SHARED: TestDeb[] = [
  { name: 'beta', version: '2:0.9~rc1-3', architecture: 'all', section: 'admin', priority: 'required' },
  { name: 'gamma', version: '3.1-1', licence: 'GPL-2+ or Artistic' },
];

let repo: TestAptRepo;
let keyring: Keyring;
let work: string;

beforeAll(async () => {
  repo = await TestAptRepo.create();
  keyring = await loadKeyring(repo.keyring);
  work = await mkdtemp(join(tmpdir(), 'nodeimg-archive-'));
});
afterAll(async () => {
  await repo?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `nodeimg lock` + the build's fetch, at library level: authenticated, resolved, fetched. */
async function lockAndFetch(debs: TestDeb[], debDir: string, metaDir: string): Promise<PackageProvenance[]> {
  await repo.publish(debs);
  const suite = await authenticateSuite({
    mirror: repo.url,
    suite: 'nodeimg-test',
    architecture: 'amd64',
    keyring,
    clock: REPO_CLOCK,
    metaDir,
  });
  const locked = resolvePackages([suite], ['alpha', 'beta', 'gamma']).map(provenanceOf);
  for (const p of locked) await fetchDeb(p, p.url, debDir);
  return locked;
}

describe('package archive', () => {
  let store: DirStore;
  let release1: PackageProvenance[];
  let doc1 = '';
  const debDir = () => join(work, 'debs');
  const metaDir = () => join(work, 'meta');

  it('stores each .deb once across two releases that share packages, as is (no overhead)', async () => {
    store = new DirStore(join(work, 'store'));
    release1 = await lockAndFetch([ALPHA_X, ...SHARED], debDir(), metaDir());
    expect(release1.find((p) => p.name === 'alpha')?.version).toBe('1.0-1');
    const r1 = await archivePackages(store, {
      packages: release1,
      debDir: debDir(),
      metaDir: metaDir(),
      keyring,
      architecture: 'amd64',
    });
    doc1 = r1.provenance.text;
    const debs1 = r1.objects.filter((o) => o.kind === 'deb');
    expect(debs1.map((o) => o.result)).toEqual(['created', 'created', 'created']);
    const sum = release1.reduce((n, p) => n + p.size, 0);
    expect(r1.debBytes).toBe(sum);
    expect(debs1.reduce((n, o) => n + o.size, 0)).toBe(sum); // uploaded .deb bytes = sum of sizes
    for (const p of release1) expect((await store.head(`packages/sha256/${p.sha256}`))?.size).toBe(p.size);

    // the mirror moves on: alpha X+1, beta and gamma unchanged
    const release2 = await lockAndFetch([ALPHA_X1, ...SHARED], debDir(), metaDir());
    expect(release2.find((p) => p.name === 'alpha')?.version).toBe('1.1-1');
    const r2 = await archivePackages(store, {
      packages: release2,
      debDir: debDir(),
      metaDir: metaDir(),
      keyring,
      architecture: 'amd64',
    });
    const debs2 = Object.fromEntries(
      r2.objects.filter((o) => o.kind === 'deb').map((o) => [o.key, o.result]),
    );
    expect(Object.values(debs2).sort()).toEqual(['created', 'present', 'present']);
    const sent = r2.objects.filter((o) => o.kind === 'deb' && o.result === 'created');
    expect(sent.reduce((n, o) => n + o.size, 0)).toBe(release2.find((p) => p.name === 'alpha')?.size);

    expect(await store.list('packages/sha256/')).toHaveLength(4); // alpha X, alpha X+1, beta, gamma
    expect(await store.list('packages/inrelease/sha256/')).toHaveLength(2);
    expect(await store.list('packages/index/sha256/')).toHaveLength(2);

    // archiving the same release again changes nothing (idempotent)
    const again = await archivePackages(store, {
      packages: release1,
      debDir: debDir(),
      metaDir: metaDir(),
      keyring,
      architecture: 'amd64',
    });
    expect(again.uploadedBytes).toBe(0);
    expect(again.provenance.text).toBe(doc1);
  });

  it('the provenance document quotes each package stanza and names the chain', () => {
    const doc = parseProvenanceDocument(doc1);
    expect(doc.releases).toHaveLength(1);
    expect(doc.releases[0]?.signers).toEqual([repo.archiveFingerprint]);
    expect(doc.releases[0]?.indexes.map((i) => i.path)).toEqual(['main/binary-amd64/Packages.xz']);
    const alpha = doc.packages.find((p) => p.name === 'alpha');
    expect(alpha?.stanza).toContain(`SHA256: ${alpha?.sha256}\n`);
    expect(alpha?.stanza).toMatch(/^Package: alpha\nArchitecture: amd64\nVersion: 1\.0-1\n/);
  });

  it('rebuilds release 1 after the mirror serves only X+1: X comes from the archive, byte-identical', async () => {
    // the repository now serves release 2's packages only (lockAndFetch above swapped it)
    const cache = join(work, 'reproduce-cache');
    const before = repo.requests.length;
    const sources: Record<string, string> = {};
    for (const p of release1) {
      const got = await fetchLocked(p, { cacheDir: cache, archive: store });
      sources[p.name] = got.source;
      const original = await repo.deb(
        p.name === 'alpha' ? ALPHA_X : (SHARED.find((d) => d.name === p.name) as TestDeb),
      );
      expect(Buffer.compare(await readFile(got.path), Buffer.from(original))).toBe(0);
    }
    expect(sources).toEqual({ alpha: 'archive', beta: 'archive', gamma: 'archive' });
    expect(repo.requests.slice(before)).toEqual([]); // the mirror was not asked

    // without the archive, X cannot be had any more
    const alpha = release1.find((p) => p.name === 'alpha') as PackageProvenance;
    const err = await fetchLocked(alpha, { cacheDir: join(work, 'no-archive') }).catch((e: unknown) => e);
    expect((err as NodeimgError).code).toBe('IO_NOT_FOUND');
    expect((err as Error).message).toMatch(/HTTP 404/);
    // a package the archive lacks comes from the mirror, still verified
    const empty = new DirStore(join(work, 'empty-store'));
    const beta = release1.find((p) => p.name === 'beta') as PackageProvenance;
    const fromMirror = await fetchLocked(beta, { cacheDir: join(work, 'mirror-cache'), archive: empty });
    expect(fromMirror.source).toBe('mirror');
    expect(fromMirror.skipped[0]).toMatch(/has no packages\/sha256\//);
    // the second call finds it in the cache
    expect((await fetchLocked(beta, { cacheDir: join(work, 'mirror-cache'), archive: empty })).source).toBe(
      'cache',
    );
  });

  it('re-checks the archived chain offline, and catches an edited document or a damaged .deb', async () => {
    const check = await verifyPackageArchive(store, doc1, { keyring, architecture: 'amd64', deep: true });
    expect(check).toEqual({ packages: 3, releases: 1, debBytes: release1.reduce((n, p) => n + p.size, 0) });

    const edited = doc1.replace(/"priority": "required"/, '"priority": "important"');
    expect(edited).not.toBe(doc1);
    const e1 = await verifyPackageArchive(store, edited, { keyring, architecture: 'amd64' }).catch(
      (e: unknown) => e,
    );
    expect((e1 as NodeimgError).code).toBe('PROVENANCE_INDEX_MISMATCH');

    const wrongKeyring = await loadKeyring(repo.otherKeyring);
    const e2 = await verifyPackageArchive(store, doc1, {
      keyring: wrongKeyring,
      architecture: 'amd64',
    }).catch((e: unknown) => e);
    expect((e2 as NodeimgError).code).toBe('PROVENANCE_SIGNATURE');

    const alpha = release1.find((p) => p.name === 'alpha') as PackageProvenance;
    const file = join(work, 'store', 'packages', 'sha256', alpha.sha256);
    const bytes = await readFile(file);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    await writeFile(file, bytes);
    const e3 = await verifyPackageArchive(store, doc1, { keyring, architecture: 'amd64', deep: true }).catch(
      (e: unknown) => e,
    );
    expect((e3 as NodeimgError).code).toBe('PROVENANCE_DEB_MISMATCH');
    // a damaged archive copy is not used; the mirror no longer has X: refused with the mismatch
    const e4 = await fetchLocked(alpha, { cacheDir: join(work, 'damaged'), archive: store }).catch(
      (e: unknown) => e,
    );
    expect((e4 as NodeimgError).code).toBe('PROVENANCE_DEB_MISMATCH');
  });
});
