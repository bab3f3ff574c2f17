// A release with package provenance, made from the real pieces without an image build: packages
// locked from the signed loopback repository (test/helpers/apt-repo.ts) exactly as `nodeimg lock`
// does it (authenticateSuite keeps the InRelease and Packages bytes in the cache's apt-meta folder
// with putMeta, each .deb is fetched into the cache's debs folder), then archiveReleasePackages and
// publishRelease as `nodeimg release` runs them after its build.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  authenticateSuite,
  fetchDeb,
  provenanceOf,
  resolvePackages,
  type Keyring,
  type PackageProvenance,
} from '../../image/build/apt-archive/index.js';
import type { KeySigner } from '../../pipeline/adapters/key-signer.js';
import type { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import type { StageCache } from '../../pipeline/build/cache.js';
import type { ObjectStore } from '../../pipeline/ports.js';
import { canonicalText } from '../../pipeline/release/canonical-text.js';
import type { ReleaseCoordinates } from '../../pipeline/release/names.js';
import { archiveReleasePackages, type ArchivedRelease } from '../../pipeline/release/packages.js';
import { publishRelease, type PublishedRelease } from '../../pipeline/release/publish.js';
import { sha256Hex } from '../../pipeline/release/version-index.js';
import { REPO_CLOCK, type TestAptRepo, type TestDeb } from './apt-repo.js';
import { sampleMeasurements } from './release-store.js';

/** Publishes `debs` on the repository and locks `names` from it into `cache` (as nodeimg lock). */
export async function lockFromRepo(
  repo: TestAptRepo,
  keyring: Keyring,
  debs: readonly TestDeb[],
  names: readonly string[],
  cache: StageCache,
): Promise<PackageProvenance[]> {
  await repo.publish(debs);
  await cache.init();
  const suite = await authenticateSuite({
    mirror: repo.url,
    suite: 'nodeimg-test',
    architecture: 'amd64',
    keyring,
    clock: REPO_CLOCK,
    metaDir: cache.metaDir,
  });
  const locked = resolvePackages([suite], [...names]).map(provenanceOf);
  for (const p of locked) await fetchDeb(p, p.url, cache.debsDir);
  return locked;
}

export interface PackageReleaseInput {
  readonly store: ObjectStore;
  readonly log: LocalLog;
  readonly signer: KeySigner;
  readonly coords: ReleaseCoordinates;
  readonly packages: readonly PackageProvenance[];
  readonly cache: StageCache;
  readonly keyring: Keyring;
  /** A small file published as disk.raw. */
  readonly artefact: string;
}

export const DISK = Buffer.alloc(32 * 1024, 5);

export async function writeDisk(dir: string): Promise<string> {
  const path = join(dir, 'disk.raw');
  await writeFile(path, DISK);
  return path;
}

/** archive (pool objects) then publish (packages.json, sbom.spdx.json, info.json, ...). */
export async function releaseWithPackages(
  r: PackageReleaseInput,
): Promise<{ archived: ArchivedRelease; published: PublishedRelease }> {
  const archived = await archiveReleasePackages(r.store, {
    packages: r.packages,
    keyring: r.keyring,
    architecture: 'amd64',
    cacheDir: r.cache.root,
    debsDir: r.cache.debsDir,
    metaDir: r.cache.metaDir,
    recipe: 'sample',
    name: 'sample',
    version: r.coords.version,
    sourceDateEpoch: 1_700_000_000,
    tool: 'nodeimg-test',
    imageSha256: sha256Hex(DISK),
    urls: new Map(r.packages.map((p) => [p.sha256, p.url])),
  });
  const published = await publishRelease({
    store: r.store,
    coords: r.coords,
    name: 'sample',
    artefacts: [{ name: 'disk.raw', path: r.artefact, sha256: sha256Hex(DISK), size: DISK.length }],
    manifestText: canonicalText({ recipe: 'sample', version: r.coords.version }),
    measurements: sampleMeasurements(r.coords.version),
    packages: archived.documents,
    signer: r.signer,
    log: r.log,
  });
  return { archived, published };
}
