import type { ByteReader } from '../reader.js';
import { oemText } from './dir-entry.js';

// Microsoft "FAT: General Overview of On-Disk Format" (fatgen103, 2000), §3: the boot sector and
// BPB. Common fields (§3.1), then the FAT12/16 tail (§3.2) or the FAT32 tail (§3.3):
//
//   off size field                 off size FAT12/16 (§3.2)   off size FAT32 (§3.3)
//     0    3 BS_jmpBoot              36    1 BS_DrvNum          36    4 BPB_FATSz32
//     3    8 BS_OEMName              37    1 BS_Reserved1       40    2 BPB_ExtFlags
//    11    2 BPB_BytsPerSec          38    1 BS_BootSig (0x29)  42    2 BPB_FSVer
//    13    1 BPB_SecPerClus          39    4 BS_VolID           44    4 BPB_RootClus
//    14    2 BPB_RsvdSecCnt          43   11 BS_VolLab          48    2 BPB_FSInfo
//    16    1 BPB_NumFATs             54    8 BS_FilSysType      50    2 BPB_BkBootSec
//    17    2 BPB_RootEntCnt                                     64..89 as 36..61 of FAT12/16
//    19    2 BPB_TotSec16          510    2 signature 0x55 0xAA
//    21    1 BPB_Media
//    22    2 BPB_FATSz16
//    32    4 BPB_TotSec32

export const BOOT_SECTOR_SIZE = 512;
export const BYTES_PER_SECTOR = [512, 1024, 2048, 4096] as const;
/** fatgen103 says > 32 KiB is invalid; Windows NT formats 64 KiB clusters, so that is the cap. */
export const MAX_CLUSTER_SIZE = 64 * 1024;
/** fatgen103 §3.5: the FAT type is decided by the cluster count alone. */
export const MAX_FAT12_CLUSTERS = 4084;
export const MAX_FAT16_CLUSTERS = 65524;
/** Cluster numbers 0x0FFFFFF7 and up are markers, so at most 0x0FFFFFF5 - 1 data clusters. */
export const MAX_FAT32_CLUSTERS = 0x0ffffff4;
const EXT_BOOT_SIG = 0x29;

export type FatType = 'FAT12' | 'FAT16' | 'FAT32';

/** Geometry of one FAT volume, all offsets in bytes from the start of the volume. */
export interface FatLayout {
  readonly type: FatType;
  readonly bytesPerSector: number;
  readonly clusterSize: number;
  readonly numFats: number;
  readonly totalBytes: number;
  /** Number of data clusters; valid cluster numbers are 2 .. clusterCount + 1. */
  readonly clusterCount: number;
  /** The FAT nodeimg reads (FAT32 may disable mirroring and select one). */
  readonly fatOffset: number;
  readonly fatBytes: number;
  /** FAT12/16 fixed root directory region; 0 bytes on FAT32. */
  readonly rootDirOffset: number;
  readonly rootDirBytes: number;
  /** FAT32 root directory cluster; 0 on FAT12/16. */
  readonly rootCluster: number;
  /** Offset of cluster 2. */
  readonly dataOffset: number;
  /** BS_VolID when the extended boot signature is present. */
  readonly volumeId: number | undefined;
  /** BS_VolLab with trailing spaces removed, when present. */
  readonly bootLabel: string | undefined;
}

