// `nodeimg lock --cache DIR` on a recipe with a root file system: the registered RootfsLocker must
// hand mmdebstrap's resolve (resolveRootfsLock, mocked here: the real one runs mmdebstrap against
// the Debian archive) the .deb store of the cache it is given, not the default cache, so that the
// closure is downloaded once, into DIR (it once went to the default cache and was then downloaded
// again into DIR). Also: the sources and the recipe's suite reach it, and only the packages the
// recipe names are marked `requested`.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type * as RootfsIndex from '../../../image/build/rootfs/index.js';
import type { LockedDeb } from '../../../image/build/rootfs/lock.js';
import { loadRecipe } from '../../../pipeline/build/recipe.js';
import { getRootfsLocker } from '../../../pipeline/build/registry.js';
import '../../../pipeline/build/rootfs-locker.js';
import { ROOT } from '../../helpers/build.js';

const { calls } = vi.hoisted(() => ({ calls: [] as { spec: unknown; opts: { debStore: string } }[] }));

vi.mock('../../../image/build/rootfs/index.js', async (original) => ({
  ...(await original<typeof RootfsIndex>()),
  resolveRootfsLock: (spec: { include: readonly string[] }, opts: { debStore: string }) => {
    calls.push({ spec, opts });
    const deb = (name: string): LockedDeb => ({
      package: name,
      version: '1.0-1',
      architecture: 'amd64',
      sha256: 'ab'.repeat(32),
      size: 1234,
      url: `http://deb.debian.org/debian/pool/main/x/${name}/${name}_1.0-1_amd64.deb`,
      filename: `${name}_1.0-1_amd64.deb`,
      priority: 'optional',
      section: 'misc',
    });
    return Promise.resolve({ packages: [...spec.include, 'libc6'].map(deb) });
  },
}));

describe('the RootfsLocker with --cache DIR', () => {
  it("resolves into DIR's .deb store, with the given sources", async () => {
    const { recipe } = await loadRecipe(join(ROOT, 'examples', 'debian-node'), ROOT);
    const rootfs = recipe.rootfs;
    if (!rootfs) throw new Error('examples/debian-node has a root file system');
    const locker = getRootfsLocker();
    if (!locker) throw new Error('rootfs-locker.ts registers a locker');
    const mirrors = ['deb http://127.0.0.1:9/debian bookworm main'];
    const locked = await locker(recipe, rootfs, { debsDir: '/tmp/given-cache/debs', mirrors });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.opts.debStore).toBe('/tmp/given-cache/debs/sha256');
    expect(calls[0]?.spec).toMatchObject({ suite: recipe.distribution.suite, mirrors });
    const named = (rootfs.packages ?? []).map((p) => p.split('=')[0]);
    expect(locked.filter((p) => p.requested !== undefined).map((p) => p.name)).toEqual(named);
    expect(locked.find((p) => p.name === 'libc6')).toMatchObject({
      filename: 'pool/main/x/libc6/libc6_1.0-1_amd64.deb',
    });
    expect(locked.find((p) => p.name === 'libc6')?.requested).toBeUndefined();
  });
});
