import type { ByteReader } from '../reader.js';
import { crc32 } from './crc32.js';
import { guidToString } from './guid.js';

// UEFI 2.10 §5.3.2, Table 5.21: GPT Header (EFI_PARTITION_TABLE_HEADER).
//
//   offset size field
//        0    8 Signature "EFI PART"
//        8    4 Revision (0x00010000 for 1.0)
//       12    4 HeaderSize (>= 92, <= logical block size)
//       16    4 HeaderCRC32 (over HeaderSize bytes with this field zeroed)
//       20    4 Reserved (zero)
//       24    8 MyLBA
//       32    8 AlternateLBA
//       40    8 FirstUsableLBA
//       48    8 LastUsableLBA
//       56   16 DiskGUID
//       72    8 PartitionEntryLBA
//       80    4 NumberOfPartitionEntries
//       84    4 SizeOfPartitionEntry (128 * 2^n)
//       88    4 PartitionEntryArrayCRC32
//       92      (rest of the block is reserved, zero)

export const GPT_HEADER_SIZE = 92;
export const GPT_SIGNATURE = 'EFI PART';
const HEADER_CRC_OFFSET = 16;
export const ALTERNATE_LBA_OFFSET = 32;

/** Most entries nodeimg accepts in one array (sfdisk and systemd-repart write 128). */
export const MAX_GPT_ENTRIES = 1024;
/** Entry size bounds; UEFI requires 128 * 2^n. */
export const MIN_GPT_ENTRY_SIZE = 128;
export const MAX_GPT_ENTRY_SIZE = 4096;

export interface GptHeader {
  readonly revision: number;
  readonly headerSize: number;
  readonly headerCrc32: number;
  readonly myLba: number;
  readonly alternateLba: number;
  readonly firstUsableLba: number;
  readonly lastUsableLba: number;
  readonly diskGuid: string;
  readonly partitionEntryLba: number;
  readonly numberOfEntries: number;
  readonly sizeOfEntry: number;
  readonly entriesCrc32: number;
}

export function hasGptSignature(block: Uint8Array): boolean {
  for (let i = 0; i < GPT_SIGNATURE.length; i++) if (block[i] !== GPT_SIGNATURE.charCodeAt(i)) return false;
  return block.length >= GPT_HEADER_SIZE;
}

/**
 * Decodes and validates the header in one logical block `r` (read from `lba`). Checks the
 * signature, revision 1.x, HeaderSize, HeaderCRC32, MyLBA, the usable range and the size and
 * position of the entry array on a disk of `totalLbas` blocks. The entry array CRC is checked by
 * the caller, which reads the array.
 */
export function decodeGptHeader(r: ByteReader, lba: number, totalLbas: number): GptHeader {
  if (!hasGptSignature(r.bytes)) r.fail('missing "EFI PART" signature', 0);
  const revision = r.u32At(8);
  if (revision >>> 16 !== 1) r.fail(`revision 0x${revision.toString(16)} is not 1.x`, 8, 'PARSE_UNSUPPORTED');
  const headerSize = r.u32At(12);
  if (headerSize < GPT_HEADER_SIZE || headerSize > r.length)
    r.fail(`HeaderSize ${headerSize} is outside [${GPT_HEADER_SIZE}, ${r.length}]`, 12);
  const headerCrc32 = r.u32At(HEADER_CRC_OFFSET);
  // A copy (not .slice(): on a Node Buffer that is a view and would zero the caller's bytes).
  const copy = new Uint8Array(r.bytesAt(0, headerSize));
  copy.fill(0, HEADER_CRC_OFFSET, HEADER_CRC_OFFSET + 4);
  const computed = crc32(copy);
  if (computed !== headerCrc32)
    r.fail(`HeaderCRC32 0x${hex(headerCrc32)} does not match computed 0x${hex(computed)}`, HEADER_CRC_OFFSET);

  const myLba = lbaField(r, 24, totalLbas);
  if (myLba !== lba) r.fail(`MyLBA ${myLba} but the header was read from LBA ${lba}`, 24);
  // AlternateLBA is not checked against the disk here: a resized image has a stale one (a warning).
  const alternateLba = r.u64nAt(ALTERNATE_LBA_OFFSET);
  const firstUsableLba = lbaField(r, 40, totalLbas);
  const lastUsableLba = lbaField(r, 48, totalLbas);
  if (firstUsableLba > lastUsableLba)
    r.fail(`FirstUsableLBA ${firstUsableLba} > LastUsableLBA ${lastUsableLba}`, 40);
  if (lba >= firstUsableLba && lba <= lastUsableLba)
    r.fail(`header LBA ${lba} lies inside the usable range`, 40);

  const partitionEntryLba = lbaField(r, 72, totalLbas);
  const numberOfEntries = r.u32At(80);
  if (numberOfEntries === 0) r.fail('NumberOfPartitionEntries is 0', 80);
  if (numberOfEntries > MAX_GPT_ENTRIES)
    r.fail(`NumberOfPartitionEntries ${numberOfEntries} exceeds ${MAX_GPT_ENTRIES}`, 80, 'PARSE_LIMIT');
  const sizeOfEntry = r.u32At(84);
  if (sizeOfEntry > MAX_GPT_ENTRY_SIZE)
    r.fail(`SizeOfPartitionEntry ${sizeOfEntry} exceeds ${MAX_GPT_ENTRY_SIZE}`, 84, 'PARSE_LIMIT');
  if (sizeOfEntry < MIN_GPT_ENTRY_SIZE || (sizeOfEntry & (sizeOfEntry - 1)) !== 0)
    r.fail(`SizeOfPartitionEntry ${sizeOfEntry} is not 128 * 2^n`, 84);

  // The entry array must fit on the disk and stay clear of the header and the usable range.
  const blockSize = r.length;
  const arrayBlocks = Math.ceil((numberOfEntries * sizeOfEntry) / blockSize);
  const arrayEnd = partitionEntryLba + arrayBlocks - 1;
  if (partitionEntryLba === 0 || arrayEnd >= totalLbas)
    r.fail(`entry array at LBA ${partitionEntryLba} (+${arrayBlocks}) is outside the disk`, 72);
  if (partitionEntryLba <= lba && lba <= arrayEnd)
    r.fail(`entry array LBA ${partitionEntryLba}..${arrayEnd} overlaps the header`, 72);
  if (partitionEntryLba <= lastUsableLba && arrayEnd >= firstUsableLba)
    r.fail(`entry array LBA ${partitionEntryLba}..${arrayEnd} overlaps the usable range`, 72);

  return {
    revision,
    headerSize,
    headerCrc32,
    myLba,
    alternateLba,
    firstUsableLba,
    lastUsableLba,
    diskGuid: guidToString(r.bytesAt(56, 16)),
    partitionEntryLba,
    numberOfEntries,
    sizeOfEntry,
    entriesCrc32: r.u32At(88),
  };
}

/** A u64 LBA field that must address a block on the disk. */
function lbaField(r: ByteReader, pos: number, totalLbas: number): number {
  const v = r.u64At(pos);
  if (v >= BigInt(totalLbas)) r.fail(`LBA ${v} is past the last LBA ${totalLbas - 1}`, pos);
  return Number(v);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
