// Stages `qcow2`, `vhd`, `gce`: the cloud formats of the raw disk, written by
// image/build/disk/cloud-formats.ts (qcow2 with every qemu-img creation option pinned; the Azure
// fixed VHD and the GCE oldgnu tarball by nodeimg itself, gzip through node's zlib).
import { join } from 'node:path';
import { writeGceTarball, writeQcow2, writeVhd } from '../disk/cloud-formats.js';
import type { BuildStage } from './types.js';

export type FormatParams = { readonly sourceDateEpoch: number };

export const qcow2Stage: BuildStage<FormatParams> = {
  kind: 'qcow2',
  version: 1,
  tools: [{ bin: 'qemu-img', package: 'qemu-utils' }],
  outputs: () => ['disk.qcow2'],
  async run(ctx) {
    await writeQcow2(ctx.inputs['disk'] as string, join(ctx.outDir, 'disk.qcow2'), {
      sourceDateEpoch: ctx.params.sourceDateEpoch,
    });
  },
};

export const vhdStage: BuildStage<FormatParams> = {
  kind: 'vhd',
  version: 1,
  tools: [],
  outputs: () => ['disk.vhd'],
  async run(ctx) {
    await writeVhd(ctx.inputs['disk'] as string, join(ctx.outDir, 'disk.vhd'), {
      sourceDateEpoch: ctx.params.sourceDateEpoch,
    });
  },
};

export const gceStage: BuildStage<FormatParams> = {
  kind: 'gce',
  version: 1,
  tools: [],
  runtime: ['zlib'],
  outputs: () => ['disk.tar.gz'],
  async run(ctx) {
    await writeGceTarball(ctx.inputs['disk'] as string, join(ctx.outDir, 'disk.tar.gz'), {
      sourceDateEpoch: ctx.params.sourceDateEpoch,
    });
  },
};
