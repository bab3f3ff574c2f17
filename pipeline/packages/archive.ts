// The package archive of a release (issue 12 §2): every locked .deb stored content-addressed in the
// release's object store, in a pool shared by all versions (keys.ts), together with the signed
// InRelease files and Packages indexes that authenticate them, so a release can be rebuilt after
// the mirror has moved on. Uploads use the store's immutable writes (putImmutable: put-if-absent,
// the same bytes again are a no-op, other bytes a PUBLISH_CONFLICT); an object already stored with
// the right size and sha256 is not uploaded again (head first), so a second release that shares
// packages stores and sends each .deb once. The .deb bytes are stored as they are: archive size =
// the sum of the .deb sizes.
import { rename, rm, mkdir } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { debCachePath, debLabel, debMismatch, type DebRef } from '../../image/build/apt-archive/deb.js';
import { digestFile, getMeta, tempNameFor } from '../../image/build/apt-archive/files.js';
import { NodeimgError } from '../errors.js';
import type { ObjectReader, ObjectStore } from '../ports.js';
import { debKey, indexKey, inReleaseKey } from './keys.js';
import {
  parseProvenanceDocument,
  traceProvenance,
  type MetaSource,
  type TraceOptions,
  type TracedPackage,
  type TracedProvenance,
} from './provenance.js';

export interface ArchiveInput extends TraceOptions {
  readonly packages: readonly TracedPackage[];
  /** The .deb cache (<dir>/sha256/<hex>.deb, deb.ts debCachePath): the build's --cache DIR/debs. */
  readonly debDir: string;
  /** The lock's metadata cache (InRelease and index files by sha256, files.ts metaPath). */
  readonly metaDir: string;
  readonly onObject?: (o: ArchivedObject) => void;
}

export interface ArchivedObject {
  readonly key: string;
  readonly kind: 'deb' | 'inrelease' | 'index';
  readonly size: number;
  /** 'present': head showed the same object, nothing was sent. */
  readonly result: 'created' | 'unchanged' | 'present';
}

export interface ArchiveResult {
  readonly provenance: TracedProvenance;
  readonly objects: readonly ArchivedObject[];
  /** Bytes sent to the store (bodies of created objects), and the sum of the locked .deb sizes. */
  readonly uploadedBytes: number;
  readonly debBytes: number;
}

async function upload(
  store: ObjectStore,
  key: string,
  kind: ArchivedObject['kind'],
  body: Uint8Array | { path: string },
  size: number,
  sha256: string,
  contentType: string,
): Promise<ArchivedObject> {
  const have = await store.head(key);
  if (have !== undefined && have.size === size && have.sha256 === sha256)
    return { key, kind, size, result: 'present' };
  const result = await store.putImmutable(key, body, { sha256, contentType });
  return { key, kind, size, result };
}

/**
 * Traces the chain of every package again from the metadata cache (provenance.ts), then stores
 * the InRelease files, the indexes and the .debs. Returns the provenance document (to be signed and
 * published with the release as packages.json) and what was stored.
 */
export async function archivePackages(store: ObjectStore, input: ArchiveInput): Promise<ArchiveResult> {
  if (!store.writable)
    throw new NodeimgError('USAGE', `${store.ref} is read-only: archive packages to dir: or s3://`);
  const source: MetaSource = (_kind, sha) => getMeta(input.metaDir, sha);
  const provenance = await traceProvenance(input.packages, source, input);
  const objects: ArchivedObject[] = [];
  const note = (o: ArchivedObject) => {
    objects.push(o);
    input.onObject?.(o);
  };
  for (const f of provenance.files) {
    const key = f.kind === 'inrelease' ? inReleaseKey(f.sha256) : indexKey(f.sha256);
    note(await upload(store, key, f.kind, f.bytes, f.bytes.length, f.sha256, 'application/octet-stream'));
  }
  const seen = new Set<string>();
  let debBytes = 0;
  for (const p of provenance.document.packages) {
    if (seen.has(p.sha256)) continue;
    seen.add(p.sha256);
    debBytes += p.size;
    const path = debCachePath(input.debDir, p.sha256);
    const got = await digestFile(path);
    if (got === undefined)
      throw new NodeimgError('IO_NOT_FOUND', `${debLabel(p)} is not in ${input.debDir} (${path})`, {
        hint: 'build the release first (nodeimg build fetches every locked .deb into --cache DIR/debs)',
      });
    if (got.size !== p.size || got.sha256 !== p.sha256) throw debMismatch(p, path, got);
    note(
      await upload(
        store,
        debKey(p.sha256),
        'deb',
        { path },
        p.size,
        p.sha256,
        'application/vnd.debian.binary-package',
      ),
    );
  }
  const uploadedBytes = objects.filter((o) => o.result === 'created').reduce((n, o) => n + o.size, 0);
  return { provenance, objects, uploadedBytes, debBytes };
}

