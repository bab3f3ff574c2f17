// Fetching a locked .deb from a mirror into the content-addressed cache <cacheDir>/sha256/<hex>.deb
// (the layout of the build's fetch stage, image/build/stages/fetch.ts debPath, so a build finds what
// `nodeimg lock` or `nodeimg reproduce` fetched). The download goes to a temporary name in the same
// folder, is hashed while it streams, stops as soon as it grows past the expected size, and is
// renamed into place only when its size and sha256 are the ones the signed Packages entry (or the
// lock) gives: otherwise PROVENANCE_DEB_MISMATCH, and nothing is kept.
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { ProvenanceError } from './errors.js';
import { digestFile, tempNameFor } from './files.js';
import { fetchToFile, type HttpOptions } from './http.js';

/** What identifies a .deb: the lock's fields (or a Packages stanza's). */
export interface DebRef {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  readonly size: number;
  /** Pool path (Packages' Filename). */
  readonly filename: string;
}

export const debLabel = (d: Pick<DebRef, 'name' | 'version' | 'architecture'>): string =>
  `${d.name}=${d.version} (${d.architecture})`;

/** Where the cache keeps the .deb with this sha256. Pure. */
export function debCachePath(cacheDir: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new NodeimgError('INTERNAL', `not a sha256: ${sha256}`);
  return join(cacheDir, 'sha256', `${sha256}.deb`);
}

/** The cached file if it is there with the right size and sha256; a damaged one is removed. */
export async function cachedDeb(cacheDir: string, deb: DebRef): Promise<string | undefined> {
  const path = debCachePath(cacheDir, deb.sha256);
  const got = await digestFile(path);
  if (got === undefined) return undefined;
  if (got.size === deb.size && got.sha256 === deb.sha256) return path;
  await rm(path, { force: true });
  return undefined;
}

/** The mismatch error of a .deb that is not the locked one. Pure. */
export function debMismatch(
  deb: DebRef,
  source: string,
  got: { size: number; sha256: string; overflow?: boolean },
): ProvenanceError {
  const what = got.overflow ? `more than ${deb.size} bytes` : `${got.size} bytes with sha256 ${got.sha256}`;
  return new ProvenanceError(
    'PROVENANCE_DEB_MISMATCH',
    `${debLabel(deb)} from ${source}`,
    `${what}; the signed index and the lock name ${deb.size} bytes with sha256 ${deb.sha256}`,
    {
      hint: 'these bytes are not the locked package (tampered, or replaced under the same version): they were not kept',
    },
  );
}

export interface FetchedDeb {
  readonly path: string;
  /** false when the cache already had it. */
  readonly downloaded: boolean;
}

/**
 * The .deb from the cache, else from `url` (checked). Undefined when the server has no such file
 * (404): the caller may try another source.
 */
export async function fetchDeb(
  deb: DebRef,
  url: string,
  cacheDir: string,
  http: HttpOptions = {},
): Promise<FetchedDeb | undefined> {
  const cached = await cachedDeb(cacheDir, deb);
  if (cached !== undefined) return { path: cached, downloaded: false };
  const path = debCachePath(cacheDir, deb.sha256);
  await mkdir(join(cacheDir, 'sha256'), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    const got = await fetchToFile(url, tmp, deb.size, http);
    if (got === undefined) return undefined;
    if (got.overflow || got.size !== deb.size || got.sha256 !== deb.sha256) throw debMismatch(deb, url, got);
    await rename(tmp, path);
    return { path, downloaded: true };
  } finally {
    await rm(tmp, { force: true });
  }
}