/** Decodes the first 512 bytes of a volume of `volumeSize` bytes. */
export function decodeBootSector(r: ByteReader, volumeSize: number): FatLayout {
  if (r.u8At(510) !== 0x55 || r.u8At(511) !== 0xaa) r.fail('missing 0x55 0xAA boot sector signature', 510);
  const bps = r.u16At(11);
  if (!(BYTES_PER_SECTOR as readonly number[]).includes(bps))
    r.fail(`BPB_BytsPerSec ${bps} is not 512, 1024, 2048 or 4096`, 11);
  const spc = r.u8At(13);
  if (spc === 0 || (spc & (spc - 1)) !== 0) r.fail(`BPB_SecPerClus ${spc} is not a power of two`, 13);
  const clusterSize = bps * spc;
  if (clusterSize > MAX_CLUSTER_SIZE)
    r.fail(`cluster size ${clusterSize} exceeds ${MAX_CLUSTER_SIZE}`, 13, 'PARSE_UNSUPPORTED');
  const reserved = r.u16At(14);
  if (reserved === 0) r.fail('BPB_RsvdSecCnt is 0', 14);
  const numFats = r.u8At(16);
  if (numFats === 0) r.fail('BPB_NumFATs is 0', 16);
  const rootEntCnt = r.u16At(17);
  const fatSz16 = r.u16At(22);
  const fatSz = fatSz16 !== 0 ? fatSz16 : r.u32At(36);
  if (fatSz === 0) r.fail('FAT size (BPB_FATSz16 / BPB_FATSz32) is 0', 22);
  const totSec16 = r.u16At(19);
  const totSec = totSec16 !== 0 ? totSec16 : r.u32At(32);
  if (totSec === 0) r.fail('sector count (BPB_TotSec16 / BPB_TotSec32) is 0', 19);
  const totalBytes = totSec * bps;
  if (totalBytes > volumeSize)
    r.fail(`file system claims ${totalBytes} bytes but the volume has ${volumeSize}`, 19);

  // fatgen103 §3.5 "FAT Type Determination".
  const rootDirSectors = Math.ceil((rootEntCnt * 32) / bps);
  const metaSectors = reserved + numFats * fatSz + rootDirSectors;
  if (metaSectors >= totSec)
    r.fail(
      `reserved, FAT and root directory sectors (${metaSectors}) leave no data region in ${totSec} sectors`,
      22,
    );
  const clusterCount = Math.floor((totSec - metaSectors) / spc);
  if (clusterCount === 0) r.fail('volume has no data clusters', 13);
  const type: FatType =
    clusterCount <= MAX_FAT12_CLUSTERS ? 'FAT12' : clusterCount <= MAX_FAT16_CLUSTERS ? 'FAT16' : 'FAT32';

  const entryBits = type === 'FAT12' ? 12 : type === 'FAT16' ? 16 : 32;
  const fatBytes = fatSz * bps;
  if (Math.ceil(((clusterCount + 2) * entryBits) / 8) > fatBytes)
    r.fail(`FAT of ${fatBytes} bytes cannot hold ${clusterCount + 2} ${type} entries`, 22);

  let activeFat = 0;
  let rootCluster = 0;
  let tail = 36;
  if (type === 'FAT32') {
    if (clusterCount > MAX_FAT32_CLUSTERS)
      r.fail(`${clusterCount} clusters exceed the FAT32 maximum`, 32, 'PARSE_UNSUPPORTED');
    if (fatSz16 !== 0 || rootEntCnt !== 0)
      r.fail(`${clusterCount} clusters make this FAT32, but the BPB is laid out for FAT12/16`, 17);
    const extFlags = r.u16At(40);
    if (extFlags & 0x80) activeFat = extFlags & 0x0f; // bit 7: mirroring disabled, bits 0-3 active FAT
    if (activeFat >= numFats) r.fail(`BPB_ExtFlags selects FAT ${activeFat} of ${numFats}`, 40);
    const fsVer = r.u16At(42);
    if (fsVer !== 0) r.fail(`BPB_FSVer ${fsVer >> 8}.${fsVer & 0xff} is not 0.0`, 42, 'PARSE_UNSUPPORTED');
    rootCluster = r.u32At(44);
    if (rootCluster < 2 || rootCluster > clusterCount + 1)
      r.fail(`BPB_RootClus ${rootCluster} is not a data cluster`, 44);
    tail = 64;
  } else if (rootEntCnt === 0) {
    r.fail(
      `${clusterCount} clusters make this ${type}, but BPB_RootEntCnt is 0 (a FAT32 layout)`,
      17,
      'PARSE_UNSUPPORTED',
    );
  }

  const hasExt = r.u8At(tail + 2) === EXT_BOOT_SIG;
  return {
    type,
    bytesPerSector: bps,
    clusterSize,
    numFats,
    totalBytes,
    clusterCount,
    fatOffset: (reserved + activeFat * fatSz) * bps,
    fatBytes,
    rootDirOffset: (reserved + numFats * fatSz) * bps,
    rootDirBytes: type === 'FAT32' ? 0 : rootEntCnt * 32,
    rootCluster,
    dataOffset: (reserved + numFats * fatSz + rootDirSectors) * bps,
    volumeId: hasExt ? r.u32At(tail + 3) : undefined,
    bootLabel: hasExt ? oemText(r.bytesAt(tail + 7, 11)).trimEnd() : undefined,
  };
}
