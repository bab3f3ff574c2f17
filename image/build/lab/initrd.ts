// The lab initrd: busybox (static) + /init (initrd-init.ts), as a reproducible gzip'ed newc cpio:
// fixed modes and mtimes, owner 0:0, names in byte order, `cpio --reproducible`, `gzip -n`.
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';
import { INIT_SCRIPT } from './initrd-init.js';

export interface InitrdOptions {
  /** A statically linked busybox (busybox-static's bin/busybox). */
  readonly busybox: string;
  readonly outFile: string;
  readonly sourceDateEpoch?: number;
  /** Replaces the lab /init script. */
  readonly init?: string;
}

const DIRS = ['bin', 'dev', 'proc', 'run', 'sys', 'tmp'];

/** All paths below `dir`, relative, sorted by their bytes (like LC_ALL=C sort). */
async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    out.push(rel);
    if (e.isDirectory()) out.push(...(await listTree(dir, rel)));
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Builds the initrd at opts.outFile and returns its path. */
export async function buildInitrd(opts: InitrdOptions): Promise<string> {
  const epoch = opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  await mkdir(dirname(opts.outFile), { recursive: true });
  const work = await mkdtemp(join(dirname(opts.outFile), '.initrd-'));
  try {
    const stage = join(work, 'root');
    for (const d of DIRS) await mkdir(join(stage, d), { recursive: true });
    await copyFile(opts.busybox, join(stage, 'bin/busybox'));
    await writeFile(join(stage, 'init'), opts.init ?? INIT_SCRIPT);
    const names = await listTree(stage);
    for (const n of names) {
      await chmod(join(stage, n), n === 'bin/busybox' || n === 'init' || DIRS.includes(n) ? 0o755 : 0o644);
    }
    // mtimes last: creating entries changes their folder's mtime
    for (const n of [...names].reverse()) await utimes(join(stage, n), epoch, epoch);
    const cpio = join(work, 'initrd.cpio');
    await runTool(
      'cpio',
      ['--null', '--create', '--format=newc', '--reproducible', '--owner=0:0', '--quiet', '-F', cpio],
      { cwd: stage, input: names.map((n) => `${n}\0`).join(''), sourceDateEpoch: epoch, timeoutMs: 60_000 },
    );
    await runTool('gzip', ['-n', '-9', cpio], { sourceDateEpoch: epoch, timeoutMs: 60_000 });
    await rename(`${cpio}.gz`, opts.outFile);
    return opts.outFile;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
