// Stage `initrd`: a static busybox and the recipe's /init script as a reproducible gzip'ed newc cpio
// (image/build/lab/initrd.ts: fixed modes and mtimes, owner 0:0, names in byte order,
// `cpio --reproducible`, `gzip -n`). An optional input `extra` (another gzip'ed cpio, e.g. kernel
// modules and dmsetup from the root file system planner) is appended: the kernel unpacks
// concatenated archives in order (Documentation/driver-api/early-userspace/buffer-format.rst).
import { appendFile, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { buildInitrd } from '../lab/initrd.js';
import type { BuildStage } from './types.js';

export type InitrdParams = { readonly sourceDateEpoch: number };

export const initrdStage: BuildStage<InitrdParams> = {
  kind: 'initrd',
  version: 1,
  tools: [
    { bin: 'cpio', package: 'cpio' },
    { bin: 'gzip', package: 'gzip' },
  ],
  outputs: () => ['initrd.cpio.gz'],
  async run(ctx) {
    const init = await readFile(ctx.inputs['init'] as string, 'utf8');
    const built = await buildInitrd({
      busybox: ctx.inputs['busybox'] as string,
      init,
      outFile: join(ctx.workDir, 'initrd.cpio.gz'),
      sourceDateEpoch: ctx.params.sourceDateEpoch,
    });
    const extra = ctx.inputs['extra'];
    if (extra !== undefined) await appendFile(built, await readFile(extra));
    ctx.signal.throwIfAborted();
    await rename(built, join(ctx.outDir, 'initrd.cpio.gz'));
  },
};
