// Just enough ELF64 little-endian (System V gABI, "ELF Header", "Sections", "Dynamic Section") to
// put a dynamically linked program and kernel modules into an initrd without running anything
// from the image: the DT_NEEDED names and PT_INTERP of a program, and the key=value strings of a
// kernel module's .modinfo section (`depends=` lists the modules it needs; kmod's modinfo reads
// the same section). Every offset and size is checked against the buffer; malformed input throws
// PARSE_INVALID with the byte offset.
import { ParseError } from '../../formats/errors.js';

interface Section {
  readonly name: number;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
}

const MAX_SECTIONS = 4096;
const PT_INTERP = 3;
const SHT_DYNAMIC = 6;
const DT_NEEDED = 1;

function bad(what: string, offset: number): ParseError {
  return new ParseError('PARSE_INVALID', 'ELF', offset, what);
}

function u64(b: Buffer, at: number): number {
  if (at + 8 > b.length) throw bad('truncated', at);
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('value out of range', at);
  return Number(v);
}

function header(b: Buffer): void {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw bad('not an ELF file', 0);
  if (b[4] !== 2 || b[5] !== 1) throw bad('not ELF64 little-endian', 4);
}

function slice(b: Buffer, offset: number, size: number, what: string): Buffer {
  if (offset < 0 || size < 0 || offset + size > b.length) throw bad(`${what} outside the file`, offset);
  return b.subarray(offset, offset + size);
}

function sections(b: Buffer): Section[] {
  header(b);
  const shoff = u64(b, 0x28);
  const entsize = b.readUInt16LE(0x3a);
  const count = b.readUInt16LE(0x3c);
  if (count > MAX_SECTIONS) throw bad(`${count} sections`, 0x3c);
  if (count > 0 && entsize < 64) throw bad(`section header size ${entsize}`, 0x3a);
  const out: Section[] = [];
  for (let i = 0; i < count; i++) {
    const at = shoff + i * entsize;
    slice(b, at, 64, 'section header');
    out.push({
      name: b.readUInt32LE(at),
      type: b.readUInt32LE(at + 4),
      offset: u64(b, at + 0x18),
      size: u64(b, at + 0x20),
      link: b.readUInt32LE(at + 0x28),
    });
  }
  return out;
}

function cString(b: Buffer, at: number): string {
  if (at >= b.length) throw bad('string outside its table', at);
  const end = b.indexOf(0, at);
  return b.toString('latin1', at, end < 0 ? b.length : end);
}

function sectionNamed(b: Buffer, name: string): Buffer | undefined {
  const all = sections(b);
  const strndx = b.readUInt16LE(0x3e);
  const names = all[strndx];
  if (names === undefined) throw bad('no section name table', 0x3e);
  const table = slice(b, names.offset, names.size, 'section name table');
  const s = all.find((x) => cString(table, x.name) === name);
  return s === undefined ? undefined : slice(b, s.offset, s.size, name);
}

/** The key=value strings of a kernel module's .modinfo section (key -> values, in order). */
export function modinfo(b: Buffer): Map<string, string[]> {
  const section = sectionNamed(b, '.modinfo');
  if (section === undefined) throw bad('no .modinfo section: not a kernel module', 0);
  const out = new Map<string, string[]>();
  for (const s of section.toString('latin1').split('\0')) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    const key = s.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), s.slice(eq + 1)]);
  }
  return out;
}

/** The modules a kernel module's `depends=` names. */
export function moduleDepends(b: Buffer): string[] {
  return (modinfo(b).get('depends') ?? []).flatMap((d) => d.split(',')).filter((d) => d !== '');
}

/** A program's or library's DT_NEEDED names (in order) and its PT_INTERP path, if any. */
export function dynamicNeeds(b: Buffer): { needed: string[]; interpreter?: string } {
  const all = sections(b);
  const needed: string[] = [];
  for (const s of all.filter((x) => x.type === SHT_DYNAMIC)) {
    const strs = all[s.link];
    if (strs === undefined) throw bad('.dynamic without a string table', s.offset);
    const table = slice(b, strs.offset, strs.size, '.dynstr');
    const dyn = slice(b, s.offset, s.size, '.dynamic');
    for (let at = 0; at + 16 <= dyn.length; at += 16) {
      const tag = u64(dyn, at);
      if (tag === 0) break;
      if (tag === DT_NEEDED) needed.push(cString(table, u64(dyn, at + 8)));
    }
  }
  const phoff = u64(b, 0x20);
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  let interpreter: string | undefined;
  for (let i = 0; i < phnum && phentsize >= 56; i++) {
    const at = phoff + i * phentsize;
    slice(b, at, 56, 'program header');
    if (b.readUInt32LE(at) !== PT_INTERP) continue;
    interpreter = cString(slice(b, u64(b, at + 8), u64(b, at + 0x20), 'PT_INTERP'), 0);
  }
  return { needed, ...(interpreter === undefined ? {} : { interpreter }) };
}
