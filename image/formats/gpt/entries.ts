import { utf16z, type ByteReader } from '../reader.js';
import type { GptHeader } from './header.js';
import { guidToString, isZeroGuid, partitionTypeName } from './guid.js';

// UEFI 2.10 §5.3.3, Table 5.22: GPT Partition Entry (EFI_PARTITION_ENTRY).
//
//   offset size field
//        0   16 PartitionTypeGUID (all zero: unused entry)
//       16   16 UniquePartitionGUID
//       32    8 StartingLBA
//       40    8 EndingLBA (inclusive)
//       48    8 Attributes (bit 0 required, 1 no block IO, 2 legacy BIOS bootable, 48-63 type specific)
//       56   72 PartitionName (UTF-16LE, NUL-terminated unless full)
//      128      (SizeOfPartitionEntry - 128 reserved bytes)

export const GPT_ENTRY_NAME_OFFSET = 56;
export const GPT_ENTRY_NAME_SIZE = 72;

export interface GptPartition {
  /** 1-based position in the entry array (the N of /dev/sdaN). */
  readonly index: number;
  readonly typeGuid: string;
  /** Human name of well-known type GUIDs. */
  readonly typeName?: string;
  readonly uniqueGuid: string;
  readonly firstLba: number;
  /** Inclusive. */
  readonly lastLba: number;
  readonly attributes: bigint;
  readonly name: string;
  /** Byte offset of the partition on the disk. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
}

/**
 * Decodes the non-empty entries of the array in `r` (exactly NumberOfPartitionEntries *
 * SizeOfPartitionEntry bytes). Entries with StartingLBA > EndingLBA or ending past the disk are
 * errors; entries outside the usable range or overlapping others are reported in `warnings`
 * (UEFI forbids both, but the data is still addressable).
 */
export function decodeGptEntries(
  r: ByteReader,
  header: GptHeader,
  blockSize: number,
  totalLbas: number,
  warnings: string[],
): GptPartition[] {
  const parts: GptPartition[] = [];
  for (let i = 0; i < header.numberOfEntries; i++) {
    const e = r.sub(i * header.sizeOfEntry, header.sizeOfEntry, `GPT entry ${i + 1}`);
    const type = e.bytesAt(0, 16);
    if (isZeroGuid(type)) continue;
    const first = e.u64At(32);
    const last = e.u64At(40);
    if (first > last) e.fail(`StartingLBA ${first} > EndingLBA ${last}`, 32);
    if (last >= BigInt(totalLbas)) e.fail(`EndingLBA ${last} is past the last LBA ${totalLbas - 1}`, 40);
    const firstLba = Number(first);
    const lastLba = Number(last);
    const typeGuid = guidToString(type);
    const typeName = partitionTypeName(typeGuid);
    parts.push({
      index: i + 1,
      typeGuid,
      ...(typeName === undefined ? {} : { typeName }),
      uniqueGuid: guidToString(e.bytesAt(16, 16)),
      firstLba,
      lastLba,
      attributes: e.u64At(48),
      name: utf16z(e.bytesAt(GPT_ENTRY_NAME_OFFSET, GPT_ENTRY_NAME_SIZE)),
      offset: firstLba * blockSize,
      size: (lastLba - firstLba + 1) * blockSize,
    });
    if (firstLba < header.firstUsableLba || lastLba > header.lastUsableLba) {
      warnings.push(
        `partition ${i + 1} (LBA ${firstLba}..${lastLba}) lies outside the usable range ${header.firstUsableLba}..${header.lastUsableLba}`,
      );
    }
  }
  const byStart = [...parts].sort((a, b) => a.firstLba - b.firstLba);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1] as GptPartition;
    const cur = byStart[i] as GptPartition;
    if (cur.firstLba <= prev.lastLba)
      warnings.push(`partitions ${prev.index} and ${cur.index} overlap at LBA ${cur.firstLba}`);
  }
  return parts;
}
