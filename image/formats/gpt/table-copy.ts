import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import { crc32 } from './crc32.js';
import { decodeGptEntries, type GptPartition } from './entries.js';
import { decodeGptHeader, type GptHeader } from './header.js';

// One copy of the partition table (UEFI 2.10 §5.3.2): a header block plus the entry array it
// points to. The primary copy is at LBA 1; the backup header is normally in the last LBA with
// its entry array just before it.

export type CopyName = 'primary' | 'backup';

export interface GptCopy {
  readonly header: GptHeader;
  /** The entry array exactly as stored (NumberOfPartitionEntries * SizeOfPartitionEntry bytes). */
  readonly entryArray: Uint8Array;
  readonly partitions: GptPartition[];
  readonly warnings: string[];
}

export interface DiskGeometry {
  readonly blockSize: number;
  readonly totalLbas: number;
}

/** Reads and validates the header block at `lba`, then the entry array and its CRC32. */
export async function readGptCopy(
  disk: ByteSource,
  lba: number,
  geo: DiskGeometry,
  which: CopyName,
): Promise<GptCopy> {
  const headerAt = lba * geo.blockSize;
  const block = await disk.read(headerAt, geo.blockSize);
  const header = decodeGptHeader(
    new ByteReader(block, `${which} GPT header`, disk.base + headerAt),
    lba,
    geo.totalLbas,
  );
  const arrayAt = header.partitionEntryLba * geo.blockSize;
  // Size bounded by the header checks: at most MAX_GPT_ENTRIES * MAX_GPT_ENTRY_SIZE = 4 MiB.
  const entryArray = await disk.read(arrayAt, header.numberOfEntries * header.sizeOfEntry);
  const computed = crc32(entryArray);
  if (computed !== header.entriesCrc32) {
    throw new ParseError(
      'PARSE_INVALID',
      `${which} GPT entry array`,
      disk.base + arrayAt,
      `PartitionEntryArrayCRC32 0x${header.entriesCrc32.toString(16)} (header at LBA ${lba}) does not match computed 0x${computed.toString(16)}`,
    );
  }
  const warnings: string[] = [];
  const r = new ByteReader(entryArray, `${which} GPT entry array`, disk.base + arrayAt);
  const partitions = decodeGptEntries(r, header, geo.blockSize, geo.totalLbas, warnings);
  return { header, entryArray, partitions, warnings };
}

/** Differences between the primary and backup headers that UEFI requires to agree. */
export function copyMismatches(primary: GptHeader, backup: GptHeader): string[] {
  const out: string[] = [];
  const same = [
    'diskGuid',
    'firstUsableLba',
    'lastUsableLba',
    'numberOfEntries',
    'sizeOfEntry',
    'entriesCrc32',
  ] as const;
  for (const key of same) {
    if (primary[key] !== backup[key])
      out.push(`backup GPT ${key} ${String(backup[key])} differs from the primary's ${String(primary[key])}`);
  }
  if (backup.alternateLba !== primary.myLba)
    out.push(
      `backup GPT AlternateLBA ${backup.alternateLba} does not point to the primary at LBA ${primary.myLba}`,
    );
  return out;
}
