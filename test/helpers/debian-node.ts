// Real builds of examples/debian-node for tests: every .deb of its lock (the kernel, busybox and
// the root file system's whole closure) is downloaded once into the store shared by test files
// (<cache root>/build-test/debs, as test/helpers/build.ts does for examples/minimal) and
// hard-linked into each build's own cache, so a "cold" build runs every stage without
// downloading 110 packages again.
import { copyFile, link, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot } from '../../image/build/lab/paths.js';
import { debPath, fetchStage } from '../../image/build/stages/fetch.js';
import type { Lock } from '../../pipeline/build/lock.js';
import { ROOT } from './build.js';

export const DEBIAN_NODE = join(ROOT, 'examples', 'debian-node');
export const MARKER = 'NODEIMG-DEBIAN-NODE-BOOTED';

const store = (): string => join(cacheRoot(), 'build-test', 'debs');

async function lockPackages(): Promise<Lock['packages']> {
  return (JSON.parse(await readFile(join(DEBIAN_NODE, 'nodeimg.lock.json'), 'utf8')) as Lock).packages;
}

let pending: Promise<string> | undefined;

/** The shared store holding every .deb of the example's lock. */
export function sharedDebianNodeDebs(): Promise<string> {
  pending ??= (async () => {
    for (const p of await lockPackages()) {
      const { name, version, architecture, sha256, size } = p;
      await fetchStage.materialize({
        params: { name, version, architecture, sha256, size },
        storeDir: store(),
        signal: new AbortController().signal,
        progress: () => undefined,
      });
    }
    return store();
  })().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

/** Links every .deb of the example's lock into `cacheDir`'s store. */
export async function seedDebianNodeDebs(cacheDir: string): Promise<void> {
  const from = await sharedDebianNodeDebs();
  await mkdir(join(cacheDir, 'debs', 'sha256'), { recursive: true });
  for (const p of await lockPackages()) {
    const target = debPath(join(cacheDir, 'debs'), p.sha256);
    const have = await stat(target).then(
      () => true,
      () => false,
    );
    if (!have)
      await link(debPath(from, p.sha256), target).catch(() => copyFile(debPath(from, p.sha256), target));
  }
}
