// The VHD hard disk footer (Microsoft "Virtual Hard Disk Image Format Specification" 1.0, 2006):
// 512 big-endian bytes at the end of every VHD. A fixed VHD (what Azure takes) is the raw disk
// followed by this footer. Pure: the encoder builds the 512 bytes from declared inputs (no clock, no
// randomness), the parser validates every field it relies on and throws ParseError with the
// absolute byte offset of the field.
import { ParseError } from '../errors.js';
import { checkRange, type ByteSource } from '../source.js';

export const VHD_FOOTER_SIZE = 512;
export const VHD_COOKIE = 'conectix';
/** Features: bit 1 is reserved and must be set (spec, "Features"). */
export const VHD_FEATURES_RESERVED = 0x0000_0002;
export const VHD_FORMAT_VERSION = 0x0001_0000;
/** Seconds from the Unix epoch to the VHD epoch, 2000-01-01T00:00:00Z. */
export const VHD_EPOCH_OFFSET = 946_684_800;
/** "Wi2k": the host OS Hyper-V and Microsoft's Azure tools write. */
export const VHD_HOST_OS_WINDOWS = 0x5769_326b;
/** Largest disk the CHS geometry can describe (65535 cylinders x 16 heads x 255 sectors). */
export const VHD_MAX_CHS_SECTORS = 65535 * 16 * 255;

export const VHD_DISK_TYPES = { fixed: 2, dynamic: 3, differencing: 4 } as const;
export type VhdDiskTypeName = keyof typeof VHD_DISK_TYPES;

/** Field offsets inside the footer. */
const F = {
  cookie: 0,
  features: 8,
  version: 12,
  dataOffset: 16,
  timestamp: 24,
  creatorApp: 28,
  creatorVersion: 32,
  creatorHostOs: 36,
  originalSize: 40,
  currentSize: 48,
  cylinders: 56,
  heads: 58,
  sectorsPerTrack: 59,
  diskType: 60,
  checksum: 64,
  uniqueId: 68,
  savedState: 84,
  reserved: 85,
} as const;

export interface VhdGeometry {
  readonly cylinders: number;
  readonly heads: number;
  readonly sectorsPerTrack: number;
}

export interface VhdFooterInput {
  /** Virtual disk size in bytes: a multiple of 512 (Azure also wants a multiple of 1 MiB). */
  readonly currentSize: number;
  /** Size at creation; default currentSize. */
  readonly originalSize?: number;
  /** Seconds since 2000-01-01 UTC (use vhdTimestamp(SOURCE_DATE_EPOCH)). */
  readonly timestamp: number;
  /** 16 bytes. */
  readonly uniqueId: Uint8Array;
  /** Four ASCII characters; default "nimg". */
  readonly creatorApp?: string;
  /** major << 16 | minor; default 0x00010000. */
  readonly creatorVersion?: number;
  /** default "Wi2k". */
  readonly creatorHostOs?: number;
  /** Only fixed disks are written. */
  readonly diskType?: 'fixed';
}

export interface VhdFooter {
  readonly features: number;
  readonly formatVersion: number;
  /** null for a fixed disk (0xFFFFFFFFFFFFFFFF), else the dynamic header's offset. */
  readonly dataOffset: bigint | null;
  readonly timestamp: number;
  /** timestamp + 946684800. */
  readonly unixTime: number;
  readonly creatorApp: string;
  readonly creatorVersion: number;
  readonly creatorHostOs: number;
  readonly originalSize: number;
  readonly currentSize: number;
  readonly geometry: VhdGeometry;
  readonly diskType: VhdDiskTypeName;
  readonly checksum: number;
  readonly uniqueId: Uint8Array;
  readonly savedState: boolean;
}

/** Seconds since 2000-01-01 UTC for a SOURCE_DATE_EPOCH (Unix seconds). */
export function vhdTimestamp(sourceDateEpoch: number): number {
  const t = sourceDateEpoch - VHD_EPOCH_OFFSET;
  if (!Number.isSafeInteger(sourceDateEpoch) || t < 0 || t > 0xffff_ffff)
    throw new RangeError(
      `SOURCE_DATE_EPOCH ${sourceDateEpoch} is outside what a VHD timestamp holds (2000-01-01 .. 2136-02-07)`,
    );
  return t;
}

