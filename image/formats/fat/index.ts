// FAT12/16/32 reader (Microsoft fatgen103). Pure: works on any ByteSource, e.g. a GPT partition.
export { MAX_FILE_BYTES } from './fat-volume.js';
export { MAX_DIR_DEPTH, MAX_WALK_ENTRIES } from './walk.js';
export type { FatEntry, FatFs } from './fat-fs.js';
export { MAX_DIR_ENTRIES } from './directory.js';
export type { FatType, FatLayout } from './boot-sector.js';
export type { FatExtent } from './table.js';
export {
  ATTR_ARCHIVE,
  ATTR_DIRECTORY,
  ATTR_HIDDEN,
  ATTR_READ_ONLY,
  ATTR_SYSTEM,
  ATTR_VOLUME_ID,
} from './dir-entry.js';

export { openFat } from './open.js';
export { fatImageBytes, fatTime, planFat, writeFat } from './writer.js';
export type { FatFileInput, FatImageInput, FatImagePlan, FatPiece, FatPlacedFile } from './writer.js';
