import { NodeimgError, ParseError } from '../errors.js';
import type { ByteSource } from '../source.js';
import { ALTERNATE_LBA_OFFSET, GPT_HEADER_SIZE, hasGptSignature, type GptHeader } from './header.js';
import type { GptPartition } from './entries.js';
import { MBR_SIZE, protectiveMbrWarning } from './mbr.js';
import { copyMismatches, readGptCopy, type DiskGeometry, type GptCopy } from './table-copy.js';

// Reading a GPT disk as UEFI 2.10 §5.3.2 "GPT Header" validation describes: check the primary
// header (signature, HeaderCRC32, MyLBA) and its entry array CRC; if it fails, use the backup
// header (in the last LBA, or at the primary's AlternateLBA) and report that the primary is bad.

export type GptSectorSize = 512 | 4096;

export interface GptDisk {
  readonly sectorSize: GptSectorSize;
  /** The header that was used: the primary's, or the backup's when usedBackup. */
  readonly header: GptHeader;
  readonly usedBackup: boolean;
  readonly warnings: string[];
  /** Non-empty entries in entry-array order. */
  readonly partitions: GptPartition[];
}

export interface ReadGptOptions {
  /** Logical block size; detected from where "EFI PART" is found when omitted (512 first). */
  readonly sectorSize?: GptSectorSize;
}

export async function readGpt(disk: ByteSource, opts: ReadGptOptions = {}): Promise<GptDisk> {
  const sectorSize = opts.sectorSize ?? (await detectSectorSize(disk));
  if (sectorSize !== 512 && sectorSize !== 4096)
    throw new NodeimgError('USAGE', `sector size ${String(sectorSize)} is not 512 or 4096`);
  const geo: DiskGeometry = { blockSize: sectorSize, totalLbas: Math.floor(disk.size / sectorSize) };
  if (geo.totalLbas < 3)
    throw new ParseError(
      'PARSE_TRUNCATED',
      disk.name,
      disk.base,
      `${disk.size} bytes is too small for a GPT with ${sectorSize}-byte sectors`,
    );
  const lastLba = geo.totalLbas - 1;
  const warnings: string[] = [];
  if (disk.size % sectorSize !== 0)
    warnings.push(`disk size ${disk.size} is not a multiple of the ${sectorSize}-byte sector size`);
  const mbrWarning = protectiveMbrWarning(await disk.read(0, MBR_SIZE));
  if (mbrWarning !== undefined) warnings.push(mbrWarning);

  let primary: GptCopy;
  try {
    primary = await readGptCopy(disk, 1, geo, 'primary');
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return readBackupInstead(disk, geo, err, warnings);
  }

  // Primary is good; still check the backup so a half-written disk does not go unnoticed.
  const alt = primary.header.alternateLba;
  if (alt !== lastLba)
    warnings.push(`primary GPT AlternateLBA ${alt} is not the last LBA ${lastLba} (resized disk?)`);
  const backupLba = alt > 1 && alt <= lastLba ? alt : lastLba;
  try {
    const backup = await readGptCopy(disk, backupLba, geo, 'backup');
    warnings.push(...copyMismatches(primary.header, backup.header));
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    warnings.push(`backup GPT at LBA ${backupLba} is unusable: ${err.message}`);
  }
  return {
    sectorSize,
    header: primary.header,
    usedBackup: false,
    warnings: [...warnings, ...primary.warnings],
    partitions: primary.partitions,
  };
}

async function readBackupInstead(
  disk: ByteSource,
  geo: DiskGeometry,
  primaryErr: ParseError,
  warnings: string[],
): Promise<GptDisk> {
  const lastLba = geo.totalLbas - 1;
  const candidates = [lastLba];
  // The primary's AlternateLBA, if its header is at least recognisable, even with a bad CRC.
  const block1 = await disk.read(geo.blockSize, geo.blockSize);
  if (hasGptSignature(block1)) {
    const alt = new DataView(block1.buffer, block1.byteOffset, block1.byteLength).getBigUint64(
      ALTERNATE_LBA_OFFSET,
      true,
    );
    if (alt > 1n && alt < BigInt(lastLba)) candidates.push(Number(alt));
  }
  const failures: string[] = [];
  for (const lba of candidates) {
    try {
      const backup = await readGptCopy(disk, lba, geo, 'backup');
      warnings.push(`primary GPT is unusable (${primaryErr.message}); using the backup at LBA ${lba}`);
      if (backup.header.alternateLba !== 1)
        warnings.push(`backup GPT AlternateLBA is ${backup.header.alternateLba}, not 1`);
      return {
        sectorSize: geo.blockSize as GptSectorSize,
        header: backup.header,
        usedBackup: true,
        warnings: [...warnings, ...backup.warnings],
        partitions: backup.partitions,
      };
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      failures.push(err.message);
    }
  }
  throw new ParseError(
    primaryErr.code,
    primaryErr.structure,
    primaryErr.offset,
    `no usable GPT. primary: ${primaryErr.message}; backup: ${failures.join('; ')}`,
    { cause: primaryErr },
  );
}

/** 512 unless "EFI PART" is found only where a 4096-byte-sector disk keeps it. */
async function detectSectorSize(disk: ByteSource): Promise<GptSectorSize> {
  const sizes: GptSectorSize[] = [512, 4096];
  for (const ss of sizes) {
    if (disk.size >= 3 * ss && hasGptSignature(await disk.read(ss, GPT_HEADER_SIZE))) return ss;
  }
  for (const ss of sizes) {
    const last = Math.floor(disk.size / ss) - 1;
    if (last >= 2 && hasGptSignature(await disk.read(last * ss, GPT_HEADER_SIZE))) return ss;
  }
  return 512;
}
