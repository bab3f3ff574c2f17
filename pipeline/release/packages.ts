// The package half of `nodeimg release` (issue 12): which lock entries carry provenance, a check
// before anything is built or published that the build cache still holds the InRelease files and
// Packages indexes `nodeimg lock` verified, and, after the build, the package archive (the .debs,
// InRelease files and indexes in the store's shared pool, pipeline/packages/archive.ts) plus the
// two documents publishRelease then stores next to info.json: packages.json (provenance.ts) and
// sbom.spdx.json (sbom.ts, licences from each .deb's copyright file). Pool objects are written
// before any document that names them, and every write is put-if-absent, so a failed release
// re-run converges like the rest of publishing (publish.ts).
import type { Lock } from '../build/lock.js';
import { NodeimgError, UsageError } from '../errors.js';
import type { ObjectReader, ObjectStore } from '../ports.js';
import {
  archivePackages,
  fetchFromArchive,
  type ArchiveResult,
  type ArchivedObject,
} from '../packages/archive.js';
import { cachedDeb, debLabel, type DebRef } from '../../image/build/apt-archive/deb.js';
import { readLicences } from '../packages/licences.js';
import { traceProvenance, type TracedPackage } from '../packages/provenance.js';
import { spdxSbom } from '../packages/sbom.js';
import { getMeta } from '../../image/build/apt-archive/files.js';
import type { Keyring } from '../../image/build/apt-archive/gpgv.js';
import type { PublishPackages } from './publish.js';
import type { ReleaseInfoDocument } from './documents.js';

export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export const NO_PROVENANCE =
  'no package provenance was archived: the lock has none (it was made from the host apt indexes, or before nodeimg lock authenticated packages); run `nodeimg lock` against the mirror to lock with provenance';

/** What a lock says about where its packages came from. */
export type LockProvenance =
  { readonly kind: 'all'; readonly packages: readonly TracedPackage[] } | { readonly kind: 'none' };

/** Every entry has `release` (archive them), none has (say so), or some have: refused (USAGE). */
export function lockProvenance(lock: Lock, lockName: string): LockProvenance {
  const without = lock.packages.filter((p) => p.release === undefined);
  if (without.length === lock.packages.length) return { kind: 'none' };
  if (without.length === 0) return { kind: 'all', packages: lock.packages as readonly TracedPackage[] };
  const names = without.map((p) => `${p.name}=${p.version}`);
  throw new UsageError(
    `${lockName} has provenance (release) for ${lock.packages.length - without.length} of ${lock.packages.length} packages; ${without.length} have none: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`,
    {
      hint: 'a release archives the provenance of every package or of none: lock again with `nodeimg lock` (all from the signed mirror), or release with --no-package-archive',
    },
  );
}

export interface PackageSources {
  readonly packages: readonly TracedPackage[];
  readonly keyring: Keyring;
  readonly architecture: string;
  /** The build cache (for messages and hints), its debs/ and apt-meta/ folders. */
  readonly cacheDir: string;
  readonly debsDir: string;
  readonly metaDir: string;
  /** The recipe argument, for the `nodeimg lock` hint. */
  readonly recipe: string;
}

/**
 * Traces every package's chain from the metadata cache (gpgv, Release hashes, stanzas) without
 * writing anything: run before the build so a release whose metadata is gone stops at once.
 */
export async function checkPackageMetadata(src: PackageSources): Promise<void> {
  try {
    await traceProvenance(src.packages, (_kind, sha) => getMeta(src.metaDir, sha), {
      keyring: src.keyring,
      architecture: src.architecture,
    });
  } catch (err) {
    if (err instanceof NodeimgError && err.code === 'IO_NOT_FOUND')
      throw new NodeimgError(
        'IO_NOT_FOUND',
        `the build cache ${src.cacheDir} lacks what the lock's provenance needs: ${err.message}; nothing was published`,
        {
          cause: err,
          hint: `run \`nodeimg lock ${src.recipe} --cache ${src.cacheDir}\` on this machine (it keeps the InRelease and Packages files it verified in ${src.metaDir}), then release again; or release with --no-package-archive`,
        },
      );
    throw err;
  }
}

