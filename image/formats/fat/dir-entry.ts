import type { ByteReader } from '../reader.js';
import { oemChar } from './codepage.js';

// fatgen103 §6 "FAT Directory Structure", 32-byte short (8.3) directory entry:
//
//   off size field                     off size field
//     0   11 DIR_Name (8 + 3, space pad)  20    2 DIR_FstClusHI (FAT32 only)
//    11    1 DIR_Attr                     22    2 DIR_WrtTime
//    12    1 DIR_NTRes (case bits)        24    2 DIR_WrtDate
//    13    1 DIR_CrtTimeTenth             26    2 DIR_FstClusLO
//    14    2 DIR_CrtTime                  28    4 DIR_FileSize
//    16    2 DIR_CrtDate
//    18    2 DIR_LstAccDate
//
// DIR_Name[0]: 0x00 = this and all later entries are free, 0xE5 = deleted, 0x05 = the name
// really starts with 0xE5 (a KANJI lead byte).

export const DIR_ENTRY_SIZE = 32;
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
/** fatgen103 §7: READ_ONLY | HIDDEN | SYSTEM | VOLUME_ID marks a long-name entry. */
export const ATTR_LONG_NAME = 0x0f;
const ATTR_LONG_NAME_MASK = 0x3f;
/** Windows NT case bits in DIR_NTRes: base name / extension stored upper-case but shown lower. */
const NT_LOWER_BASE = 0x08;
const NT_LOWER_EXT = 0x10;

export const END_OF_DIRECTORY = 0x00;
export const DELETED = 0xe5;
const KANJI_E5 = 0x05;

export function isLongNameEntry(attr: number): boolean {
  return (attr & ATTR_LONG_NAME_MASK) === ATTR_LONG_NAME;
}

export interface ShortEntry {
  /** The 11 raw name bytes, 0x05 not yet mapped (the LFN checksum covers the raw bytes). */
  readonly rawName: Uint8Array;
  readonly shortName: string;
  /** Short name with the NT case bits applied. */
  readonly displayName: string;
  readonly attributes: number;
  readonly firstCluster: number;
  readonly size: number;
  readonly mtime: string | undefined;
}

/**
 * Decodes the short entry at byte `pos` of `r`. `fat32` selects whether DIR_FstClusHI is part of
 * the cluster number.
 */
export function decodeShortEntry(r: ByteReader, pos: number, fat32: boolean): ShortEntry {
  const rawName = r.bytesAt(pos, 11);
  const nt = r.u8At(pos + 12);
  let base = '';
  for (let i = 0; i < 8; i++)
    base += oemChar(i === 0 && rawName[0] === KANJI_E5 ? DELETED : (rawName[i] as number));
  let ext = '';
  for (let i = 8; i < 11; i++) ext += oemChar(rawName[i] as number);
  base = base.trimEnd();
  ext = ext.trimEnd();
  const join = (b: string, e: string) => (e === '' ? b : `${b}.${e}`);
  const hi = fat32 ? r.u16At(pos + 20) : 0;
  return {
    rawName,
    shortName: join(base, ext),
    displayName: join(
      nt & NT_LOWER_BASE ? base.toLowerCase() : base,
      nt & NT_LOWER_EXT ? ext.toLowerCase() : ext,
    ),
    attributes: r.u8At(pos + 11),
    firstCluster: hi * 0x10000 + r.u16At(pos + 26),
    size: r.u32At(pos + 28),
    mtime: fatTimestamp(r.u16At(pos + 24), r.u16At(pos + 22)),
  };
}

/** fatgen103 §7 "ChkSum": the checksum of the 11 raw short-name bytes that LFN entries carry. */
export function shortNameChecksum(rawName: Uint8Array): number {
  let sum = 0;
  for (const b of rawName) sum = (((sum & 1) << 7) + (sum >>> 1) + b) & 0xff;
  return sum;
}

/**
 * fatgen103 §6.1 date (bits 15-9 years since 1980, 8-5 month, 4-0 day) and time (15-11 hours,
 * 10-5 minutes, 4-0 two-second units) as an ISO 8601 local time without zone: FAT stores the
 * writer's local time. Undefined when the date is zero or not a real date.
 */
export function fatTimestamp(date: number, time: number): string | undefined {
  const year = 1980 + (date >>> 9);
  const month = (date >>> 5) & 0x0f;
  const day = date & 0x1f;
  const hour = time >>> 11;
  const minute = (time >>> 5) & 0x3f;
  const second = (time & 0x1f) * 2;
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return undefined;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${year}-${p(month)}-${p(day)}T${p(hour)}:${p(minute)}:${p(second)}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/** The 11 raw name bytes as text (volume labels keep no dot between base and extension). */
export function oemText(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += oemChar(b);
  return s;
}
