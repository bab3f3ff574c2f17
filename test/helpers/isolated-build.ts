// Runs a build script in a child process with its own time zone, umask and working directory, so
// reproducibility tests compare builds that differ in everything a build must not depend on.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export const SEED = '6e6f6465-696d-4467-a972-697465727321';
export const EPOCH = 1_700_000_000;

/** Runs `cli` (a TypeScript file taking one JSON argument) with TZ=tz and umask in `root`; returns outDir. */
export async function buildInChild(
  cli: string,
  root: string,
  name: string,
  tz: string,
  umask: string,
): Promise<string> {
  const outDir = join(root, name, 'out');
  await execa(
    'sh',
    [
      '-c',
      'umask "$1"; shift; cd "$1"; shift; exec "$@"',
      'sh',
      umask,
      root,
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      cli,
      JSON.stringify({ outDir, epoch: EPOCH, seed: SEED }),
    ],
    { env: { ...process.env, TZ: tz }, cwd: root },
  );
  return outDir;
}

export const sha256File = async (f: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');
