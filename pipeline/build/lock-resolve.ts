// How `nodeimg lock` resolves a recipe's packages (issue 12 §1). The default is authenticated: each
// apt source's InRelease is fetched from the mirror and its OpenPGP signature checked against the
// distribution keyring with gpgv, the Packages indexes are checked against the Release's hashes,
// the recipe's packages (and the root file system's closure that mmdebstrap resolves) are looked up
// in those signed indexes, and every .deb is downloaded into the build cache and checked against
// its signed Packages entry (size and sha256). Each lock entry records the InRelease that vouched
// for it (`release`: suite, sha256, Date); the InRelease and index bytes stay in the cache's
// metadata folder, from which `nodeimg release` archives them. Any broken link refuses the lock with
// its own PROVENANCE_* code, and nothing is written.
//
// `--host-apt` keeps the older way: apt-cache on the host's (apt-authenticated) indexes, no download
// and no provenance in the lock.
import type { Clock } from '../ports.js';
import { NodeimgError } from '../errors.js';
import {
  authenticateSources,
  fetchDeb,
  loadKeyring,
  locatePackage,
  provenanceOf,
  resolvePackages,
  type AuthenticatedSuite,
  type HttpOptions,
} from '../../image/build/apt-archive/index.js';
import { aptCodenames, resolvePackage, type LockedPackage } from '../../image/build/stages/apt.js';
import { getRootfsLocker } from './registry.js';
import type { Recipe } from './recipe.js';
import './rootfs-locker.js'; // registers the root file system locker (registry.ts)

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Debian's own mirrors for a suite: main, -updates and -security (sid has neither). Pure. */
export function defaultSources(suite: string): string[] {
  if (suite === 'sid' || suite === 'unstable' || suite === 'experimental')
    return [`deb http://deb.debian.org/debian ${suite} main`];
  return [
    `deb http://deb.debian.org/debian ${suite} main`,
    `deb http://deb.debian.org/debian ${suite}-updates main`,
    `deb http://deb.debian.org/debian-security ${suite}-security main`,
  ];
}

export interface AuthenticatedLockOptions {
  readonly sources: readonly string[];
  /** An OpenPGP keyring file (binary or armoured), default debian-archive-keyring. */
  readonly keyring: string;
  readonly cwd: string;
  /** The cache's .deb store (<dir>/sha256/<hex>.deb) and metadata folder. */
  readonly debsDir: string;
  readonly metaDir: string;
  readonly clock: Clock;
  readonly http?: HttpOptions;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

function sortByName<T extends { readonly name: string }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The recipe's packages, authenticated, downloaded and checked. */
export async function resolveAuthenticated(
  recipe: Recipe,
  opts: AuthenticatedLockOptions,
): Promise<LockedPackage[]> {
  const say = opts.progress ?? (() => undefined);
  const keyring = await loadKeyring(opts.keyring, opts.cwd);
  const suites: AuthenticatedSuite[] = await authenticateSources(opts.sources, {
    architecture: recipe.distribution.architecture,
    keyring,
    clock: opts.clock,
    metaDir: opts.metaDir,
    ...(opts.http?.fetch === undefined ? {} : { fetch: opts.http.fetch }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  for (const s of suites)
    say(
      `${s.mirror} ${s.suite}: InRelease ${s.inRelease.sha256.slice(0, 16)}… of ${new Date(s.release.date).toISOString()} signed by ${s.signers.map((g) => (g.fingerprint ?? g.keyId ?? '?').slice(-16)).join(', ')}; ${s.indexes.length} index(es) checked`,
    );
  const packages: LockedPackage[] = resolvePackages(suites, recipe.packages).map(provenanceOf);
  if (recipe.rootfs) {
    const locker = getRootfsLocker();
    if (!locker) throw new NodeimgError('INTERNAL', 'no root file system locker is registered');
    const have = new Set(packages.map((p) => p.name));
    const rootfsOpts = {
      debsDir: opts.debsDir,
      mirrors: opts.sources,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    for (const p of await locker(recipe, recipe.rootfs, rootfsOpts)) {
      if (have.has(p.name)) continue;
      // mmdebstrap resolved the closure; each of its .debs must be in the signed indexes as it is
      const located = provenanceOf(locatePackage(suites, p, p.requested));
      const { requested: _ignored, ...rest } = located;
      packages.push(p.requested === undefined ? rest : { ...rest, requested: p.requested });
      have.add(p.name);
    }
  }
  let bytes = 0;
  let downloaded = 0;
  for (const p of sortByName(packages)) {
    opts.signal?.throwIfAborted();
    const got = await fetchDeb(p, p.url, opts.debsDir, {
      ...(opts.http ?? {}),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    if (got === undefined)
      throw new NodeimgError('IO_NOT_FOUND', `${p.url}: the mirror does not serve ${p.name} ${p.version}`, {
        hint: 'the signed index lists it but the pool does not have it; try again later or another mirror',
      });
    if (got.downloaded) {
      downloaded += 1;
      bytes += p.size;
    }
  }
  say(
    `${packages.length} packages checked against their signed Packages entries (${downloaded} downloaded, ${(bytes / 1e6).toFixed(1)} MB)`,
  );
  return packages;
}

/** The older lock: the host's apt indexes (apt-cache show, apt-get --print-uris), no provenance. */
export async function resolveHostApt(
  recipe: Recipe,
  debsDir: string,
  signal?: AbortSignal,
): Promise<LockedPackage[]> {
  const codenames = await aptCodenames(recipe.distribution.architecture);
  if (!codenames.includes(recipe.distribution.suite))
    throw new NodeimgError(
      'USAGE',
      `the host's apt indexes are for ${codenames.join(', ') || 'nothing'} (${recipe.distribution.architecture}), not ${recipe.distribution.suite}`,
      {
        hint: `lock on a ${recipe.distribution.suite} host, or add ${recipe.distribution.suite}'s sources and run apt-get update`,
      },
    );
  const resolved: LockedPackage[] = [];
  for (const spec of recipe.packages) resolved.push(await resolvePackage(spec, signal));
  if (recipe.rootfs) {
    const locker = getRootfsLocker();
    if (!locker) throw new NodeimgError('INTERNAL', 'no root file system locker is registered');
    const have = new Set(resolved.map((p) => p.name));
    const locked = await locker(recipe, recipe.rootfs, {
      debsDir,
      ...(signal === undefined ? {} : { signal }),
    });
    for (const p of locked) if (!have.has(p.name)) resolved.push(p);
  }
  return resolved;
}
