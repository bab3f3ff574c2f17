// A published artefact checked against the rebuild (issue 11). First one streaming pass through
// ObjectReader.getStream with the sha256 the signed info.json lists (the store verifies it at the
// end; nothing is written): when it holds and equals the rebuilt digest, that is all. Otherwise
// the artefact is downloaded into the work folder (hashed while it is written; a store that records
// digests throws PUBLISH_INTEGRITY after the last chunk when the bytes changed: that is reported,
// not fatal, since the point is to explain the difference) and, for a disk image, explained
// structurally (disk-diff.ts), for a tar or gzip'd tar member by member (tar-diff.ts).
// diffoscope's output is added when it is on PATH.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { NodeimgError } from '../errors.js';
import type { ObjectReader } from '../ports.js';
import type { ReleaseArtefact } from '../release/documents.js';
import { explainDisk, type DiskDifference } from './disk-diff.js';
import { explainArchive, isTarName, type ArchiveDifference } from './tar-diff.js';

const DIFFOSCOPE_MAX = 64 * 1024;

export interface PublishedArtefactCheck {
  readonly name: string;
  /** The stage that made it (manifest artifacts[].from). */
  readonly stage: string | null;
  /** sha256 the signed info.json lists. */
  readonly listed: string;
  readonly downloaded: string;
  readonly rebuilt: string | null;
  /** The store's own integrity check failed (its recorded digest no longer matches the bytes). */
  readonly storeIntegrity: string | null;
  readonly ok: boolean;
  readonly disk?: DiskDifference;
  /** A tar or gzip'd tar: the members that differ. */
  readonly archive?: ArchiveDifference;
  readonly diffoscope?: string;
}

async function download(store: Pick<ObjectReader, 'getStream' | 'ref'>, key: string, path: string) {
  const stream = await store.getStream(key);
  if (stream === undefined) throw new NodeimgError('VERIFY_NOT_FOUND', `${key} is missing from ${store.ref}`);
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  let integrity: string | null = null;
  try {
    for await (const chunk of stream) {
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  } catch (err) {
    if (!(err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY')) throw err;
    integrity = err.message;
  } finally {
    await new Promise<void>((ok, ko) => out.end((e?: Error | null) => (e ? ko(e) : ok())));
  }
  return { sha256: hash.digest('hex'), integrity };
}

/** Whether `bin` is an executable on PATH. */
async function onPath(bin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const p = join(dir, bin);
    if (
      await access(p, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

async function diffoscope(a: string, b: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const bin = await onPath('diffoscope', env);
  if (bin === undefined) return undefined;
  const r = await execa(bin, ['--text', '-', a, b], { reject: false, timeout: 600_000, env });
  const text = r.stdout.toString();
  return text.length > DIFFOSCOPE_MAX ? `${text.slice(0, DIFFOSCOPE_MAX)}\n[... truncated]` : text;
}

/**
 * One streaming pass that keeps nothing: the store checks the bytes against `sha256` at the end
 * (ObjectReader.getStream). Returns the integrity failure's message, or null when they match.
 */
async function matches(
  store: Pick<ObjectReader, 'getStream' | 'ref'>,
  key: string,
  sha256: string,
): Promise<string | null> {
  const stream = await store.getStream(key, { sha256 });
  if (stream === undefined) throw new NodeimgError('VERIFY_NOT_FOUND', `${key} is missing from ${store.ref}`);
  try {
    for await (const chunk of stream) void chunk;
    return null;
  } catch (err) {
    if (err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY') return err.message;
    throw err;
  }
}

/**
 * Starts streaming the published object against its listed digest (what `checkPublishedArtefact`
 * does first) so that it can run while the rebuild does: the result, or the failure, is kept until
 * it is asked for, never an unhandled rejection.
 */
export function startIntegrityCheck(
  store: Pick<ObjectReader, 'getStream' | 'ref'>,
  artefact: Pick<ReleaseArtefact, 'key' | 'sha256'>,
): () => Promise<string | null> {
  const settled = matches(store, artefact.key, artefact.sha256).then(
    (v) => ({ ok: true as const, v }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  return async () => {
    const r = await settled;
    if (r.ok) return r.v;
    throw r.err;
  };
}

/** The member diff of two archives; an archive that does not parse is reported, not fatal. */
async function archiveDiff(published: string, rebuilt: string, workDir: string): Promise<ArchiveDifference> {
  try {
    return await explainArchive(published, rebuilt, workDir);
  } catch (err) {
    if (!(err instanceof NodeimgError)) throw err;
    return {
      type: 'tar',
      compared: 0,
      entries: [],
      more: 0,
      notes: [`cannot compare: ${err.message}`],
      disks: [],
    };
  }
}

export async function checkPublishedArtefact(opts: {
  readonly store: Pick<ObjectReader, 'getStream' | 'ref'>;
  readonly artefact: ReleaseArtefact;
  readonly stage: string | null;
  readonly rebuiltPath: string | null;
  readonly rebuiltSha256: string | null;
  readonly workDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** The integrity check started earlier (startIntegrityCheck), e.g. while the rebuild ran. */
  readonly integrity?: () => Promise<string | null>;
}): Promise<PublishedArtefactCheck> {
  const a = opts.artefact;
  // the usual case, a reproducible release, costs one read and no write: the store verifies the
  // listed digest while streaming, and the listed digest is the rebuilt one
  const integrity = opts.integrity ? await opts.integrity() : await matches(opts.store, a.key, a.sha256);
  const base = {
    name: a.name,
    stage: opts.stage,
    listed: a.sha256,
    rebuilt: opts.rebuiltSha256,
  };
  if (integrity === null && a.sha256 === opts.rebuiltSha256)
    return { ...base, downloaded: a.sha256, storeIntegrity: null, ok: true };
  // it differs somewhere: keep a copy to explain how
  const path = join(opts.workDir, a.name);
  const got = await download(opts.store, a.key, path);
  const checked = {
    ...base,
    downloaded: got.sha256,
    storeIntegrity: integrity ?? got.integrity,
    ok: false,
  };
  if (opts.rebuiltPath === null || got.sha256 === opts.rebuiltSha256) return checked;
  const disk = a.name.endsWith('.raw') ? await explainDisk(path, opts.rebuiltPath) : undefined;
  const archive = isTarName(a.name) ? await archiveDiff(path, opts.rebuiltPath, opts.workDir) : undefined;
  const dscope = await diffoscope(path, opts.rebuiltPath, opts.env);
  return {
    ...checked,
    ...(disk ? { disk } : {}),
    ...(archive ? { archive } : {}),
    ...(dscope !== undefined ? { diffoscope: dscope } : {}),
  };
}
