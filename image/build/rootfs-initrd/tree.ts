// Paths inside an extracted root file system tree, resolved the way the image's own kernel would
// resolve them after switch_root: absolute symbolic links start again at the tree's root (never the
// build host's /), relative ones at their folder. Debian 12 is merged-/usr (/lib -> usr/lib), so
// /lib64/ld-linux-x86-64.so.2 and the libraries need this to be found inside the tree.
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';

const MAX_LINKS = 40; // like the kernel's MAXSYMLINKS

/** The real path under `tree` of the image path `path` (absolute), or undefined if it does not exist. */
export async function resolveInTree(tree: string, path: string): Promise<string | undefined> {
  let todo = path.split('/').filter((x) => x !== '');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(tree, ...done, part);
    const st = await lstat(here).catch(() => undefined);
    if (st === undefined) return undefined;
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS)
      throw new NodeimgError('PARSE_INVALID', `${path}: more than ${MAX_LINKS} symbolic links in the image`);
    const target = await readlink(here);
    const parts = target.split('/').filter((x) => x !== '');
    if (target.startsWith('/')) done.length = 0;
    todo = [...parts, ...todo];
  }
  return join(tree, ...done);
}
