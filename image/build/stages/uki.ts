// Stage `uki`: systemd-stub + kernel + initrd + command line + os-release as a UKI, written by
// nodeimg's own PE writer (image/formats/pe/uki-writer.ts via buildUkiBytes: ukify's section order
// and alignment, TimeDateStamp = SOURCE_DATE_EPOCH, no objcopy). An optional input `cmdline-extra`
// (text produced by an earlier stage, e.g. "roothash=..." from dm-verity) is appended to the
// command line after a space.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildUkiBytes } from '../disk/boot-disk.js';
import { NodeimgError } from '../../formats/errors.js';
import type { BuildStage } from './types.js';

export type UkiParams = {
  readonly cmdline: string;
  /** os-release text (the .osrel section). */
  readonly osRelease: string;
  readonly sourceDateEpoch: number;
};

export const ukiStage: BuildStage<UkiParams> = {
  kind: 'uki',
  version: 1,
  tools: [],
  outputs: () => ['uki.efi'],
  async run(ctx) {
    let cmdline = ctx.params.cmdline;
    const extraFile = ctx.inputs['cmdline-extra'];
    if (extraFile !== undefined) {
      const extra = (await readFile(extraFile, 'utf8')).trim();
      if (/[\n\r\0]/.test(extra))
        throw new NodeimgError(
          'PARSE_INVALID',
          'the command-line fragment of an earlier stage is not one line',
        );
      if (extra !== '') cmdline = cmdline === '' ? extra : `${cmdline} ${extra}`;
    }
    const uki = await buildUkiBytes(
      {
        stub: ctx.inputs['stub'] as string,
        kernel: ctx.inputs['kernel'] as string,
        ...(ctx.inputs['initrd'] === undefined ? {} : { initrd: ctx.inputs['initrd'] }),
        cmdline,
        osRelease: ctx.params.osRelease,
      },
      ctx.params.sourceDateEpoch,
    );
    ctx.signal.throwIfAborted();
    await writeFile(join(ctx.outDir, 'uki.efi'), uki);
  },
};
