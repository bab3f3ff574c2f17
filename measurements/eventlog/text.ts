// Best-effort text rendering of event data for display: UTF-16LE (edk2 strings, systemd-stub
// descriptions, measured-boot.md §4.1) or 8-bit (EV_EFI_ACTION, GRUB, kernel tags). Never throws.
import { asciiz, toHex, utf16z } from '../../image/formats/reader.js';

const MAX_TEXT = 240;

/** Heuristic: even length, at least 2 bytes, first unit an ASCII char with a zero high byte. */
export function looksUtf16(b: Uint8Array): boolean {
  return b.length >= 2 && b.length % 2 === 0 && b[0] !== 0 && b[1] === 0;
}

function printable(s: string): boolean {
  if (s.length === 0) return false;
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c === 0x7f || (c >= 0xd800 && c <= 0xdfff)) bad++;
  }
  return bad === 0;
}

function zeroFrom(b: Uint8Array, pos: number): boolean {
  for (let i = pos; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * The text if the bytes are a printable string, optionally NUL-terminated (only NULs may follow the
 * terminator), else undefined.
 */
export function decodeText(b: Uint8Array): string | undefined {
  // A lone terminator is an empty string (OVMF's default PcdFirmwareVersionString is L"").
  if ((b.length === 1 && b[0] === 0) || (b.length === 2 && b[0] === 0 && b[1] === 0)) return '';
  let end: number;
  if (looksUtf16(b)) {
    end = 0;
    while (end + 1 < b.length && ((b[end] as number) | (b[end + 1] as number)) !== 0) end += 2;
  } else {
    end = b.indexOf(0);
    if (end < 0) end = b.length;
  }
  if (!zeroFrom(b, end)) return undefined;
  const s = looksUtf16(b) ? utf16z(b) : asciiz(b);
  return printable(s) ? s : undefined;
}

/** JSON-quoted, truncated text: safe to print on a terminal. */
export function quote(s: string): string {
  return JSON.stringify(s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);
}

/** "12 bytes 0a0b…" summary of binary data. */
export function hexSummary(b: Uint8Array, max = 32): string {
  return `${b.length} bytes${b.length > 0 ? ` ${toHex(b.subarray(0, max))}${b.length > max ? '…' : ''}` : ''}`;
}

/** Quoted text if the data is text, else a hex summary. */
export function textOrHex(b: Uint8Array): string {
  const t = decodeText(b);
  return t === undefined ? hexSummary(b) : quote(t);
}

export function hex64(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** Every byte as one Latin-1 char (no NUL handling). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}
