// Unified Kernel Image assembly: a systemd-stub PE plus the UKI sections, laid out the way systemd's
// ukify lays them out (systemd src/ukify/ukify.py make_uki + pe_add_sections; UAPI "Unified Kernel
// Image" specification; reproducible-build.md §5), written deterministically from the inputs alone.
// Pure: bytes in, bytes out.
//
// What ukify does and nodeimg does the same way:
// - a COFF symbol table (and its string table) at the end of the stub is dropped, PointerToSymbolTable
//   and NumberOfSymbols set to 0 and IMAGE_FILE_LOCAL_SYMS_STRIPPED set ("Old stubs do not have the
//   symbol/string table stripped, even though image files should not have one"). objcopy keeps it,
//   which is why the lab's UKI has an odd size;
// - SizeOfHeaders is rounded up to FileAlignment; a signed stub is refused;
// - each new section: VirtualAddress = the end of the previous section rounded up to SectionAlignment,
//   PointerToRawData = the end of the file rounded up to FileAlignment, VirtualSize = the exact
//   payload size, SizeOfRawData = the payload size rounded up to FileAlignment, Characteristics
//   MEM_READ | CNT_INITIALIZED_DATA (MEM_READ | CNT_CODE for .linux);
// - a section the stub already has (.sbat) gets its data swapped in place when it fits;
// - SizeOfInitializedData grows by each new section's VirtualSize, SizeOfImage = end of the last
//   section rounded up to SectionAlignment, CheckSum recomputed;
// - the order of the added sections (ukify make_uki: .profile first in a profile PE, then .osrel
//   .cmdline .dtb .uname .splash .pcrpkey .initrd .ucode, then extra sections, and .linux "last to
//   leave breathing room for decompression"; .dtbauto and .hwids, which later ukify versions add,
//   go right after .dtb).
//
// Where nodeimg differs from ukify, on purpose:
// - ukify stops with "Not enough header space" when the section table is full; nodeimg grows
//   SizeOfHeaders (up to the first section's VirtualAddress) and moves the raw data of the stub's
//   sections up by whole FileAlignment units (patching the debug directory's file pointers);
// - recent ukify (systemd main) sets .linux's VirtualSize to the kernel's SizeOfImage; nodeimg keeps
//   the exact payload size, which is what systemd-stub 252 measures and systemd-measure hashes;
// - in-place replacement keeps the stub's SizeOfRawData and refuses data that would run into the
//   next section's VirtualAddress (ukify only checks SizeOfRawData);
// - TimeDateStamp = SOURCE_DATE_EPOCH or 0 (ukify keeps the stub's); the file is padded with zeros
//   to a multiple of 8 bytes (what sbsign/pesign hash and sign; FileAlignment >= 8 already does it);
// - .linux is always the last section: early ukify added .pcrsig before .linux, recent ukify adds
//   the merged .sbat and .pcrsig after it. nodeimg puts .sbat (when the stub has none to replace)
//   and .pcrsig before .linux; the stub finds sections by name, so only the layout differs.
import { NodeimgError, ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import { peChecksum } from './checksum.js';
import {
  COFF_HEADER_SIZE,
  MAX_SECTIONS,
  PE_SIGNATURE_SIZE,
  decodeCoffHeader,
  expectPeSignature,
} from './coff-header.js';
import { decodeDosHeader } from './dos-header.js';
import { DIRECTORY, dataDirectory, decodeOptionalHeader } from './optional-header.js';
import { SECTION_HEADER_SIZE, decodeSectionTable, type PeSection } from './sections.js';
import { isUkiSectionName } from './uki.js';

export interface UkiSectionInput {
  /** Section name, at most 8 ASCII characters (".linux"). */
  readonly name: string;
  readonly data: Uint8Array;
}

export interface AssembleUkiOptions {
  /** systemd-stub (linuxx64.efi.stub), unsigned. */
  readonly stub: Uint8Array;
  readonly sections: readonly UkiSectionInput[];
  /** COFF TimeDateStamp; 0 when omitted. */
  readonly sourceDateEpoch?: number;
  /**
   * 'ukify' (default): the sections are put into ukify's order whatever order they are given in, and
   * every name may appear once. 'as-given': the caller's order, with ukify's duplicate rule (a name
   * may repeat after a later .profile section), for multi-profile UKIs.
   */
  readonly order?: 'ukify' | 'as-given';
  /**
   * VirtualAddress alignment of the added sections: a power of two, at least the stub's
   * SectionAlignment (the default, as ukify).
   */
  readonly sectionAlignment?: number;
}

/** Where one section of the assembled UKI is. */
export interface UkiSectionPlacement {
  readonly name: string;
  readonly virtualAddress: number;
  readonly virtualSize: number;
  readonly pointerToRawData: number;
  readonly sizeOfRawData: number;
  /** 'stub': kept from the stub; 'replaced': a stub section with new data; 'added': new. */
  readonly origin: 'stub' | 'replaced' | 'added';
}

export interface UkiLayout {
  readonly sections: readonly UkiSectionPlacement[];
  readonly sizeOfHeaders: number;
  readonly sizeOfImage: number;
  readonly fileSize: number;
  /** Bytes the stub's section data moved up to make room for the section table. */
  readonly headerGrowth: number;
  /** Whether the stub's COFF symbol table was dropped. */
  readonly strippedSymbolTable: boolean;
}

/**
 * ukify's section order (see the header comment). Names not listed are "extra sections" and sit
 * between .ucode and .sbat in the order given.
 */
export const UKIFY_SECTION_ORDER = [
  '.profile',
  '.osrel',
  '.cmdline',
  '.dtb',
  '.dtbauto',
  '.hwids',
  '.uname',
  '.splash',
  '.pcrpkey',
  '.initrd',
  '.ucode',
  '*',
  '.sbat',
  '.pcrsig',
  '.linux',
] as const;

const IMAGE_FILE_LOCAL_SYMS_STRIPPED = 0x0008;
const SCN_CNT_CODE = 0x00000020;
const SCN_CNT_INITIALIZED_DATA = 0x00000040;
const SCN_MEM_READ = 0x40000000;
const COFF_SYMBOL_SIZE = 18;
const DEBUG_DIRECTORY_ENTRY_SIZE = 28;
const DEBUG_POINTER_TO_RAW_DATA = 24;
/** Image size limit: every PE offset and size field is 32 bits. */
const MAX_IMAGE = 0xffffffff;

const STUB = 'systemd-stub';
const up = (n: number, a: number): number => Math.ceil(n / a) * a;
const isPow2 = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;

function usage(message: string, hint?: string): NodeimgError {
  return new NodeimgError('USAGE', message, hint === undefined ? {} : { hint });
}

/** The sections in ukify's order (stable for names of equal rank). */
export function ukifyOrder<T extends { readonly name: string }>(sections: readonly T[]): T[] {
  const rank = (name: string): number => {
    const i = (UKIFY_SECTION_ORDER as readonly string[]).indexOf(name);
    return i >= 0 ? i : UKIFY_SECTION_ORDER.indexOf('*');
  };
  return sections
    .map((s, i) => ({ s, i }))
    .sort((a, b) => rank(a.s.name) - rank(b.s.name) || a.i - b.i)
    .map((x) => x.s);
}

function checkInputs(opts: AssembleUkiOptions): UkiSectionInput[] {
  const order = opts.order ?? 'ukify';
  if (order !== 'ukify' && order !== 'as-given')
    throw usage(`unknown section order ${JSON.stringify(order)}`);
  for (const s of opts.sections) {
    if (s.name.length === 0 || s.name.length > 8) {
      throw usage(
        `UKI section name ${JSON.stringify(s.name)} is ${s.name.length} characters; PE section names hold 1 to 8`,
        'systemd-stub only reads the 8-byte Name field (long /N names are not supported)',
      );
    }
    if (!/^[\x21-\x7e]+$/.test(s.name))
      throw usage(`UKI section name ${JSON.stringify(s.name)} is not printable ASCII`);
    if (s.data.length === 0)
      throw usage(
        `UKI section ${s.name} is empty`,
        'leave the section out: systemd-stub ignores sections of VirtualSize 0',
      );
  }
  // ukify UKI.add_section: a name may appear once since the last .profile section
  const seen = new Set<string>();
  for (const s of opts.sections) {
    if (s.name === '.profile' && order === 'as-given') seen.clear();
    if (seen.has(s.name)) {
      throw usage(
        `UKI section ${s.name} is given twice`,
        order === 'ukify'
          ? "multi-profile UKIs repeat sections after .profile: use order 'as-given'"
          : 'a section may repeat only after a later .profile section',
      );
    }
    seen.add(s.name);
  }
  if (
    opts.sourceDateEpoch !== undefined &&
    !(
      Number.isSafeInteger(opts.sourceDateEpoch) &&
      opts.sourceDateEpoch >= 0 &&
      opts.sourceDateEpoch <= 0xffffffff
    )
  ) {
    throw usage(`SOURCE_DATE_EPOCH ${opts.sourceDateEpoch} does not fit the 32-bit COFF TimeDateStamp`);
  }
  return order === 'ukify' ? ukifyOrder(opts.sections) : [...opts.sections];
}

interface StubHeaders {
  readonly lfanew: number;
  readonly coffOffset: number;
  readonly optOffset: number;
  readonly tableOffset: number;
  readonly tableEnd: number;
  readonly pointerToSymbolTable: number;
  readonly numberOfSymbols: number;
  readonly characteristics: number;
  readonly sizeOfHeaders: number;
  readonly sizeOfInitializedData: number;
  readonly sectionAlignment: number;
  readonly fileAlignment: number;
  readonly checkSumOffset: number;
  readonly debugDirectory: { readonly virtualAddress: number; readonly size: number };
  readonly sections: readonly PeSection[];
}

function readStub(stub: Uint8Array): StubHeaders {
  const r = new ByteReader(stub, `${STUB}: PE image`);
  const dos = decodeDosHeader(r);
  r.seek(dos.lfanew);
  expectPeSignature(r);
  const coffOffset = dos.lfanew + PE_SIGNATURE_SIZE;
  const coff = decodeCoffHeader(r);
  const optOffset = coffOffset + COFF_HEADER_SIZE;
  const opt = decodeOptionalHeader(r.sub(optOffset, coff.sizeOfOptionalHeader, `${STUB}: optional header`));
  const tableOffset = optOffset + coff.sizeOfOptionalHeader;
  r.seek(tableOffset);
  const sections = decodeSectionTable(r, coff.numberOfSections);
  if (sections.length === 0)
    throw new ParseError('PARSE_INVALID', `${STUB}: COFF header`, coffOffset + 2, 'the stub has no sections');
  const where = `${STUB}: optional header`;
  if (
    !isPow2(opt.fileAlignment) ||
    !isPow2(opt.sectionAlignment) ||
    opt.sectionAlignment < opt.fileAlignment
  ) {
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      where,
      optOffset + 32,
      `SectionAlignment 0x${opt.sectionAlignment.toString(16)} / FileAlignment 0x${opt.fileAlignment.toString(16)} are not powers of two with SectionAlignment >= FileAlignment`,
    );
  }
  const sec = dataDirectory(opt, DIRECTORY.security);
  if (sec.virtualAddress !== 0 || sec.size !== 0) {
    throw usage(
      `${STUB} is signed (certificate table at ${sec.virtualAddress}, ${sec.size} bytes)`,
      'assemble the UKI from the unsigned stub and sign the UKI afterwards (ukify refuses signed stubs too)',
    );
  }
  for (const s of sections) {
    if (s.sizeOfRawData !== 0 && s.pointerToRawData + s.sizeOfRawData > stub.length) {
      throw new ParseError(
        'PARSE_TRUNCATED',
        `${STUB}: section ${s.name}`,
        s.headerOffset,
        `raw data [${s.pointerToRawData}, +${s.sizeOfRawData}) is past the ${stub.length}-byte file`,
      );
    }
  }
  return {
    lfanew: dos.lfanew,
    coffOffset,
    optOffset,
    tableOffset,
    tableEnd: tableOffset + sections.length * SECTION_HEADER_SIZE,
    pointerToSymbolTable: coff.pointerToSymbolTable,
    numberOfSymbols: coff.numberOfSymbols,
    characteristics: coff.characteristics,
    sizeOfHeaders: opt.sizeOfHeaders,
    sizeOfInitializedData: opt.sizeOfInitializedData,
    sectionAlignment: opt.sectionAlignment,
    fileAlignment: opt.fileAlignment,
    checkSumOffset: opt.checkSumOffset,
    debugDirectory: dataDirectory(opt, DIRECTORY.debug),
    sections,
  };
}

