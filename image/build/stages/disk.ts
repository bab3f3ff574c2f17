// Stage `disk`: the GPT disk image (image/build/disk/write-disk.ts: nodeimg's GPT writer, partition
// GUIDs derived from the recipe's seed as systemd-repart does) with the ESP image first, then the
// partitions other stages produced (root file system, dm-verity hash tree: each an input named in
// `partitions`), or else an empty DPS root partition filling the disk. Written sparse.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDisk, type DiskPartition } from '../disk/write-disk.js';
import { GPT_ATTR } from '../../formats/gpt/writer.js';
import { NodeimgError } from '../../formats/errors.js';
import type { BuildStage } from './types.js';

export type DiskPartitionParams = {
  /** GPT type name (image/formats/gpt/writer.ts GPT_TYPES) or type GUID. */
  readonly type: string;
  /** The input holding the partition's contents. */
  readonly input: string;
  readonly label?: string;
  /** Bytes; default the input's size rounded up to 1 MiB. */
  readonly size?: number;
  /** DPS read-only attribute (GUID:60). */
  readonly readOnly?: boolean;
  /** An input whose text is the partition UUID (e.g. from the dm-verity root hash). */
  readonly uuidInput?: string;
};

export type DiskParams = {
  readonly diskSize: number;
  readonly seed: string;
  readonly espSize: number;
  readonly partitions: readonly DiskPartitionParams[];
  /** An empty root-x86-64 partition filling the disk when no partitions are given. */
  readonly emptyRoot: boolean;
};

const MiB = 1024 * 1024;

async function extraPartition(
  p: DiskPartitionParams,
  inputs: Readonly<Record<string, string>>,
): Promise<DiskPartition> {
  const path = inputs[p.input];
  if (path === undefined) throw new NodeimgError('INTERNAL', `disk: no input ${p.input}`);
  const size = p.size ?? Math.ceil((await stat(path)).size / MiB) * MiB;
  let uuid: string | undefined;
  if (p.uuidInput !== undefined) {
    const from = inputs[p.uuidInput];
    if (from === undefined) throw new NodeimgError('INTERNAL', `disk: no input ${p.uuidInput}`);
    uuid = (await readFile(from, 'utf8')).trim();
  }
  return {
    type: p.type,
    size,
    ...(p.label === undefined ? {} : { label: p.label }),
    ...(uuid === undefined ? {} : { uuid }),
    ...(p.readOnly ? { attributes: GPT_ATTR.readOnly } : {}),
    contents: { kind: 'file', path },
  };
}

export const diskStage: BuildStage<DiskParams> = {
  kind: 'disk',
  version: 1,
  tools: [],
  outputs: () => ['disk.raw'],
  async run(ctx) {
    const p = ctx.params;
    const partitions: DiskPartition[] = [
      { type: 'esp', size: p.espSize, contents: { kind: 'file', path: ctx.inputs['esp'] as string } },
    ];
    for (const extra of p.partitions) partitions.push(await extraPartition(extra, ctx.inputs));
    if (p.partitions.length === 0 && p.emptyRoot) partitions.push({ type: 'root-x86-64', size: 'rest' });
    ctx.signal.throwIfAborted();
    await writeDisk({ diskSize: p.diskSize, seed: p.seed, partitions }, join(ctx.outDir, 'disk.raw'));
  },
};
