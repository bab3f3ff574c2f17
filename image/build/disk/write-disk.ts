// Writes a GPT disk image from nodeimg's own writers (image/formats/gpt/writer.ts for the table,
// image/formats/fat/writer.ts for FAT partitions) and raw partition images, deterministically. The
// file is created sparse: only the table and the non-zero pieces are written, zero blocks of copied
// images are skipped, so a 1 GiB disk with a small ESP costs a few MiB of writes. Everything is
// planned (and every "does not fit" reported) before the output file is created; the file appears
// under its name only once complete.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { planFat, type FatImageInput, type FatImagePlan } from '../../formats/fat/writer.js';
import {
  gptTableBytes,
  planGpt,
  type GptLayoutInput,
  type GptPartitionInput,
  type GptPlan,
} from '../../formats/gpt/writer.js';

/** What goes into a partition. */
export type PartitionContents =
  /** A FAT file system written by nodeimg; its size defaults to the partition's. */
  | {
      readonly kind: 'fat';
      readonly fat: Omit<FatImageInput, 'size' | 'hiddenSectors'> & { readonly size?: number };
    }
  /** Bytes (shorter than the partition: the rest stays zero). */
  | { readonly kind: 'bytes'; readonly data: Uint8Array }
  /** A file copied in (e.g. an erofs or dm-verity image). */
  | { readonly kind: 'file'; readonly path: string };

export interface DiskPartition extends GptPartitionInput {
  readonly contents?: PartitionContents;
}

export interface DiskSpec extends Omit<GptLayoutInput, 'partitions'> {
  readonly partitions: readonly DiskPartition[];
}

export interface WrittenDisk {
  readonly path: string;
  readonly gpt: GptPlan;
  /** The FAT layout of each 'fat' partition, by 0-based partition index. */
  readonly fat: ReadonlyMap<number, FatImagePlan>;
}

/** Zero runs of at least this size are skipped when copying, leaving holes. */
const HOLE = 64 * 1024;
const COPY_CHUNK = 4 * 1024 * 1024;

function isZero(b: Uint8Array): boolean {
  // 8 bytes at a time where aligned
  const words =
    b.byteOffset % 8 === 0 ? new BigUint64Array(b.buffer, b.byteOffset, Math.floor(b.length / 8)) : undefined;
  if (words) {
    for (const w of words) if (w !== 0n) return false;
    for (let i = words.length * 8; i < b.length; i++) if (b[i] !== 0) return false;
    return true;
  }
  return b.every((x) => x === 0);
}

/** Writes `data` at `offset`, skipping all-zero blocks (the file is sparse and zero already). */
async function writeSparse(fh: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  for (let i = 0; i < data.length; i += HOLE) {
    const chunk = data.subarray(i, Math.min(i + HOLE, data.length));
    if (!isZero(chunk)) await fh.write(chunk, 0, chunk.length, offset + i);
  }
}

/** Plans every partition's contents (throws USAGE before any file is touched). */
export async function planDisk(spec: DiskSpec): Promise<{ gpt: GptPlan; fat: Map<number, FatImagePlan> }> {
  const gpt = planGpt({ ...spec, partitions: spec.partitions });
  const fat = new Map<number, FatImagePlan>();
  for (const [i, p] of spec.partitions.entries()) {
    const placed = gpt.partitions[i];
    const c = p.contents;
    if (!placed || !c) continue;
    const where = `partition ${i + 1} (${placed.label}, ${placed.size} bytes)`;
    if (c.kind === 'fat') {
      const size = c.fat.size ?? placed.size;
      if (size > placed.size)
        throw new NodeimgError('USAGE', `the ${size}-byte FAT file system does not fit ${where}`);
      fat.set(i, planFat({ ...c.fat, size, hiddenSectors: placed.firstLba * (gpt.sectorSize / 512) }));
    } else if (c.kind === 'bytes') {
      if (c.data.length > placed.size)
        throw new NodeimgError('USAGE', `${c.data.length} bytes do not fit ${where}`);
    } else {
      const st = await stat(c.path).catch((err: unknown) => {
        throw new NodeimgError('IO_NOT_FOUND', `cannot read ${c.path}: ${(err as Error).message}`, {
          cause: err,
        });
      });
      if (st.size > placed.size)
        throw new NodeimgError('USAGE', `${c.path} (${st.size} bytes) does not fit ${where}`);
    }
  }
  return { gpt, fat };
}

/** Writes the disk image `spec` to `outFile`. */
export async function writeDisk(spec: DiskSpec, outFile: string): Promise<WrittenDisk> {
  const { gpt, fat } = await planDisk(spec);
  await mkdir(dirname(outFile), { recursive: true });
  const tmp = join(dirname(outFile), `.${basename(outFile)}.partial`);
  await rm(tmp, { force: true });
  const fh = await open(tmp, 'wx');
  try {
    await fh.truncate(gpt.diskSize);
    const table = gptTableBytes(gpt);
    await fh.write(table.head, 0, table.head.length, 0);
    await fh.write(table.tail, 0, table.tail.length, table.tailOffset);
    for (const [i, p] of spec.partitions.entries()) {
      const placed = gpt.partitions[i];
      const c = p.contents;
      if (!placed || !c) continue;
      if (c.kind === 'fat') {
        for (const piece of (fat.get(i) as FatImagePlan).pieces)
          await writeSparse(fh, piece.data, placed.offset + piece.offset);
      } else if (c.kind === 'bytes') {
        await writeSparse(fh, c.data, placed.offset);
      } else {
        let at = placed.offset;
        for await (const chunk of createReadStream(c.path, { highWaterMark: COPY_CHUNK })) {
          const b = chunk as Buffer;
          await writeSparse(fh, b, at);
          at += b.length;
        }
      }
    }
    await fh.close();
    await rename(tmp, outFile);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: outFile, gpt, fat };
}