/** The end of the stub's meaningful bytes: the symbol table dropped (ukify), zero padding ignored. */
function stubContentEnd(stub: Uint8Array, h: StubHeaders): { end: number; stripped: boolean } {
  const rawEnd = Math.max(
    h.sizeOfHeaders,
    ...h.sections.filter((s) => s.sizeOfRawData > 0).map((s) => s.pointerToRawData + s.sizeOfRawData),
  );
  let end = stub.length;
  let stripped = false;
  if (h.pointerToSymbolTable !== 0) {
    const symEnd = h.pointerToSymbolTable + h.numberOfSymbols * COFF_SYMBOL_SIZE;
    let tableEnd = symEnd;
    if (symEnd + 4 <= stub.length)
      tableEnd += new DataView(stub.buffer, stub.byteOffset, stub.byteLength).getUint32(symEnd, true);
    const atEnd =
      h.pointerToSymbolTable >= rawEnd &&
      tableEnd <= stub.length &&
      stub.subarray(tableEnd).every((b) => b === 0);
    if (!atEnd) {
      throw new ParseError(
        'PARSE_UNSUPPORTED',
        `${STUB}: COFF symbol table`,
        h.coffOffset + 8,
        `symbol table [${h.pointerToSymbolTable}, ${tableEnd}) is not at the end of the ${stub.length}-byte file; nodeimg (like ukify) only drops a trailing one`,
      );
    }
    if (h.sections.some((s) => s.name.startsWith('/'))) {
      throw new ParseError(
        'PARSE_UNSUPPORTED',
        `${STUB}: section table`,
        h.tableOffset,
        'a section has a long /N name, which needs the string table that is dropped',
      );
    }
    end = h.pointerToSymbolTable;
    stripped = true;
  }
  if (end > rawEnd && !stub.subarray(rawEnd, end).every((b) => b === 0)) {
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      `${STUB}: trailing data`,
      rawEnd,
      `${end - rawEnd} bytes after the last section that belong to no section`,
    );
  }
  return { end: rawEnd, stripped };
}

