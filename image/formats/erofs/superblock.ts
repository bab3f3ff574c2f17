// The erofs superblock: 128 little-endian bytes at byte 1024 of the file system (erofs-utils
// include/erofs_fs.h, struct erofs_super_block; Linux fs/erofs/erofs_fs.h). The reader accepts the
// layouts mkfs.erofs 1.5-1.8 writes without the 48-bit layout or a metabox (incompat bits up to
// XATTR_PREFIXES, 0x40); anything newer is PARSE_UNSUPPORTED rather than misread. The superblock
// crc32c (feature_compat bit 0) is not checked: the reproduce diff compares bytes anyway. Pure.
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';

export const EROFS_SUPER_OFFSET = 1024;
export const EROFS_MAGIC = 0xe0f5e1e2;
const SUPERBLOCK_SIZE = 128;
/** ZERO_PADDING | COMPR_CFGS | CHUNKED_FILE | DEVICE_TABLE | ZTAILPACKING | FRAGMENTS | XATTR_PREFIXES. */
const KNOWN_INCOMPAT = 0x7f;
export const INCOMPAT_CHUNKED_FILE = 0x4;

export interface ErofsSuperblock {
  readonly blockSize: number;
  readonly blockBits: number;
  readonly rootNid: number;
  readonly inodes: number;
  /** Compact inodes carry no time: theirs is the build time. */
  readonly buildTime: number;
  readonly buildTimeNsec: number;
  readonly blocks: number;
  readonly metaBlkAddr: number;
  readonly xattrBlkAddr: number;
  readonly uuid: string;
  readonly volumeName: string;
  readonly featureCompat: number;
  readonly featureIncompat: number;
  readonly extraDevices: number;
}

/** Whether `src` starts with an erofs superblock (magic only). */
export async function isErofs(src: ByteSource): Promise<boolean> {
  if (src.size < EROFS_SUPER_OFFSET + SUPERBLOCK_SIZE) return false;
  const b = await src.read(EROFS_SUPER_OFFSET, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) === EROFS_MAGIC;
}

export async function readErofsSuperblock(src: ByteSource): Promise<ErofsSuperblock> {
  if (src.size < EROFS_SUPER_OFFSET + SUPERBLOCK_SIZE)
    throw new ParseError(
      'PARSE_TRUNCATED',
      'erofs superblock',
      src.base,
      `${src.size} bytes is too small for an erofs file system`,
    );
  const r = new ByteReader(
    await src.read(EROFS_SUPER_OFFSET, SUPERBLOCK_SIZE),
    'erofs superblock',
    src.base + EROFS_SUPER_OFFSET,
  );
  const magic = r.u32At(0);
  if (magic !== EROFS_MAGIC) r.fail(`magic 0x${magic.toString(16)} is not 0x${EROFS_MAGIC.toString(16)}`, 0);
  const blockBits = r.u8At(12);
  // erofs-utils: blocks of 512 bytes to 64 KiB (the kernel needs <= PAGE_SIZE)
  if (blockBits < 9 || blockBits > 16) r.fail(`block size 2^${blockBits} is not 512..65536`, 12);
  const featureIncompat = r.u32At(80);
  if ((featureIncompat & ~KNOWN_INCOMPAT) !== 0)
    r.fail(
      `incompatible features 0x${(featureIncompat & ~KNOWN_INCOMPAT).toString(16)} (48-bit layout, metabox, ...) are not supported`,
      80,
      'PARSE_UNSUPPORTED',
    );
  const extraDevices = r.u16At(86);
  if ((featureIncompat & 0x8) !== 0 && extraDevices !== 0)
    r.fail(`${extraDevices} extra devices: only single-device images are read`, 86, 'PARSE_UNSUPPORTED');
  if (r.u8At(90) !== 0) r.fail(`dirblkbits ${r.u8At(90)} is not supported`, 90, 'PARSE_UNSUPPORTED');
  const blockSize = 2 ** blockBits;
  const metaBlkAddr = r.u32At(40);
  if (metaBlkAddr * blockSize >= src.size)
    r.fail(`metadata block ${metaBlkAddr} is past the ${src.size}-byte file system`, 40);
  const uuid = [...r.bytesAt(48, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const name = r.bytesAt(64, 16);
  const end = name.indexOf(0);
  return {
    blockSize,
    blockBits,
    rootNid: r.u16At(14),
    inodes: r.u64nAt(16),
    buildTime: r.u64nAt(24),
    buildTimeNsec: r.u32At(32),
    blocks: r.u32At(36),
    metaBlkAddr,
    xattrBlkAddr: r.u32At(44),
    uuid: `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20)}`,
    volumeName: String.fromCharCode(...name.subarray(0, end < 0 ? 16 : end)),
    featureCompat: r.u32At(8),
    featureIncompat,
    extraDevices,
  };
}
