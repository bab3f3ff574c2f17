// Where the lab keeps downloaded packages and built artefacts: $NODEIMG_CACHE, or <repo>/.cache.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest ancestor of this module with nodeimg's package.json. */
export function repoRoot(start: string = import.meta.dirname): string {
  let dir = resolve(start);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name"\s*:\s*"nodeimg"/.test(readFileSync(pkg, 'utf8'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Cache root: $NODEIMG_CACHE if set, else <repo>/.cache. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['NODEIMG_CACHE'];
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : join(repoRoot(), '.cache');
}

/** Downloaded and extracted Debian packages. */
export function debCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'debs');
}

/** Built lab artefacts, one folder per input hash. */
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'lab');
}