interface Planned {
  readonly layout: UkiLayout;
  /** For each output section: the stub section it came from (or undefined) and its data source. */
  readonly items: readonly {
    place: UkiSectionPlacement;
    characteristics: number;
    stubSection?: PeSection;
    data?: Uint8Array;
  }[];
  readonly stub: StubHeaders;
  readonly appendedVirtualSize: number;
}

function plan(opts: AssembleUkiOptions): Planned {
  const inputs = checkInputs(opts);
  const stub = opts.stub;
  const h = readStub(stub);
  const { stripped } = stubContentEnd(stub, h);
  const fa = h.fileAlignment;
  const va0 = opts.sectionAlignment ?? h.sectionAlignment;
  if (!isPow2(va0) || va0 < h.sectionAlignment) {
    throw usage(
      `section alignment 0x${va0.toString(16)} is not a power of two >= the stub's SectionAlignment 0x${h.sectionAlignment.toString(16)}`,
    );
  }

  // Sections swapped into the stub (ukify: "the stub will already have a .sbat section"), the rest appended.
  const replace = new Map<number, Uint8Array>();
  const appended: UkiSectionInput[] = [];
  for (const s of inputs) {
    const idx = h.sections.findIndex((x) => x.name === s.name);
    if (idx < 0 || replace.has(idx)) {
      appended.push(s);
      continue;
    }
    const old = h.sections[idx] as PeSection;
    if (!isUkiSectionName(s.name))
      throw usage(
        `${STUB} already has a section ${s.name}; only UKI sections (such as .sbat) may replace a stub section`,
      );
    const next = h.sections
      .filter((x) => x.virtualAddress > old.virtualAddress)
      .reduce((m, x) => Math.min(m, x.virtualAddress), Infinity);
    const room = Math.min(old.sizeOfRawData, next - old.virtualAddress);
    if (s.data.length > room) {
      throw usage(
        `${s.name} is ${s.data.length} bytes but the stub's ${s.name} section has room for ${room}`,
        'ukify swaps the data of a section the stub already has in place, so it must fit',
      );
    }
    replace.set(idx, s.data);
  }
  const count = h.sections.length + appended.length;
  if (count > MAX_SECTIONS)
    throw usage(`a UKI with ${count} sections exceeds the ${MAX_SECTIONS}-section limit of PE loaders`);

  // Headers: the section table must fit below SizeOfHeaders, and the headers below the first VA.
  const needed = h.tableOffset + count * SECTION_HEADER_SIZE;
  const soh = up(Math.max(h.sizeOfHeaders, needed), fa);
  const firstVa = h.sections.reduce((m, s) => Math.min(m, s.virtualAddress), Infinity);
  if (soh > firstVa) {
    throw usage(
      `the section table of ${count} sections needs SizeOfHeaders 0x${soh.toString(16)}, past the stub's first section at VirtualAddress 0x${firstVa.toString(16)}`,
      'use fewer sections',
    );
  }
  const slackEnd = Math.min(
    needed,
    stub.length,
    h.sections.filter((s) => s.sizeOfRawData > 0).reduce((m, s) => Math.min(m, s.pointerToRawData), Infinity),
  );
  for (let i = h.tableEnd; i < slackEnd; i++) {
    if (stub[i] !== 0)
      throw new ParseError(
        'PARSE_UNSUPPORTED',
        `${STUB}: headers`,
        i,
        'non-zero bytes after the section table, where the new section headers go',
      );
  }

  // The stub's section data, in file order, each at the next FileAlignment boundary after the headers.
  const byFile = h.sections
    .filter((s) => s.sizeOfRawData > 0)
    .sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  const newPtr = new Map<number, number>();
  let pos = soh;
  let prevEnd = 0;
  for (const s of byFile) {
    if (s.pointerToRawData < prevEnd)
      throw new ParseError(
        'PARSE_UNSUPPORTED',
        `${STUB}: section ${s.name}`,
        s.headerOffset,
        'raw data overlaps the previous section',
      );
    prevEnd = s.pointerToRawData + s.sizeOfRawData;
    const p = up(pos, fa);
    newPtr.set(s.index, p);
    pos = p + up(s.sizeOfRawData, fa);
  }
  const headerGrowth =
    byFile.length > 0
      ? (newPtr.get((byFile[0] as PeSection).index) as number) - (byFile[0] as PeSection).pointerToRawData
      : 0;

  const items: Planned['items'][number][] = h.sections.map((s) => {
    const data = replace.get(s.index);
    return {
      place: {
        name: s.name,
        virtualAddress: s.virtualAddress,
        virtualSize: data === undefined ? s.virtualSize : data.length,
        pointerToRawData: s.sizeOfRawData > 0 ? (newPtr.get(s.index) as number) : s.pointerToRawData,
        sizeOfRawData: s.sizeOfRawData > 0 ? up(s.sizeOfRawData, fa) : 0,
        origin: data === undefined ? 'stub' : 'replaced',
      },
      characteristics: s.characteristics,
      stubSection: s,
      ...(data === undefined ? {} : { data }),
    };
  });
  const endOf = (p: UkiSectionPlacement): number => p.virtualAddress + (p.virtualSize || p.sizeOfRawData);
  let va = up(Math.max(...items.map((i) => endOf(i.place))), va0);
  let appendedVirtualSize = 0;
  for (const s of appended) {
    const ptr = up(pos, fa);
    const raw = up(s.data.length, fa);
    items.push({
      place: {
        name: s.name,
        virtualAddress: va,
        virtualSize: s.data.length,
        pointerToRawData: ptr,
        sizeOfRawData: raw,
        origin: 'added',
      },
      characteristics: SCN_MEM_READ | (s.name === '.linux' ? SCN_CNT_CODE : SCN_CNT_INITIALIZED_DATA),
      data: s.data,
    });
    appendedVirtualSize += s.data.length;
    pos = ptr + raw;
    va = up(va + s.data.length, va0);
  }
  const sizeOfImage = up(Math.max(...items.map((i) => endOf(i.place))), h.sectionAlignment);
  const fileSize = up(pos, 8);
  if (
    fileSize > MAX_IMAGE ||
    sizeOfImage > MAX_IMAGE ||
    h.sizeOfInitializedData + appendedVirtualSize > MAX_IMAGE
  ) {
    throw usage(
      `the UKI would be ${fileSize} bytes (SizeOfImage ${sizeOfImage}); PE images are limited to 4 GiB`,
    );
  }
  return {
    layout: {
      sections: items.map((i) => i.place),
      sizeOfHeaders: soh,
      sizeOfImage,
      fileSize,
      headerGrowth,
      strippedSymbolTable: stripped,
    },
    items,
    stub: h,
    appendedVirtualSize,
  };
}

