// Stage `esp`: the EFI system partition as a FAT32 image (image/formats/fat/writer.ts: fixed volume
// id, every timestamp SOURCE_DATE_EPOCH, sorted entries) holding the layout's files
// (image/build/disk/boot-disk.ts espFiles: EFI/BOOT/BOOTX64.EFI = the UKI, or systemd-boot + the UKI
// in EFI/Linux/ + loader/loader.conf). BPB_HiddSec is the partition's first sector on the disk, so
// the planner passes it in. Written sparse: all-zero blocks stay holes.
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { espFiles, type BootLayout } from '../disk/boot-disk.js';
import { planFat } from '../../formats/fat/writer.js';
import type { BuildStage } from './types.js';

export type EspParams = {
  readonly layout: BootLayout;
  /** File name of the UKI in EFI/Linux/ (sdboot layout). */
  readonly ukiName: string;
  readonly size: number;
  readonly volumeId: number;
  readonly hiddenSectors: number;
  readonly sourceDateEpoch: number;
};

const BLOCK = 64 * 1024;

/** Writes `data` at `offset` of an open file, skipping all-zero 64 KiB blocks. */
export async function writeSparseAt(
  fh: Awaited<ReturnType<typeof open>>,
  data: Uint8Array,
  offset: number,
): Promise<void> {
  const zero = Buffer.alloc(BLOCK);
  for (let i = 0; i < data.length; i += BLOCK) {
    const chunk = data.subarray(i, Math.min(i + BLOCK, data.length));
    if (!Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).equals(zero.subarray(0, chunk.length)))
      await fh.write(chunk, 0, chunk.length, offset + i);
  }
}

export const espStage: BuildStage<EspParams> = {
  kind: 'esp',
  version: 1,
  tools: [],
  outputs: () => ['esp.img'],
  async run(ctx) {
    const p = ctx.params;
    const uki = new Uint8Array(await readFile(ctx.inputs['uki'] as string));
    const sdboot =
      ctx.inputs['systemd-boot'] === undefined
        ? undefined
        : new Uint8Array(await readFile(ctx.inputs['systemd-boot']));
    const plan = planFat({
      size: p.size,
      files: espFiles(p.layout, uki, sdboot, p.ukiName),
      volumeId: p.volumeId,
      label: 'ESP',
      fatType: 'FAT32',
      sourceDateEpoch: p.sourceDateEpoch,
      hiddenSectors: p.hiddenSectors,
    });
    ctx.signal.throwIfAborted();
    const fh = await open(join(ctx.outDir, 'esp.img'), 'wx');
    try {
      await fh.truncate(p.size);
      for (const piece of plan.pieces) await writeSparseAt(fh, piece.data, piece.offset);
    } finally {
      await fh.close();
    }
  },
};
