// GUID Partition Table reader (UEFI 2.10 §5.3). Pure: works on any ByteSource.
import { slice, type ByteSource } from '../source.js';
import type { GptPartition } from './entries.js';

export { readGpt, type GptDisk, type GptSectorSize, type ReadGptOptions } from './read-gpt.js';
export { gptEventData } from './event-data.js';
export { crc32 } from './crc32.js';
export { guidFromString, guidToString, isZeroGuid, partitionTypeName, PARTITION_TYPE_NAMES } from './guid.js';
export {
  GPT_HEADER_SIZE,
  MAX_GPT_ENTRIES,
  MAX_GPT_ENTRY_SIZE,
  MIN_GPT_ENTRY_SIZE,
  type GptHeader,
} from './header.js';
export type { GptPartition } from './entries.js';

/** The bytes of one partition as a ByteSource (offsets relative to the partition start). */
export function partitionSource(disk: ByteSource, p: GptPartition): ByteSource {
  const label = p.name === '' ? `partition ${p.index}` : `partition ${p.index} (${p.name})`;
  return slice(disk, p.offset, p.size, `${disk.name} ${label}`);
}
export {
  GPT_ATTR,
  GPT_ENTRY_SIZE,
  GPT_TYPES,
  gptDiskImage,
  gptTableBytes,
  planGpt,
  repartDiskGuid,
  repartPartitionGuid,
  type GptLayoutInput,
  type GptPartitionInput,
  type GptPlan,
  type GptPlannedPartition,
  type GptTableBytes,
  type GptTypeName,
} from './writer.js';