/** Where every section of the UKI assembleUki would write goes, without writing it. */
export function planUki(opts: AssembleUkiOptions): UkiLayout {
  return plan(opts).layout;
}

/** Moves the debug directory's file pointers along with the section data they point into. */
function patchDebugDirectory(view: DataView, p: Planned): void {
  const dir = p.stub.debugDirectory;
  if (dir.size === 0 || p.layout.headerGrowth === 0) return;
  const holder = p.items.find(
    (i) =>
      i.stubSection &&
      dir.virtualAddress >= i.place.virtualAddress &&
      dir.virtualAddress + dir.size <=
        i.place.virtualAddress +
          Math.min(i.place.virtualSize || i.place.sizeOfRawData, i.place.sizeOfRawData),
  );
  if (!holder)
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      `${STUB}: debug directory`,
      p.stub.optOffset,
      `RVA 0x${dir.virtualAddress.toString(16)} is not in a section's raw data, so it cannot be moved`,
    );
  const at = holder.place.pointerToRawData + (dir.virtualAddress - holder.place.virtualAddress);
  for (let e = 0; e + DEBUG_DIRECTORY_ENTRY_SIZE <= dir.size; e += DEBUG_DIRECTORY_ENTRY_SIZE) {
    const field = at + e + DEBUG_POINTER_TO_RAW_DATA;
    const old = view.getUint32(field, true);
    if (old === 0) continue;
    const src = p.items.find(
      (i) =>
        i.stubSection &&
        old >= i.stubSection.pointerToRawData &&
        old < i.stubSection.pointerToRawData + i.stubSection.sizeOfRawData,
    );
    if (!src?.stubSection)
      throw new ParseError(
        'PARSE_UNSUPPORTED',
        `${STUB}: debug directory`,
        field,
        `PointerToRawData ${old} is outside every section's data`,
      );
    view.setUint32(field, old - src.stubSection.pointerToRawData + src.place.pointerToRawData, true);
  }
}

