import { ParseError } from '../errors.js';
import type { ByteSource } from '../source.js';
import { GPT_HEADER_SIZE } from './header.js';
import { isZeroGuid } from './guid.js';
import type { GptDisk } from './read-gpt.js';
import { readGptCopy } from './table-copy.js';

// UEFI_GPT_DATA, the event data (and digest input) of EV_EFI_GPT_EVENT in PCR 5 (TCG PC Client
// PFP; edk2 SecurityPkg DxeTpm2MeasureBootLib Tcg2MeasureGptTable; measured-boot.md §3.3):
//
//   EFI_PARTITION_TABLE_HEADER  92 bytes: the primary header (LBA 1) as stored, always
//                               sizeof(EFI_PARTITION_TABLE_HEADER), not HeaderSize
//   UINT64 NumberOfPartitions   count of entries whose PartitionTypeGUID is not zero
//   EFI_PARTITION_ENTRY[]       those entries verbatim, SizeOfPartitionEntry bytes each, in
//                               entry-array order

const COUNT_SIZE = 8;

/**
 * Builds UEFI_GPT_DATA from the primary GPT of `disk`, as `gpt` (from readGpt on the same disk)
 * describes it. Throws if readGpt had to fall back to the backup: which header firmware then
 * measures depends on the edk2 version (§3.3), so nodeimg refuses to guess.
 */
export async function gptEventData(disk: ByteSource, gpt: GptDisk): Promise<Uint8Array> {
  const blockSize = gpt.sectorSize;
  if (gpt.usedBackup) {
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      'primary GPT header',
      disk.base + blockSize,
      'the primary GPT is invalid, so the firmware-measured UEFI_GPT_DATA cannot be predicted',
    );
  }
  const geo = { blockSize, totalLbas: Math.floor(disk.size / blockSize) };
  const primary = await readGptCopy(disk, 1, geo, 'primary');
  const h = primary.header;
  if (h.headerCrc32 !== gpt.header.headerCrc32 || h.entriesCrc32 !== gpt.header.entriesCrc32) {
    throw new ParseError(
      'PARSE_INVALID',
      'primary GPT header',
      disk.base + blockSize,
      'the disk no longer matches the GPT that was read',
    );
  }
  const header = await disk.read(blockSize, GPT_HEADER_SIZE);

  const used: Uint8Array[] = [];
  for (let i = 0; i < h.numberOfEntries; i++) {
    const entry = primary.entryArray.subarray(i * h.sizeOfEntry, (i + 1) * h.sizeOfEntry);
    if (!isZeroGuid(entry.subarray(0, 16))) used.push(entry);
  }
  const out = new Uint8Array(GPT_HEADER_SIZE + COUNT_SIZE + used.length * h.sizeOfEntry);
  out.set(header, 0);
  new DataView(out.buffer).setBigUint64(GPT_HEADER_SIZE, BigInt(used.length), true);
  used.forEach((entry, i) => out.set(entry, GPT_HEADER_SIZE + COUNT_SIZE + i * h.sizeOfEntry));
  return out;
}
