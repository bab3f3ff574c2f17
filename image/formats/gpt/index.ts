// GUID Partition Table reader (UEFI 2.10 §5.3). Pure: works on any ByteSource.

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
export { partitionSource } from './partition-source.js';
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