/**
 * Adds `sections` to a systemd-stub and returns the UKI's bytes (see the file comment for the
 * layout). Throws NodeimgError('USAGE') for bad inputs (names, duplicates, a signed stub, too many
 * sections) and ParseError for a stub it cannot lay out.
 */
export function assembleUki(opts: AssembleUkiOptions): Uint8Array {
  const p = plan(opts);
  const h = p.stub;
  const stub = opts.stub;
  const out = new Uint8Array(p.layout.fileSize);
  const view = new DataView(out.buffer);
  // Headers up to the section table, then whatever the stub has after it in its header area.
  const firstRaw = p.items
    .filter((i) => i.stubSection && i.stubSection.sizeOfRawData > 0)
    .reduce((m, i) => Math.min(m, (i.stubSection as PeSection).pointerToRawData), stub.length);
  out.set(stub.subarray(0, Math.min(h.sizeOfHeaders, firstRaw, p.layout.sizeOfHeaders)), 0);
  // Section data.
  for (const i of p.items) {
    if (i.data !== undefined) out.set(i.data, i.place.pointerToRawData);
    else if (i.stubSection && i.stubSection.sizeOfRawData > 0) {
      const s = i.stubSection;
      out.set(
        stub.subarray(s.pointerToRawData, s.pointerToRawData + s.sizeOfRawData),
        i.place.pointerToRawData,
      );
    }
  }
  // Section table.
  p.items.forEach((i, n) => {
    const at = h.tableOffset + n * SECTION_HEADER_SIZE;
    if (i.stubSection)
      out.set(
        stub.subarray(i.stubSection.headerOffset, i.stubSection.headerOffset + SECTION_HEADER_SIZE),
        at,
      );
    else {
      out.fill(0, at, at + SECTION_HEADER_SIZE);
      for (let c = 0; c < i.place.name.length; c++) out[at + c] = i.place.name.charCodeAt(c);
      view.setUint32(at + 36, i.characteristics, true);
    }
    view.setUint32(at + 8, i.place.virtualSize, true);
    view.setUint32(at + 12, i.place.virtualAddress, true);
    view.setUint32(at + 16, i.place.sizeOfRawData, true);
    view.setUint32(at + 20, i.place.pointerToRawData, true);
  });
  // COFF header.
  view.setUint16(h.coffOffset + 2, p.items.length, true);
  view.setUint32(h.coffOffset + 4, opts.sourceDateEpoch ?? 0, true);
  if (p.layout.strippedSymbolTable) {
    view.setUint32(h.coffOffset + 8, 0, true);
    view.setUint32(h.coffOffset + 12, 0, true);
    view.setUint16(h.coffOffset + 18, h.characteristics | IMAGE_FILE_LOCAL_SYMS_STRIPPED, true);
  }
  // Optional header (same offsets in PE32 and PE32+ up to CheckSum).
  view.setUint32(h.optOffset + 8, h.sizeOfInitializedData + p.appendedVirtualSize, true);
  view.setUint32(h.optOffset + 56, p.layout.sizeOfImage, true);
  view.setUint32(h.optOffset + 60, p.layout.sizeOfHeaders, true);
  patchDebugDirectory(view, p);
  view.setUint32(h.checkSumOffset, 0, true);
  view.setUint32(h.checkSumOffset, peChecksum(out, h.checkSumOffset), true);
  return out;
}