export interface ArchiveReleaseInput extends PackageSources {
  /** The recipe's name and the release version (SBOM name and namespace). */
  readonly name: string;
  readonly version: string;
  readonly sourceDateEpoch: number;
  /** "nodeimg-<version>". */
  readonly tool: string;
  /** sha256 of disk.raw, when the build made one (the SBOM's image package). */
  readonly imageSha256?: string;
  /** lock entries' mirror URLs (SBOM downloadLocation), by sha256. */
  readonly urls?: ReadonlyMap<string, string>;
  readonly onObject?: (o: ArchivedObject) => void;
}

export interface ArchivedRelease {
  readonly archive: ArchiveResult;
  /** What publishRelease stores as packages.json and sbom.spdx.json. */
  readonly documents: PublishPackages;
}

/** Stores the pool objects, then makes the provenance document and the SBOM (not yet published). */
export async function archiveReleasePackages(
  store: ObjectStore,
  input: ArchiveReleaseInput,
): Promise<ArchivedRelease> {
  const archive = await archivePackages(store, {
    packages: input.packages,
    debDir: input.debsDir,
    metaDir: input.metaDir,
    keyring: input.keyring,
    architecture: input.architecture,
    ...(input.onObject ? { onObject: input.onObject } : {}),
  });
  const licences = await readLicences(input.packages, input.debsDir);
  const sbom = spdxSbom({
    name: input.name,
    version: input.version,
    sourceDateEpoch: input.sourceDateEpoch,
    tool: input.tool,
    ...(input.imageSha256 === undefined ? {} : { imageSha256: input.imageSha256 }),
    packages: input.packages.map((p) => {
      const copyright = licences.get(p.sha256);
      const url = input.urls?.get(p.sha256);
      return {
        name: p.name,
        version: p.version,
        architecture: p.architecture,
        sha256: p.sha256,
        ...(url === undefined ? {} : { url }),
        ...(copyright === undefined ? {} : { copyright }),
      };
    }),
  });
  return {
    archive,
    documents: {
      provenanceText: archive.provenance.text,
      sbomText: sbom.text,
      count: archive.provenance.document.packages.length,
    },
  };
}

/**
 * The package archive a rebuild of this release should fetch locked .debs from (fetch-locked.ts,
 * the build's fetch stage): the release store itself when its signed info.json lists packages.json,
 * otherwise undefined (the release archived no packages; only the mirror can serve them). Every
 * .deb taken from it is still checked against the lock's sha256.
 */
export function releasePackageArchive<R extends Pick<ObjectReader, 'ref' | 'getStream'>>(
  store: R,
  info: ReleaseInfoDocument,
): R | undefined {
  return info.packages === undefined ? undefined : store;
}

/**
 * Puts every locked .deb the cache lacks into it from the release's package archive, each checked
 * against the lock's size and sha256 while it streams (fetchFromArchive). One the archive lacks or
 * holds damaged is left for the build's fetch stage (the mirror), which checks it the same way.
 */
export async function prefetchFromArchive(
  archive: Pick<ObjectReader, 'ref' | 'getStream'>,
  packages: readonly DebRef[],
  debsDir: string,
  note: (line: string) => void = () => undefined,
): Promise<{ readonly fromArchive: number; readonly cached: number; readonly left: number }> {
  let fromArchive = 0;
  let cached = 0;
  let left = 0;
  for (const p of packages) {
    if ((await cachedDeb(debsDir, p)) !== undefined) {
      cached++;
      continue;
    }
    try {
      if ((await fetchFromArchive(archive, p, debsDir)) !== undefined) fromArchive++;
      else left++;
    } catch (err) {
      if (!(err instanceof NodeimgError)) throw err;
      note(`package archive: ${debLabel(p)} not used: ${err.message}`);
      left++;
    }
  }
  note(
    `package archive ${archive.ref}: ${fromArchive} of ${packages.length} locked .debs taken from it (sha256 verified), ${cached} already cached, ${left} left to the mirror`,
  );
  return { fromArchive, cached, left };
}
