// Directory-entry names for the FAT writer (fatgen103 §6 short names, §7 long names): which names
// fit 8.3 as they are, which fit with the Windows NT lower-case bits (DIR_NTRes 0x08 / 0x10, as
// Windows, Linux vfat and mtools store "loader.conf"), and for the rest a long-name (LFN) entry run
// plus a short alias from fatgen103's basis-name algorithm with a numeric tail ("~1", "~2", ...).
// Deterministic: aliases depend only on the sorted names of the directory. Pure.
import { NodeimgError } from '../errors.js';
import { shortNameChecksum } from './dir-entry.js';

/** Characters a short name may hold besides A-Z and 0-9 (fatgen103 §6, ASCII subset). */
const SHORT_PUNCT = "$%'-_@~`!(){}^#&";
/** Characters a long name may not hold (fatgen103 §7, plus '/' and '\' as separators). */
const LONG_FORBIDDEN = '"*/:<>?\\|';
export const MAX_LONG_NAME = 255;
const LFN_CHARS = 13;
const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;
const ATTR_LONG_NAME = 0x0f;
const LAST_LONG_ENTRY = 0x40;
export const NT_LOWER_BASE = 0x08;
export const NT_LOWER_EXT = 0x10;

export interface EncodedName {
  /** The 11 stored short-name bytes. */
  readonly raw: Uint8Array;
  /** DIR_NTRes case bits. */
  readonly ntCase: number;
  /** The LFN entries that precede the short entry (empty when the short name says it all). */
  readonly lfn: readonly Uint8Array[];
}

const isShortChar = (c: string): boolean => /^[A-Z0-9]$/.test(c) || SHORT_PUNCT.includes(c);

/** Throws USAGE unless `name` is a legal FAT long name. */
export function checkLongName(name: string, where: string): void {
  const bad = (why: string) =>
    new NodeimgError('USAGE', `${where}: file name ${JSON.stringify(name)} ${why}`);
  if (name === '' || name === '.' || name === '..') throw bad('is not allowed');
  if (name.length > MAX_LONG_NAME) throw bad(`is longer than ${MAX_LONG_NAME} UTF-16 code units`);
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f || LONG_FORBIDDEN.includes(ch))
      throw bad(`contains ${JSON.stringify(ch)}, which FAT does not allow`);
  }
  if (/[ .]$/.test(name)) throw bad('ends with a space or a period, which FAT drivers strip');
}

function pad(s: string, n: number): string {
  return s.padEnd(n, ' ');
}

function rawBytes(base: string, ext: string): Uint8Array {
  const s = pad(base, 8) + pad(ext, 3);
  const out = new Uint8Array(11);
  for (let i = 0; i < 11; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** base/ext if `name` is an 8.3 name in upper case (or with no letters), else undefined. */
function split83(name: string): { base: string; ext: string } | undefined {
  const dot = name.lastIndexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  if (base.length < 1 || base.length > 8 || ext.length > 3 || (dot >= 0 && ext.length === 0))
    return undefined;
  if (![...base, ...ext].every(isShortChar)) return undefined;
  return { base, ext };
}

/** The short name `name` has without an LFN entry (upper case, or all-lower parts with NT bits). */
export function plainShortName(name: string): { raw: Uint8Array; ntCase: number } | undefined {
  const s = split83(name);
  if (s) return { raw: rawBytes(s.base, s.ext), ntCase: 0 };
  if (!/^[\x21-\x7e]+$/.test(name)) return undefined;
  const up = split83(name.toUpperCase());
  if (!up) return undefined;
  const dot = name.lastIndexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  const lowerOnly = (p: string) => p === p.toLowerCase();
  const upperOnly = (p: string) => p === p.toUpperCase();
  if (!(lowerOnly(base) || upperOnly(base)) || !(lowerOnly(ext) || upperOnly(ext))) return undefined;
  const ntCase =
    (lowerOnly(base) && !upperOnly(base) ? NT_LOWER_BASE : 0) |
    (lowerOnly(ext) && !upperOnly(ext) ? NT_LOWER_EXT : 0);
  return { raw: rawBytes(up.base, up.ext), ntCase };
}

/** fatgen103 §7 basis name: upper case, invalid characters as '_', no spaces or leading periods. */
function basisName(name: string): { base: string; ext: string } {
  const map = (s: string) =>
    [...s.toUpperCase()]
      .filter((c) => c !== ' ' && c !== '.')
      .map((c) => (isShortChar(c) ? c : '_'))
      .join('');
  const stripped = name.replace(/^\.+/, '');
  const dot = stripped.lastIndexOf('.');
  const base = map(dot < 0 ? stripped : stripped.slice(0, dot)).slice(0, 8);
  const ext = dot < 0 ? '' : map(stripped.slice(dot + 1)).slice(0, 3);
  return { base: base === '' ? '_' : base, ext };
}

function key(raw: Uint8Array): string {
  return String.fromCharCode(...raw);
}

/** The LFN entries of `name` for the short name `raw`, in on-disk order (last part first). */
export function lfnEntries(name: string, raw: Uint8Array): Uint8Array[] {
  const sum = shortNameChecksum(raw);
  const units: number[] = [];
  for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i));
  const count = Math.ceil(units.length / LFN_CHARS);
  if (units.length % LFN_CHARS !== 0) units.push(0);
  while (units.length < count * LFN_CHARS) units.push(0xffff);
  const out: Uint8Array[] = [];
  for (let ord = count; ord >= 1; ord--) {
    const e = new Uint8Array(32);
    const v = new DataView(e.buffer);
    e[0] = ord | (ord === count ? LAST_LONG_ENTRY : 0);
    e[11] = ATTR_LONG_NAME;
    e[13] = sum;
    LFN_CHAR_OFFSETS.forEach((o, i) => v.setUint16(o, units[(ord - 1) * LFN_CHARS + i] as number, true));
    out.push(e);
  }
  return out;
}

/**
 * Encodes the names of one directory (already checked, case-insensitively unique). Plain 8.3 names
 * are reserved first so that no generated alias can take one.
 */
export function encodeDirectoryNames(names: readonly string[]): EncodedName[] {
  const used = new Set<string>();
  const plain = names.map((n) => plainShortName(n));
  for (const p of plain) if (p) used.add(key(p.raw));
  return names.map((name, i) => {
    const p = plain[i];
    if (p) return { raw: p.raw, ntCase: p.ntCase, lfn: [] };
    const { base, ext } = basisName(name);
    for (let n = 1; n < 1_000_000; n++) {
      const tail = `~${n}`;
      const raw = rawBytes(base.slice(0, 8 - tail.length) + tail, ext);
      if (used.has(key(raw))) continue;
      used.add(key(raw));
      return { raw, ntCase: 0, lfn: lfnEntries(name, raw) };
    }
    throw new NodeimgError('USAGE', `no free short alias for ${JSON.stringify(name)}`);
  });
}
