// The locked .deb files in a content-addressed store: <store>/<sha256>.deb, so a file is trusted
// by its name and the same store serves every lock. fetchLockedDebs downloads what is missing with
// `apt-get download name=version` (apt checks the file against the signed index; nodeimg then
// checks it against the lock's sha256), storeDebFiles files debs found elsewhere (the cache of an
// online mmdebstrap run) under their digests, checkLockedDebs re-hashes what a build will use.
import { chmod, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { runTool } from '../run-tool.js';
import { digestFile, exists, withScratchDir } from './files.js';
import type { LockedDeb, RootfsLock } from './lock.js';

export function lockedDebPath(store: string, deb: Pick<LockedDeb, 'sha256'>): string {
  return join(store, `${deb.sha256}.deb`);
}

/** Moves the .deb files of `dir` into the store under their sha256; returns the digests filed. */
export async function storeDebFiles(dir: string, store: string): Promise<Set<string>> {
  const filed = new Set<string>();
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith('.deb')) continue;
    const d = await digestFile(join(dir, name));
    const target = lockedDebPath(store, d);
    if (!(await exists(target))) await rename(d.path, target);
    filed.add(d.sha256);
  }
  return filed;
}

/** Throws IO_NOT_FOUND / CHECK_FAILED unless every locked .deb is in the store with its digest. */
export async function checkLockedDebs(lock: RootfsLock, store: string): Promise<void> {
  const missing: string[] = [];
  for (const d of lock.packages) {
    const path = lockedDebPath(store, d);
    if (!(await exists(path))) {
      missing.push(`${d.package}=${d.version}`);
      continue;
    }
    const got = await digestFile(path);
    if (got.sha256 !== d.sha256 || got.size !== d.size)
      throw new NodeimgError(
        'CHECK_FAILED',
        `${path} (${d.package}=${d.version}) has sha256 ${got.sha256} and ${got.size} bytes; the lock says ${d.sha256}, ${d.size}`,
        { hint: 'remove the file; fetchLockedDebs downloads it again' },
      );
  }
  if (missing.length > 0)
    throw new NodeimgError(
      'IO_NOT_FOUND',
      `${missing.length} locked package(s) are not in ${store}: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`,
      {
        hint: 'run fetchLockedDebs (needs the Debian archive) or copy the .deb files of the lock into the store',
      },
    );
}

export interface FetchResult {
  /** Already in the store. */
  readonly present: number;
  readonly downloaded: number;
}

/**
 * Puts every package of `lock` into the store, downloading the missing ones with one
 * `apt-get download name=version ...` (the host's apt lists must know those versions).
 */
export async function fetchLockedDebs(
  lock: RootfsLock,
  store: string,
  opts: { readonly signal?: AbortSignal } = {},
): Promise<FetchResult> {
  const missing: LockedDeb[] = [];
  for (const d of lock.packages) if (!(await exists(lockedDebPath(store, d)))) missing.push(d);
  if (missing.length > 0)
    await withScratchDir(store, 'download', async (tmp) => {
      await chmod(tmp, 0o755); // apt-get download drops privileges to _apt when it can
      await runTool('apt-get', ['download', '-q', ...missing.map((d) => `${d.package}=${d.version}`)], {
        cwd: tmp,
        timeoutMs: 30 * 60_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }).catch((err: unknown) => {
        throw new NodeimgError(
          'IO_FAILED',
          `apt-get download of ${missing.length} locked package(s) failed: ${(err as Error).message}`,
          {
            cause: err,
            hint: 'the host apt lists may be stale (apt-get update) or the archive no longer carries these versions: keep the .deb store of every release',
          },
        );
      });
      const filed = await storeDebFiles(tmp, store);
      const wrong = missing.filter((d) => !filed.has(d.sha256));
      if (wrong.length > 0)
        throw new NodeimgError(
          'CHECK_FAILED',
          `apt-get download gave files whose sha256 is not the locked one for: ${wrong.map((d) => `${d.package}=${d.version}`).join(', ')}`,
        );
    });
  await checkLockedDebs(lock, store);
  return { present: lock.packages.length - missing.length, downloaded: missing.length };
}
