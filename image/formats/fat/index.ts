// FAT12/16/32 reader (Microsoft fatgen103). Pure: works on any ByteSource, e.g. a GPT partition.
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import { BOOT_SECTOR_SIZE, decodeBootSector } from './boot-sector.js';
import type { FatFs } from './fat-fs.js';
import { FatVolume } from './fat-volume.js';

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

/** Opens the FAT file system that starts at byte 0 of `part`; reads the boot sector and root. */
export async function openFat(part: ByteSource): Promise<FatFs> {
  if (part.size < BOOT_SECTOR_SIZE)
    throw new ParseError(
      'PARSE_TRUNCATED',
      'FAT boot sector',
      part.base,
      `${part.size} bytes is smaller than a boot sector`,
    );
  const boot = await part.read(0, BOOT_SECTOR_SIZE);
  const layout = decodeBootSector(new ByteReader(boot, 'FAT boot sector', part.base), part.size);
  const fs = new FatVolume(part, layout);
  await fs.init();
  return fs;
}
export { fatImageBytes, fatTime, planFat, writeFat } from './writer.js';
export type { FatFileInput, FatImageInput, FatImagePlan, FatPiece, FatPlacedFile } from './writer.js';
