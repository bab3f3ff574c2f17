// Getting a locked .deb for `nodeimg build` / `nodeimg reproduce` (issue 12 §3): from the local
// cache, else from the release's package archive, else from the mirror, verifying size and sha256
// against the lock whichever source it comes from. Only lock entries can be asked for, so a build
// never uses a package the lock does not name. An archive object that fails verification is not
// kept and the mirror is tried; the build stops only when no source has the locked bytes.
import { cachedDeb, debLabel, fetchDeb, type DebRef } from '../../image/build/apt-archive/deb.js';
import type { HttpOptions } from '../../image/build/apt-archive/http.js';
import { NodeimgError } from '../errors.js';
import type { ObjectReader } from '../ports.js';
import { fetchFromArchive } from './archive.js';
import { debKey } from './keys.js';

export interface LockedDeb extends DebRef {
  /** The URL the lock recorded (the mirror it was locked from). */
  readonly url?: string;
}

export interface FetchLockedOptions {
  /** <dir>/sha256/<hex>.deb: the build's --cache DIR/debs. */
  readonly cacheDir: string;
  /** The release store holding packages/sha256/<hex> (tried first). */
  readonly archive?: ObjectReader;
  /** Mirror root to fetch <mirror>/<filename> from; default: the lock's URL. */
  readonly mirror?: string;
  /** false: never ask a mirror (an offline rebuild from the archive alone). */
  readonly useMirror?: boolean;
  readonly http?: HttpOptions;
}

export type FetchSource = 'cache' | 'archive' | 'mirror';

export interface LockedFile {
  readonly path: string;
  readonly source: FetchSource;
  /** Sources tried before, and why they did not serve it. */
  readonly skipped: readonly string[];
}

function mirrorUrl(deb: LockedDeb, mirror: string | undefined): string | undefined {
  if (mirror !== undefined)
    return `${mirror.replace(/\/+$/, '')}/${deb.filename.split('/').map(encodeURIComponent).join('/')}`;
  return deb.url;
}

export async function fetchLocked(deb: LockedDeb, opts: FetchLockedOptions): Promise<LockedFile> {
  const skipped: string[] = [];
  const cached = await cachedDeb(opts.cacheDir, deb);
  if (cached !== undefined) return { path: cached, source: 'cache', skipped };
  let failure: unknown;
  if (opts.archive !== undefined) {
    try {
      const path = await fetchFromArchive(opts.archive, deb, opts.cacheDir);
      if (path !== undefined) return { path, source: 'archive', skipped };
      skipped.push(`${opts.archive.ref} has no ${debKey(deb.sha256)}`);
    } catch (err) {
      if (!(err instanceof NodeimgError)) throw err;
      failure = err;
      skipped.push(`${opts.archive.ref}: ${err.message}`);
    }
  }
  const url = opts.useMirror === false ? undefined : mirrorUrl(deb, opts.mirror);
  if (url !== undefined) {
    try {
      const got = await fetchDeb(deb, url, opts.cacheDir, opts.http ?? {});
      if (got !== undefined) return { path: got.path, source: 'mirror', skipped };
      skipped.push(`${url}: HTTP 404 (the mirror no longer serves this version)`);
    } catch (err) {
      if (!(err instanceof NodeimgError)) throw err;
      failure = err;
      skipped.push(`${url}: ${err.message}`);
    }
  }
  if (failure instanceof NodeimgError && failure.code === 'PROVENANCE_DEB_MISMATCH') throw failure;
  throw new NodeimgError(
    'IO_NOT_FOUND',
    `no source has the locked ${debLabel(deb)} (sha256 ${deb.sha256}):\n  ${skipped.join('\n  ') || 'no archive and no mirror given'}`,
    {
      ...(failure === undefined ? {} : { cause: failure }),
      hint: 'publish releases with their package archive (nodeimg release), or rebuild from a mirror that still has this version',
    },
  );
}
