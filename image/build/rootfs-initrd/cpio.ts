// A folder as a reproducible gzip'ed newc cpio (the same recipe as image/build/lab/initrd.ts): every
// entry owned by 0:0 with its mode as given and mtime SOURCE_DATE_EPOCH, names in byte order,
// `cpio --reproducible`, `gzip -n`. The kernel unpacks concatenated archives in order, so this one
// can follow the busybox initrd in the same initrd image.
import { readdir, rename, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../run-tool.js';

/** All paths below `dir`, relative, sorted by their bytes (like LC_ALL=C sort). */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    out.push(rel);
    if (e.isDirectory()) out.push(...(await listTree(dir, rel)));
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Packs `stage` (modes already set) into `out` (gzip'ed newc cpio). */
export async function packTree(
  stage: string,
  out: string,
  epoch: number,
  signal: AbortSignal,
): Promise<void> {
  const names = await listTree(stage);
  // mtimes last, deepest first: creating entries changes their folder's mtime
  for (const n of [...names].reverse()) await utimes(join(stage, n), epoch, epoch);
  const cpio = `${out}.cpio`;
  await runTool(
    'cpio',
    ['--null', '--create', '--format=newc', '--reproducible', '--owner=0:0', '--quiet', '-F', cpio],
    {
      cwd: stage,
      input: names.map((n) => `${n}\0`).join(''),
      sourceDateEpoch: epoch,
      timeoutMs: 120_000,
      signal,
    },
  );
  await runTool('gzip', ['-n', '-9', cpio], { sourceDateEpoch: epoch, timeoutMs: 120_000, signal });
  await rename(`${cpio}.gz`, out);
}
