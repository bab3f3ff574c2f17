// Small file helpers of the package archive: streamed sha256 of a file, an atomic write (a
// temporary name in the same folder, then rename: never a partial file under the final name), and
// the content-addressed metadata cache <dir>/sha256/<hex> that keeps every InRelease and Packages
// index a lock was made from, so `nodeimg release` can archive them after the mirror moved on.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface FileDigest {
  readonly size: number;
  readonly sha256: string;
}

/** sha256 and size of a file (4 MiB chunks); undefined when it does not exist. */
export async function digestFile(path: string): Promise<FileDigest | undefined> {
  const s = await stat(path).catch(() => undefined);
  if (s === undefined || !s.isFile()) return undefined;
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: h.digest('hex') };
}

let counter = 0;
/** A temporary name next to `path` (same file system, so rename is atomic). */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.partial`);
}

export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new NodeimgError('IO_FAILED', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Where the metadata cache keeps the file with this sha256. Pure. */
export function metaPath(metaDir: string, sha256: string): string {
  return join(metaDir, 'sha256', sha256);
}

/** Stores bytes in the metadata cache under their sha256 (no-op when present); returns the path. */
export async function putMeta(metaDir: string, bytes: Uint8Array): Promise<string> {
  const path = metaPath(metaDir, sha256Hex(bytes));
  const have = await digestFile(path);
  if (have === undefined || have.size !== bytes.length) await writeAtomic(path, bytes);
  return path;
}

/** Bytes of a cached metadata file, checked against its name; undefined when missing or damaged. */
export async function getMeta(metaDir: string, sha256: string): Promise<Uint8Array | undefined> {
  const bytes = await readFile(metaPath(metaDir, sha256)).catch(() => undefined);
  if (bytes === undefined || sha256Hex(bytes) !== sha256) return undefined;
  return new Uint8Array(bytes);
}
