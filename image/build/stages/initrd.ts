// Stage `initrd`: a static busybox and the recipe's /init script as a reproducible gzip'ed newc cpio
// (image/build/lab/initrd.ts: fixed modes and mtimes, owner 0:0, names in byte order,
// `cpio --reproducible`, `gzip -n`).
import { readFile, rename } from 'node:fs/promises';
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
    ctx.signal.throwIfAborted();
    await rename(built, join(ctx.outDir, 'initrd.cpio.gz'));
  },
};
