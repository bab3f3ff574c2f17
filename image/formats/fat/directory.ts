import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import {
  ATTR_DIRECTORY,
  ATTR_VOLUME_ID,
  DELETED,
  DIR_ENTRY_SIZE,
  END_OF_DIRECTORY,
  decodeShortEntry,
  isLongNameEntry,
  oemText,
  shortNameChecksum,
} from './dir-entry.js';

// fatgen103 §7 "Long File Names": a name longer than 8.3 (or not representable in it) is stored
// in up to 20 LFN entries placed *before* its short entry, last part first:
//
//   off size field
//     0    1 LDIR_Ord (1..20; 0x40 set on the first physical entry, which holds the last part)
//     1   10 LDIR_Name1 (UTF-16LE, characters 1-5)
//    11    1 LDIR_Attr (0x0F)        13    1 LDIR_Chksum (of the short name)
//    12    1 LDIR_Type (0)           14   12 LDIR_Name2 (characters 6-11)
//    26    2 LDIR_FstClusLO (0)      28    4 LDIR_Name3 (characters 12-13)
//
// A sequence whose ordinals skip or whose checksum does not match the short entry that follows
// is an orphan: like Windows and Linux, nodeimg ignores it and uses the short name (a warning).

/** fatgen103 §6: a directory has at most 65536 entries (2 MiB). */
export const MAX_DIR_ENTRIES = 65536;
export const MAX_DIR_BYTES = MAX_DIR_ENTRIES * DIR_ENTRY_SIZE;
const LAST_LONG_ENTRY = 0x40;
const MAX_LFN_ENTRIES = 20;
const MAX_NAME_LENGTH = 255;
// Byte offsets of the 13 UTF-16 characters of one LFN entry (Name1, Name2, Name3).
const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;
const DOT = '.          ';
const DOTDOT = '..         ';

export interface DirRecord {
  /** Long name if present, else the short name with the NT case bits applied. */
  readonly name: string;
  readonly shortName: string;
  readonly attributes: number;
  readonly isDirectory: boolean;
  readonly firstCluster: number;
  readonly size: number;
  readonly mtime: string | undefined;
  /** Absolute offset of the short entry, for error messages. */
  readonly offset: number;
}

export interface ParsedDirectory {
  readonly records: DirRecord[];
  /** Volume label entry (root directory only). */
  readonly label: string | undefined;
}

interface LfnRun {
  readonly parts: number[][];
  readonly checksum: number;
  expect: number;
}

/**
 * Decodes the entries of one directory (its clusters concatenated, or the FAT12/16 root region),
 * skipping free, deleted, '.' and '..' entries. `absAt(pos)` maps a byte of `bytes` to its absolute
 * offset. Names that would make paths ambiguous ('/', '\', control characters, '.', '..') are errors.
 */
export function parseDirectory(
  bytes: Uint8Array,
  absAt: (pos: number) => number,
  fat32: boolean,
  warnings: string[],
): ParsedDirectory {
  const records: DirRecord[] = [];
  let label: string | undefined;
  let lfn: LfnRun | undefined;
  const orphan = (pos: number, why: string) => {
    warnings.push(`orphan long-name entries before byte ${absAt(pos)}: ${why}`);
    lfn = undefined;
  };
  // One reader for field access; error offsets come from absAt (clusters need not be adjacent).
  const r = new ByteReader(bytes, 'FAT directory', absAt(0));
  for (let pos = 0; pos + DIR_ENTRY_SIZE <= bytes.length; pos += DIR_ENTRY_SIZE) {
    const at = absAt(pos);
    const first = r.u8At(pos);
    if (first === END_OF_DIRECTORY) break;
    if (first === DELETED) {
      lfn = undefined;
      continue;
    }
    const attr = r.u8At(pos + 11);
    if (isLongNameEntry(attr)) {
      const ord = first & ~LAST_LONG_ENTRY;
      const checksum = r.u8At(pos + 13);
      const chars = LFN_CHAR_OFFSETS.map((o) => r.u16At(pos + o));
      if (ord < 1 || ord > MAX_LFN_ENTRIES) orphan(pos, `ordinal ${ord}`);
      else if (first & LAST_LONG_ENTRY) {
        if (lfn) orphan(pos, 'sequence interrupted by a new one');
        const parts: number[][] = [];
        parts[ord - 1] = chars;
        lfn = { parts, checksum, expect: ord - 1 };
      } else if (!lfn || ord !== lfn.expect || checksum !== lfn.checksum)
        orphan(pos, `unexpected ordinal ${ord}`);
      else {
        lfn.parts[ord - 1] = chars;
        lfn.expect = ord - 1;
      }
      continue;
    }

    const e = decodeShortEntry(r, pos, fat32);
    let longName: string | undefined;
    if (lfn) {
      if (lfn.expect !== 0) orphan(pos, `missing ordinals 1..${lfn.expect}`);
      else if (lfn.checksum !== shortNameChecksum(e.rawName))
        orphan(pos, `checksum 0x${lfn.checksum.toString(16)} does not match short name ${e.shortName}`);
      else longName = assemble(lfn.parts, at, warnings);
      lfn = undefined;
    }
    const raw = oemText(e.rawName);
    if (attr & ATTR_VOLUME_ID) {
      label ??= raw.trimEnd();
      continue;
    }
    if (raw === DOT || raw === DOTDOT) continue;
    checkName(e.shortName, at);
    records.push({
      name: longName ?? e.displayName,
      shortName: e.shortName,
      attributes: attr,
      isDirectory: (attr & ATTR_DIRECTORY) !== 0,
      firstCluster: e.firstCluster,
      size: e.size,
      mtime: e.mtime,
      offset: at,
    });
  }
  return { records, label };
}

function assemble(parts: number[][], at: number, warnings: string[]): string | undefined {
  const units: number[] = [];
  for (const p of parts) for (const u of p) units.push(u);
  const end = units.indexOf(0);
  const name = String.fromCharCode(...(end < 0 ? units : units.slice(0, end)));
  if (name === '' || name.length > MAX_NAME_LENGTH) {
    warnings.push(`long name of ${name.length} characters before byte ${at} ignored`);
    return undefined;
  }
  checkName(name, at);
  return name;
}

function checkName(name: string, at: number): void {
  let bad = name === '' || name === '.' || name === '..';
  for (let i = 0; i < name.length && !bad; i++) {
    const c = name.charCodeAt(i);
    bad = c < 0x20 || c === 0x2f || c === 0x5c; // control, '/', '\'
  }
  if (bad) {
    throw new ParseError(
      'PARSE_INVALID',
      'FAT directory entry',
      at,
      `file name ${JSON.stringify(name)} is not allowed`,
    );
  }
}
