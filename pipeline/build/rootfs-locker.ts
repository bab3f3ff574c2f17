// The RootfsLocker of `nodeimg lock` (registry.ts): resolves a recipe's /rootfs (mmdebstrap
// variant + /rootfs/packages as --include) against the Debian archive with resolveRootfsLock
// (image/build/rootfs/resolve.ts: one online mmdebstrap run recording the installed closure, pool
// URL, sha256, size, Priority and Section of every package; reproducible-build spec §2 "Pinning")
// and turns its entries into the engine's lock entries. `requested` is set only for the names the
// recipe lists in /rootfs/packages; the rest of the closure are dependencies. The downloaded .debs
// land in the build cache's content-addressed store (--cache DIR/debs/sha256, fetch.ts), so the
// first build does not download them again.
import { join } from 'node:path';
import { NodeimgError } from '../errors.js';
import { resolveRootfsLock, type LockedDeb } from '../../image/build/rootfs/index.js';
import type { LockedPackage } from '../../image/build/stages/index.js';
import { packageName } from './recipe.js';
import { registerRootfsLocker } from './registry.js';

/** The archive path (Packages' Filename: pool/...) of a pool URL. Pure. */
export function poolPath(url: string): string {
  const path = decodeURIComponent(new URL(url).pathname);
  const at = path.indexOf('/pool/');
  if (at < 0) throw new NodeimgError('TOOL_FAILED', `apt gave a URL outside a pool: ${url}`);
  return path.slice(at + 1);
}

/** An engine lock entry of a resolved .deb. Pure. */
export function lockedPackageOf(d: LockedDeb, requested: ReadonlySet<string>): LockedPackage {
  return {
    ...(requested.has(d.package) ? { requested: d.package } : {}),
    name: d.package,
    version: d.version,
    architecture: d.architecture,
    sha256: d.sha256,
    size: d.size,
    filename: poolPath(d.url),
    url: d.url,
    section: d.section,
    priority: d.priority,
  };
}

registerRootfsLocker(async (recipe, rootfs, { debsDir, signal, mirrors }) => {
  const include = (rootfs.packages ?? []).map(packageName);
  if ((rootfs.packages ?? []).some((p) => p.includes('=')))
    throw new NodeimgError('USAGE', '/rootfs/packages: a root file system package cannot pin a version', {
      hint: 'name the package only; the lock pins the version the archive has',
    });
  const lock = await resolveRootfsLock(
    {
      suite: recipe.distribution.suite,
      architecture: recipe.distribution.architecture,
      variant: rootfs.variant ?? 'minbase',
      include,
      ...(mirrors === undefined ? {} : { mirrors }),
    },
    {
      // the store fetch.ts and lock-resolve.ts read: `nodeimg lock --cache DIR` finds them there
      debStore: join(debsDir, 'sha256'),
      sourceDateEpoch: recipe.sourceDateEpoch,
      ...(signal ? { signal } : {}),
    },
  );
  const requested = new Set(include);
  const missing = include.filter((n) => !lock.packages.some((d) => d.package === n));
  if (missing.length > 0)
    throw new NodeimgError('TOOL_FAILED', `mmdebstrap did not install ${missing.join(', ')}`, {
      hint: 'a virtual package name? name the real package in /rootfs/packages',
    });
  return lock.packages.map((d) => lockedPackageOf(d, requested));
});
