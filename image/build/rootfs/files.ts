// File helpers shared by the root-file-system stages: the sha256 of a file (streamed), and writing
// an output under a temporary name in the same directory that is renamed only when complete, so a
// failed or interrupted stage never leaves a half-written file under the final name.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';

export interface FileDigest {
  readonly path: string;
  readonly size: number;
  /** Hex. */
  readonly sha256: string;
}

/** sha256 and size of a file, read in 4 MiB chunks. */
export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    throw new NodeimgError('IO_NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { path, size, sha256: hash.digest('hex') };
}

/** Runs `body` with a temporary path next to `out` and renames it to `out` when body succeeds. */
export async function writeAtomically<T>(out: string, body: (tmp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.partial`);
  await rm(tmp, { recursive: true, force: true });
  try {
    const r = await body(tmp);
    await rename(tmp, out);
    return r;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** A fresh scratch directory under `parent`, removed after `body` (also when it fails). */
export async function withScratchDir<T>(
  parent: string,
  prefix: string,
  body: (dir: string) => Promise<T>,
): Promise<T> {
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, `.${prefix}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Throws USAGE unless nodeimg runs as root (mmdebstrap --mode=root; tar keeping owners and devices). */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0)
    throw new NodeimgError('USAGE', `${what} needs root`, {
      hint: 'run the build as root (in a VM or container): the image keeps numeric owners, setuid bits and device nodes',
    });
}
