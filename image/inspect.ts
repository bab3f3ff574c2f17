// `nodeimg inspect`: what is in a disk image, an ESP image or an EFI binary, read without root,
// mounting, loop devices or systemd-dissect. Reads only the ranges it needs (never the whole image).
import { NodeimgError, ParseError } from './formats/errors.js';
import type { ByteSource } from './formats/source.js';
import { sha256Of } from './digest.js';
import { readGpt, partitionSource, type GptDisk } from './formats/gpt/index.js';
import { openFat, type FatFs } from './formats/fat/index.js';
import { inspectPe, type PeReport } from './inspect-pe.js';
import { withFileSource } from './file-source.js';

export const INSPECT_SCHEMA_ID = 'https://nodeimg.dev/schema/inspect/v1.json';

export interface PartitionReport {
  readonly index: number;
  readonly typeGuid: string;
  readonly typeName: string | null;
  readonly uniqueGuid: string;
  readonly name: string;
  readonly firstLba: number;
  readonly lastLba: number;
  readonly offset: number;
  readonly size: number;
  readonly attributes: string;
}

export interface FileReport {
  readonly path: string;
  readonly type: 'file' | 'directory';
  readonly size: number;
  readonly sha256: string | null;
}

export interface FilesystemReport {
  readonly partition: number | null;
  readonly type: 'FAT12' | 'FAT16' | 'FAT32';
  readonly volumeId: string;
  readonly volumeLabel: string;
  readonly clusterSize: number;
  readonly files: readonly FileReport[];
}

export interface InspectReport {
  readonly $schema: typeof INSPECT_SCHEMA_ID;
  readonly input: { readonly path: string; readonly size: number; readonly kind: 'disk' | 'fat' | 'pe' };
  readonly disk: {
    readonly sectorSize: number;
    readonly diskGuid: string;
    readonly usedBackupHeader: boolean;
    readonly partitions: readonly PartitionReport[];
  } | null;
  readonly filesystems: readonly FilesystemReport[];
  readonly efiBinaries: readonly PeReport[];
  readonly warnings: readonly string[];
}

const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
/** Files larger than this on an ESP are listed but not hashed or parsed (a UKI is < 1 GiB). */
const MAX_ESP_FILE = 2 * 1024 * 1024 * 1024;

type Kind = InspectReport['input']['kind'];

async function detectKind(src: ByteSource): Promise<Kind> {
  const head = await src.read(0, Math.min(src.size, 4096 + 8));
  const at = (o: number, s: string) =>
    head.length >= o + s.length && String.fromCharCode(...head.subarray(o, o + s.length)) === s;
  if (at(0, 'MZ')) return 'pe';
  if (at(512, 'EFI PART') || at(4096, 'EFI PART')) return 'disk';
  if (
    head.length >= 512 &&
    head[510] === 0x55 &&
    head[511] === 0xaa &&
    (head[0] === 0xeb || head[0] === 0xe9)
  )
    return 'fat';
  throw new ParseError(
    'PARSE_UNSUPPORTED',
    src.name,
    0,
    'not a GPT disk image, a FAT file system or a PE/EFI binary',
  );
}

function partitionReport(p: GptDisk['partitions'][number]): PartitionReport {
  return {
    index: p.index,
    typeGuid: p.typeGuid,
    typeName: p.typeName ?? null,
    uniqueGuid: p.uniqueGuid,
    name: p.name,
    firstLba: p.firstLba,
    lastLba: p.lastLba,
    offset: p.offset,
    size: p.size,
    attributes: `0x${p.attributes.toString(16).padStart(16, '0')}`,
  };
}

async function isMz(src: ByteSource): Promise<boolean> {
  if (src.size < 64) return false;
  const b = await src.read(0, 2);
  return b[0] === 0x4d && b[1] === 0x5a;
}

async function inspectFat(fs: FatFs, partition: number | null, warnings: string[]) {
  const files: FileReport[] = [];
  const bins: PeReport[] = [];
  for await (const e of fs.walk()) {
    if (e.isDirectory) {
      files.push({ path: e.path, type: 'directory', size: 0, sha256: null });
      continue;
    }
    if (e.size > MAX_ESP_FILE) {
      warnings.push(`${e.path}: ${e.size} bytes, too large to hash`);
      files.push({ path: e.path, type: 'file', size: e.size, sha256: null });
      continue;
    }
    const src = fs.fileSource(e);
    files.push({ path: e.path, type: 'file', size: e.size, sha256: await sha256Of(src) });
    if (await isMz(src)) {
      try {
        bins.push(await inspectPe(src, e.path, partition));
      } catch (err) {
        if (!(err instanceof NodeimgError)) throw err;
        warnings.push(`${e.path}: starts with MZ but is not a valid PE image: ${err.message}`);
      }
    }
  }
  const report: FilesystemReport = {
    partition,
    type: fs.type,
    volumeId: fs.volumeId,
    volumeLabel: fs.volumeLabel,
    clusterSize: fs.clusterSize,
    files,
  };
  return { report, bins };
}

/** Inspects any supported input given as a ByteSource. */
export async function inspectSource(src: ByteSource): Promise<InspectReport> {
  const kind = await detectKind(src);
  const warnings: string[] = [];
  const filesystems: FilesystemReport[] = [];
  const efiBinaries: PeReport[] = [];
  let disk: InspectReport['disk'] = null;
  if (kind === 'pe') {
    efiBinaries.push(await inspectPe(src, src.name, null));
  } else if (kind === 'fat') {
    const { report, bins } = await inspectFat(await openFat(src), null, warnings);
    filesystems.push(report);
    efiBinaries.push(...bins);
  } else {
    const gpt = await readGpt(src);
    warnings.push(...gpt.warnings);
    disk = {
      sectorSize: gpt.sectorSize,
      diskGuid: gpt.header.diskGuid,
      usedBackupHeader: gpt.usedBackup,
      partitions: gpt.partitions.map(partitionReport),
    };
    const esps = gpt.partitions.filter((p) => p.typeGuid === ESP_TYPE);
    if (esps.length === 0) warnings.push('no EFI system partition (type c12a7328-…) on this disk');
    for (const p of esps) {
      const { report, bins } = await inspectFat(await openFat(partitionSource(src, p)), p.index, warnings);
      filesystems.push(report);
      efiBinaries.push(...bins);
    }
  }
  return {
    $schema: INSPECT_SCHEMA_ID,
    input: { path: src.name, size: src.size, kind },
    disk,
    filesystems,
    efiBinaries,
    warnings,
  };
}

export function inspectFile(path: string): Promise<InspectReport> {
  return withFileSource(path, (src) => inspectSource(src));
}
