// Real builds of examples/minimal for tests: the locked .debs are downloaded once into a store
// shared by test files (<cache root>/build-test/debs) and hard-linked into each test's own cache,
// so a "cold" build starts with no stage outputs but does not download 70 MB again; recipeCopy()
// makes an edited copy of the example (the same lock) in a temporary folder.
import { link, mkdir, readFile, writeFile, copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot } from '../../image/build/lab/paths.js';
import { debPath, fetchStage } from '../../image/build/stages/fetch.js';
import type { Lock } from '../../pipeline/build/lock.js';
import type { Recipe } from '../../pipeline/build/recipe.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const MINIMAL = join(ROOT, 'examples', 'minimal');

let pending: Promise<string> | undefined;

async function fetchAll(): Promise<string> {
  const store = join(cacheRoot(), 'build-test', 'debs');
  const lock = JSON.parse(await readFile(join(MINIMAL, 'nodeimg.lock.json'), 'utf8')) as Lock;
  for (const p of lock.packages) {
    await fetchStage.materialize({
      params: {
        name: p.name,
        version: p.version,
        architecture: p.architecture,
        sha256: p.sha256,
        size: p.size,
      },
      storeDir: store,
      signal: new AbortController().signal,
      progress: () => undefined,
    });
  }
  return store;
}

/** The shared store holding every .deb of the example's lock. */
export function sharedDebs(): Promise<string> {
  pending ??= fetchAll().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

/** Links every .deb of the example's lock into `cacheDir`'s store. */
export async function seedDebs(cacheDir: string): Promise<void> {
  const store = await sharedDebs();
  const lock = JSON.parse(await readFile(join(MINIMAL, 'nodeimg.lock.json'), 'utf8')) as Lock;
  await mkdir(join(cacheDir, 'debs', 'sha256'), { recursive: true });
  for (const p of lock.packages) {
    const target = debPath(join(cacheDir, 'debs'), p.sha256);
    if (
      await stat(target).then(
        () => true,
        () => false,
      )
    )
      continue;
    await link(debPath(store, p.sha256), target).catch(() => copyFile(debPath(store, p.sha256), target));
  }
}

/** The example, smaller and faster: a 128 MiB disk, no GCE tarball (it needs whole GiB). */
export const small = (r: Recipe): Recipe => ({
  ...r,
  disk: { ...r.disk, sizeMiB: 128 },
  outputs: { formats: ['raw', 'qcow2', 'vhd'] },
});

/** Copies examples/minimal (recipe edited by `edit`, init.sh, the lock) into `dir`; returns `dir`. */
export async function recipeCopy(dir: string, edit: (r: Recipe) => unknown = (r) => r): Promise<string> {
  await mkdir(dir, { recursive: true });
  const recipe = JSON.parse(await readFile(join(MINIMAL, 'recipe.json'), 'utf8')) as Recipe;
  await writeFile(join(dir, 'recipe.json'), `${JSON.stringify(edit(recipe), null, 2)}\n`);
  for (const f of ['init.sh', 'nodeimg.lock.json']) await copyFile(join(MINIMAL, f), join(dir, f));
  return dir;
}

/** A build cache shared by the fast tests that do not need a cold build (kept between runs). */
export async function sharedCache(): Promise<string> {
  const dir = join(cacheRoot(), 'build-test', 'cache');
  await seedDebs(dir);
  return dir;
}
