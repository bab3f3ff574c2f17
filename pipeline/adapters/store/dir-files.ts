// File-level pieces of the directory store (dir-store.ts), all under DIR/.nodeimg-store/, which no
// key can name (keys.ts: no segment starts with "."):
//   tmp/<random>          uploads in progress: written, fsynced, then link()ed or rename()d into place
//   meta/<key>.json       sidecar {sha256, size, contentType, ino}: the digest recorded when the
//                         object was stored, used while the object's inode and size are the ones
//                         recorded (a mutable object replaced by rename gets a new inode). A file
//                         edited in place keeps failing reads with PUBLISH_INTEGRITY (fail closed);
//                         a file without a sidecar (copied in by hand) is hashed once
//   locks/<sha256(key)>   compare-and-swap lock of a mutable object (created with O_EXCL)
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PublishError } from '../../errors.js';
import { processAlive } from '../process-alive.js';
import { parseSha256 } from './keys.js';

export const STORE_DIR = '.nodeimg-store';

export interface Sidecar {
  readonly sha256: string;
  readonly size: number;
  readonly ino: number;
  readonly contentType?: string;
}

export interface TempFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly ino: number;
}

/** Writes chunks to a new temporary file in DIR/.nodeimg-store/tmp, fsynced, with its digest. */
export async function writeTemp(
  root: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<TempFile> {
  const dir = join(root, STORE_DIR, 'tmp');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  const fh = await open(path, 'wx', 0o644);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    }
    await fh.sync();
    const { ino } = await fh.stat();
    return { path, sha256: hash.digest('hex'), size, ino };
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  } finally {
    await fh.close();
  }
}

/** fsync of a directory, so a link/rename in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const metaPath = (root: string, key: string): string =>
  join(root, STORE_DIR, 'meta', ...`${key}.json`.split('/'));

/** The sidecar of `key` if it describes the file with this inode and size, else undefined. */
export async function readSidecar(
  root: string,
  key: string,
  ino: number,
  size: number,
): Promise<Sidecar | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(metaPath(root, key), 'utf8'));
  } catch {
    return undefined; // missing or torn: the digest is computed again
  }
  const m = raw as Partial<Sidecar>;
  const sha256 = parseSha256(m.sha256);
  if (sha256 === undefined || m.ino !== ino || m.size !== size) return undefined;
  return typeof m.contentType === 'string'
    ? { sha256, size, ino, contentType: m.contentType }
    : { sha256, size, ino };
}

/** Writes the sidecar atomically (temporary file + rename). */
export async function writeSidecar(root: string, key: string, meta: Sidecar): Promise<void> {
  const path = metaPath(root, key);
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(root, STORE_DIR, 'tmp', `${process.pid}-${randomBytes(8).toString('hex')}.json`);
  await mkdir(dirname(tmp), { recursive: true });
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(`${JSON.stringify(meta)}\n`);
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Removes the lock at `path` if its holder died on this host; true when it did (try again). */
async function takeOverStale(path: string): Promise<boolean> {
  const read = () => readFile(path, 'utf8').catch(() => undefined);
  const text = await read();
  if (text === undefined) return true; // released meanwhile
  const m = /^(\d+) (\S+)\n$/.exec(text);
  if (m) {
    if (m[2] !== hostname() || processAlive(Number(m[1]))) return false;
  } else {
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (text !== '' || age < 5000) return false;
  }
  if ((await read()) !== text) return false;
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
    await rm(aside, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return true;
}

/**
 * Takes the compare-and-swap lock of `key` (O_EXCL file holding "PID HOST"), waiting up to
 * `timeoutMs`; returns its release. A lock left by a process that died on this host (kill -9 in the
 * middle of a release) is recognised by its pid no longer running and taken over: moved aside with
 * rename() (atomic), after reading it twice to be sure it did not change meanwhile; an empty lock
 * file (a crash between create and write) is stale once it is 5 s old. A lock from another host (a
 * shared file system) is never taken over: the error names the file. As with the local log's lock
 * (local-log/dir-lock.ts), without flock() a narrow race remains when two processes take over the
 * same stale lock at the same instant.
 */
export async function lockKey(
  root: string,
  key: string,
  target: string,
  timeoutMs = 15_000,
): Promise<() => Promise<void>> {
  const dir = join(root, STORE_DIR, 'locks');
  await mkdir(dir, { recursive: true });
  const path = join(dir, createHash('sha256').update(key).digest('hex'));
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid} ${hostname()}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await takeOverStale(path)) continue;
    if (Date.now() > deadline)
      throw new PublishError(
        'PUBLISH_FAILED',
        { target, fault: 'server', retryable: true },
        `the update lock ${path} has been held for more than ${timeoutMs / 1000} s`,
        { hint: `if no nodeimg process is publishing to this store, remove ${path}` },
      );
    await sleep(delay + Math.random() * delay);
  }
}