/**
 * The locked .deb from the archive into the cache (<cacheDir>/sha256/<hex>.deb), checked while it
 * streams (size, sha256); undefined when the archive does not have it.
 */
export async function fetchFromArchive(
  archive: Pick<ObjectReader, 'ref' | 'getStream'>,
  deb: DebRef,
  cacheDir: string,
): Promise<string | undefined> {
  const key = debKey(deb.sha256);
  const stream = await archive.getStream(key, { sha256: deb.sha256 });
  if (stream === undefined) return undefined;
  const path = debCachePath(cacheDir, deb.sha256);
  await mkdir(join(cacheDir, 'sha256'), { recursive: true });
  const tmp = tempNameFor(path);
  const out = createWriteStream(tmp, { flags: 'wx' });
  let n = 0;
  try {
    try {
      for await (const chunk of stream) {
        n += chunk.length;
        if (n > deb.size)
          throw debMismatch(deb, `${archive.ref} ${key}`, { size: n, sha256: '', overflow: true });
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } catch (err) {
      // the store's own end-of-stream check (PUBLISH_INTEGRITY) means the same as a mismatch here
      if (err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY')
        throw debMismatch(deb, `${archive.ref} ${key}`, { size: n, sha256: '(other)' });
      throw err;
    } finally {
      await new Promise<void>((resolve) => out.end(() => resolve()));
    }
    const got = await digestFile(tmp);
    if (got === undefined || got.size !== deb.size || got.sha256 !== deb.sha256)
      throw debMismatch(deb, `${archive.ref} ${key}`, got ?? { size: 0, sha256: '' });
    await rename(tmp, path);
    return path;
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface ArchiveCheck {
  readonly packages: number;
  readonly releases: number;
  /** Bytes of .debs hashed (deep) or whose stored size/sha256 was checked (shallow). */
  readonly debBytes: number;
}

/**
 * Re-checks a published package archive offline: the provenance document is derived again from the
 * InRelease and index files in the store (gpgv against `keyring`, hashes, stanzas) and must be
 * the same text; every .deb must be stored with its size and sha256 (deep: re-hashed as streamed).
 */
export async function verifyPackageArchive(
  store: ObjectReader,
  documentText: string,
  opts: TraceOptions & { readonly deep?: boolean },
): Promise<ArchiveCheck> {
  const doc = parseProvenanceDocument(documentText);
  const source: MetaSource = (kind, sha) =>
    store.get(kind === 'inrelease' ? inReleaseKey(sha) : indexKey(sha), {
      sha256: sha,
      maxBytes: 512 * 1024 * 1024,
    });
  const again = await traceProvenance(doc.packages, source, { ...opts, architecture: doc.architecture });
  if (again.text !== documentText)
    throw new NodeimgError(
      'CHECK_FAILED',
      'the package provenance document is not what the archived InRelease and indexes say',
      {
        hint: 'the document was edited after it was made, or names other files than the store holds',
      },
    );
  let debBytes = 0;
  for (const p of doc.packages) {
    const head = await store.head(p.key);
    if (head === undefined)
      throw new NodeimgError(
        'IO_NOT_FOUND',
        `${store.ref}: ${p.key} (${debLabel(p)}) is missing from the package archive`,
      );
    if (head.size !== p.size || (head.sha256 !== undefined && head.sha256 !== p.sha256))
      throw debMismatch(p, `${store.ref} ${p.key}`, { size: head.size, sha256: head.sha256 ?? '?' });
    if (opts.deep === true) {
      const s = await store.getStream(p.key, { sha256: p.sha256 });
      if (s === undefined) throw new NodeimgError('IO_NOT_FOUND', `${store.ref}: ${p.key} vanished`);
      try {
        for await (const chunk of s) void chunk;
      } catch (err) {
        if (err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY')
          throw debMismatch(p, `${store.ref} ${p.key}`, { size: head.size, sha256: '(other)' });
        throw err;
      }
    }
    debBytes += p.size;
  }
  return { packages: doc.packages.length, releases: doc.releases.length, debBytes };
}