/** The CHS geometry for a disk of `totalSectors` 512-byte sectors (the spec's appendix algorithm). */
export function vhdGeometry(totalSectors: number): VhdGeometry {
  const total = Math.min(Math.max(0, Math.floor(totalSectors)), VHD_MAX_CHS_SECTORS);
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (total >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(total / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(total / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(total / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(total / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}

/** One's complement of the byte sum of the footer with the checksum field taken as zero. */
export function vhdChecksum(footer: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) {
    if (i >= F.checksum && i < F.checksum + 4) continue;
    sum += footer[i] ?? 0;
  }
  return ~sum >>> 0;
}

/** Makes 16 bytes look like an RFC 4122 version 4 UUID (Hyper-V writes GUIDs there). */
export function vhdUniqueIdFrom(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 16) throw new RangeError(`a VHD unique id needs 16 bytes, got ${bytes.length}`);
  const id = new Uint8Array(bytes.subarray(0, 16));
  id[6] = ((id[6] as number) & 0x0f) | 0x40;
  id[8] = ((id[8] as number) & 0x3f) | 0x80;
  return id;
}

function fourCc(text: string, what: string): Uint8Array {
  if (!/^[\x20-\x7e\0]{4}$/.test(text))
    throw new RangeError(`${what} must be 4 ASCII characters, got ${text}`);
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n <= 0 || n % 512 !== 0)
    throw new RangeError(`${what} ${n} is not a positive multiple of 512`);
}

/** The 512-byte footer of a fixed VHD. */
export function encodeVhdFooter(input: VhdFooterInput): Uint8Array {
  checkSize(input.currentSize, 'VHD current size');
  const originalSize = input.originalSize ?? input.currentSize;
  checkSize(originalSize, 'VHD original size');
  if (!Number.isInteger(input.timestamp) || input.timestamp < 0 || input.timestamp > 0xffff_ffff)
    throw new RangeError(`VHD timestamp ${input.timestamp} is not a u32`);
  if (input.uniqueId.length !== 16)
    throw new RangeError(`VHD unique id must be 16 bytes, got ${input.uniqueId.length}`);
  const creatorVersion = input.creatorVersion ?? 0x0001_0000;
  const hostOs = input.creatorHostOs ?? VHD_HOST_OS_WINDOWS;
  for (const [v, what] of [
    [creatorVersion, 'creator version'],
    [hostOs, 'creator host OS'],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff)
      throw new RangeError(`VHD ${what} ${v} is not a u32`);

  const b = new Uint8Array(VHD_FOOTER_SIZE);
  const v = new DataView(b.buffer);
  b.set(fourCc(VHD_COOKIE.slice(0, 4), 'cookie'), F.cookie);
  b.set(fourCc(VHD_COOKIE.slice(4), 'cookie'), F.cookie + 4);
  v.setUint32(F.features, VHD_FEATURES_RESERVED);
  v.setUint32(F.version, VHD_FORMAT_VERSION);
  v.setBigUint64(F.dataOffset, 0xffff_ffff_ffff_ffffn);
  v.setUint32(F.timestamp, input.timestamp);
  b.set(fourCc(input.creatorApp ?? 'nimg', 'creator app'), F.creatorApp);
  v.setUint32(F.creatorVersion, creatorVersion);
  v.setUint32(F.creatorHostOs, hostOs);
  v.setBigUint64(F.originalSize, BigInt(originalSize));
  v.setBigUint64(F.currentSize, BigInt(input.currentSize));
  const g = vhdGeometry(input.currentSize / 512);
  v.setUint16(F.cylinders, g.cylinders);
  b[F.heads] = g.heads;
  b[F.sectorsPerTrack] = g.sectorsPerTrack;
  v.setUint32(F.diskType, VHD_DISK_TYPES.fixed);
  b.set(input.uniqueId, F.uniqueId);
  b[F.savedState] = 0;
  v.setUint32(F.checksum, vhdChecksum(b));
  return b;
}

/**
 * Parses and validates a 512-byte footer. `base` is the absolute offset of its first byte (for
 * error messages), `name` what it is part of.
 */
export function parseVhdFooter(bytes: Uint8Array, base = 0, name = 'VHD footer'): VhdFooter {
  const bad = (
    field: keyof typeof F,
    detail: string,
    code: 'PARSE_INVALID' | 'PARSE_UNSUPPORTED' | 'PARSE_LIMIT' = 'PARSE_INVALID',
  ) => new ParseError(code, name, base + F[field], `${field}: ${detail}`);
  if (bytes.length !== VHD_FOOTER_SIZE)
    throw new ParseError(
      'PARSE_TRUNCATED',
      name,
      base,
      `the footer is ${bytes.length} bytes, not ${VHD_FOOTER_SIZE}`,
    );
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (at: number, n: number) => String.fromCharCode(...bytes.subarray(at, at + n));

  const cookie = ascii(F.cookie, 8);
  if (cookie !== VHD_COOKIE) throw bad('cookie', `expected "${VHD_COOKIE}", found ${JSON.stringify(cookie)}`);
  const checksum = v.getUint32(F.checksum);
  const computed = vhdChecksum(bytes);
  if (checksum !== computed)
    throw bad('checksum', `stored 0x${checksum.toString(16)}, computed 0x${computed.toString(16)}`);
  const formatVersion = v.getUint32(F.version);
  if (formatVersion >>> 16 !== 1)
    throw bad(
      'version',
      `format version 0x${formatVersion.toString(16)} (only 1.x is defined)`,
      'PARSE_UNSUPPORTED',
    );
  const features = v.getUint32(F.features);
  if ((features & VHD_FEATURES_RESERVED) === 0)
    throw bad('features', `0x${features.toString(16)} lacks the reserved bit 0x2 the spec requires`);

  const typeCode = v.getUint32(F.diskType);
  const diskType = (Object.keys(VHD_DISK_TYPES) as VhdDiskTypeName[]).find(
    (k) => VHD_DISK_TYPES[k] === typeCode,
  );
  if (!diskType) throw bad('diskType', `unknown disk type ${typeCode}`, 'PARSE_UNSUPPORTED');
  const rawDataOffset = v.getBigUint64(F.dataOffset);
  const dataOffset = rawDataOffset === 0xffff_ffff_ffff_ffffn ? null : rawDataOffset;
  if (diskType === 'fixed' && dataOffset !== null)
    throw bad('dataOffset', `a fixed disk has 0xFFFFFFFFFFFFFFFF, found 0x${rawDataOffset.toString(16)}`);
  if (diskType !== 'fixed' && dataOffset === null)
    throw bad('dataOffset', `a ${diskType} disk needs the offset of its dynamic header`);

  const size = (field: 'originalSize' | 'currentSize'): number => {
    const n = v.getBigUint64(F[field]);
    if (n > BigInt(Number.MAX_SAFE_INTEGER))
      throw bad(field, `${n} bytes is beyond what nodeimg handles`, 'PARSE_LIMIT');
    const x = Number(n);
    if (x === 0 || x % 512 !== 0) throw bad(field, `${x} is not a positive multiple of 512`);
    return x;
  };
  const originalSize = size('originalSize');
  const currentSize = size('currentSize');

  const geometry = {
    cylinders: v.getUint16(F.cylinders),
    heads: bytes[F.heads] as number,
    sectorsPerTrack: bytes[F.sectorsPerTrack] as number,
  };
  if (
    geometry.cylinders === 0 ||
    geometry.heads === 0 ||
    geometry.heads > 16 ||
    geometry.sectorsPerTrack === 0
  )
    throw bad(
      'cylinders',
      `geometry C/H/S ${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack} is impossible (H 1-16, C and S >= 1)`,
    );
  const savedStateByte = bytes[F.savedState] as number;
  if (savedStateByte > 1) throw bad('savedState', `${savedStateByte} is neither 0 nor 1`);
  const timestamp = v.getUint32(F.timestamp);
  return {
    features,
    formatVersion,
    dataOffset,
    timestamp,
    unixTime: timestamp + VHD_EPOCH_OFFSET,
    creatorApp: ascii(F.creatorApp, 4),
    creatorVersion: v.getUint32(F.creatorVersion),
    creatorHostOs: v.getUint32(F.creatorHostOs),
    originalSize,
    currentSize,
    geometry,
    diskType,
    checksum,
    uniqueId: new Uint8Array(bytes.subarray(F.uniqueId, F.uniqueId + 16)),
    savedState: savedStateByte === 1,
  };
}

/**
 * Reads the footer of a fixed VHD from the last 512 bytes of `src` and checks that the data in
 * front of it is exactly `currentSize` bytes.
 */
export async function readFixedVhd(src: ByteSource): Promise<VhdFooter> {
  if (src.size < VHD_FOOTER_SIZE)
    throw new ParseError(
      'PARSE_TRUNCATED',
      src.name,
      src.base,
      `${src.size} bytes cannot hold a 512-byte VHD footer`,
    );
  const at = src.size - VHD_FOOTER_SIZE;
  checkRange(src, at, VHD_FOOTER_SIZE);
  const footer = parseVhdFooter(await src.read(at, VHD_FOOTER_SIZE), src.base + at, `${src.name} VHD footer`);
  if (footer.diskType !== 'fixed')
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      `${src.name} VHD footer`,
      src.base + at + F.diskType,
      `a ${footer.diskType} VHD (only fixed VHDs are read)`,
    );
  if (footer.currentSize !== at)
    throw new ParseError(
      'PARSE_INVALID',
      `${src.name} VHD footer`,
      src.base + at + F.currentSize,
      `current size ${footer.currentSize} does not match the ${at} data bytes in front of the footer`,
    );
  return footer;
}
