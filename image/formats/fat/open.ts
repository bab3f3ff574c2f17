// Opening a FAT volume; in its own file so that readers (image/boot-chain.ts) can import it without
// the FAT writer that index.ts also re-exports.
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import { BOOT_SECTOR_SIZE, decodeBootSector } from './boot-sector.js';
import type { FatFs } from './fat-fs.js';
import { FatVolume } from './fat-volume.js';

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
