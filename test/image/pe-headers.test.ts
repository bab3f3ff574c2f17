// Header decoders, field by field, at data offset 0 and 32 (STYLE.md guideline 5: a forgotten base
// offset shows up as wrong values at 32). Each table restates the C typedef from winnt.h / the
// PE/COFF spec; values are distinct per field so that a swapped field cannot pass.
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../image/formats/reader.js';
import {
  COFF_HEADER_SIZE,
  DOS_HEADER_SIZE,
  SECTION_HEADER_SIZE,
  decodeCoffHeader,
  decodeDosHeader,
  decodeOptionalHeader,
  decodeSectionHeader,
  expectPeSignature,
} from '../../image/formats/pe/index.js';
import { ParseError } from '../../image/formats/errors.js';

type Width = 1 | 2 | 4 | 8 | 'name8';
type FieldTable = readonly (readonly [string, Width])[];

// typedef struct _IMAGE_FILE_HEADER { WORD Machine; WORD NumberOfSections; DWORD TimeDateStamp;
//   DWORD PointerToSymbolTable; DWORD NumberOfSymbols; WORD SizeOfOptionalHeader; WORD Characteristics; }
const COFF_FIELDS: FieldTable = [
  ['machine', 2],
  ['numberOfSections', 2],
  ['timeDateStamp', 4],
  ['pointerToSymbolTable', 4],
  ['numberOfSymbols', 4],
  ['sizeOfOptionalHeader', 2],
  ['characteristics', 2],
];

// typedef struct _IMAGE_OPTIONAL_HEADER { WORD Magic; BYTE MajorLinkerVersion; BYTE MinorLinkerVersion;
//   DWORD SizeOfCode; DWORD SizeOfInitializedData; DWORD SizeOfUninitializedData; DWORD AddressOfEntryPoint;
//   DWORD BaseOfCode; DWORD BaseOfData; DWORD ImageBase; DWORD SectionAlignment; DWORD FileAlignment;
//   WORD MajorOperatingSystemVersion; WORD MinorOperatingSystemVersion; WORD MajorImageVersion;
//   WORD MinorImageVersion; WORD MajorSubsystemVersion; WORD MinorSubsystemVersion; DWORD Win32VersionValue;
//   DWORD SizeOfImage; DWORD SizeOfHeaders; DWORD CheckSum; WORD Subsystem; WORD DllCharacteristics;
//   DWORD SizeOfStackReserve; DWORD SizeOfStackCommit; DWORD SizeOfHeapReserve; DWORD SizeOfHeapCommit;
//   DWORD LoaderFlags; DWORD NumberOfRvaAndSizes; IMAGE_DATA_DIRECTORY DataDirectory[16]; }
// IMAGE_OPTIONAL_HEADER64 drops BaseOfData and widens ImageBase and the four stack/heap sizes to ULONGLONG.
function optionalFields(plus: boolean): FieldTable {
  const w = plus ? 8 : 4;
  return [
    ['magic', 2],
    ['majorLinkerVersion', 1],
    ['minorLinkerVersion', 1],
    ['sizeOfCode', 4],
    ['sizeOfInitializedData', 4],
    ['sizeOfUninitializedData', 4],
    ['addressOfEntryPoint', 4],
    ['baseOfCode', 4],
    ...(plus ? [] : ([['baseOfData', 4]] as const)),
    ['imageBase', w],
    ['sectionAlignment', 4],
    ['fileAlignment', 4],
    ['majorOperatingSystemVersion', 2],
    ['minorOperatingSystemVersion', 2],
    ['majorImageVersion', 2],
    ['minorImageVersion', 2],
    ['majorSubsystemVersion', 2],
    ['minorSubsystemVersion', 2],
    ['win32VersionValue', 4],
    ['sizeOfImage', 4],
    ['sizeOfHeaders', 4],
    ['checkSum', 4],
    ['subsystem', 2],
    ['dllCharacteristics', 2],
    ['sizeOfStackReserve', w],
    ['sizeOfStackCommit', w],
    ['sizeOfHeapReserve', w],
    ['sizeOfHeapCommit', w],
    ['loaderFlags', 4],
    ['numberOfRvaAndSizes', 4],
  ];
}
const BIGINT_FIELDS = new Set([
  'imageBase',
  'sizeOfStackReserve',
  'sizeOfStackCommit',
  'sizeOfHeapReserve',
  'sizeOfHeapCommit',
]);

// typedef struct _IMAGE_SECTION_HEADER { BYTE Name[8]; DWORD VirtualSize; DWORD VirtualAddress;
//   DWORD SizeOfRawData; DWORD PointerToRawData; DWORD PointerToRelocations; DWORD PointerToLinenumbers;
//   WORD NumberOfRelocations; WORD NumberOfLinenumbers; DWORD Characteristics; }
const SECTION_FIELDS: FieldTable = [
  ['name', 'name8'],
  ['virtualSize', 4],
  ['virtualAddress', 4],
  ['sizeOfRawData', 4],
  ['pointerToRawData', 4],
  ['pointerToRelocations', 4],
  ['pointerToLinenumbers', 4],
  ['numberOfRelocations', 2],
  ['numberOfLinenumbers', 2],
  ['characteristics', 4],
];

const size = (t: FieldTable): number => t.reduce((n, [, w]) => n + (w === 'name8' ? 8 : w), 0);

/** Writes distinct values per field (or the override) at `at`; returns the expected decoded values. */
function encode(
  t: FieldTable,
  b: Uint8Array,
  at: number,
  overrides: Record<string, number | bigint | string> = {},
): Record<string, unknown> {
  const v = new DataView(b.buffer, b.byteOffset);
  const expected: Record<string, unknown> = {};
  let pos = at;
  t.forEach(([name, w], i) => {
    const o = overrides[name];
    if (w === 'name8') {
      const s = typeof o === 'string' ? o : '.f' + i;
      b.set(new TextEncoder().encode(s), pos);
      expected[name] = s;
      pos += 8;
      return;
    }
    const val =
      o !== undefined
        ? BigInt(o)
        : w === 1
          ? BigInt(0x10 + i)
          : w === 2
            ? BigInt(0x1100 + i)
            : w === 4
              ? BigInt(0x21000000 + i)
              : 0x3100000000000000n + BigInt(i);
    if (w === 1) v.setUint8(pos, Number(val));
    else if (w === 2) v.setUint16(pos, Number(val), true);
    else if (w === 4) v.setUint32(pos, Number(val), true);
    else v.setBigUint64(pos, val, true);
    expected[name] = BIGINT_FIELDS.has(name) ? val : Number(val);
    pos += w;
  });
  return expected;
}

describe.each([0, 32])('PE header decoders at data offset %i', (off) => {
  it('IMAGE_DOS_HEADER: 64 bytes, e_magic and e_lfanew', () => {
    const b = new Uint8Array(off + DOS_HEADER_SIZE);
    b.set([0x4d, 0x5a], off);
    new DataView(b.buffer).setUint32(off + 0x3c, 0x80, true);
    const r = new ByteReader(b).seek(off);
    expect(decodeDosHeader(r)).toEqual({ magic: 0x5a4d, lfanew: 0x80 });
    expect(r.offset).toBe(off + 64);
  });

  it('IMAGE_FILE_HEADER: field table, size 20', () => {
    expect(size(COFF_FIELDS)).toBe(COFF_HEADER_SIZE);
    const b = new Uint8Array(off + 4 + COFF_HEADER_SIZE);
    b.set([0x50, 0x45, 0, 0], off);
    const expected = encode(COFF_FIELDS, b, off + 4, { numberOfSections: 96, sizeOfOptionalHeader: 240 });
    const r = new ByteReader(b).seek(off);
    expectPeSignature(r);
    expect(decodeCoffHeader(r)).toEqual(expected);
    expect(r.offset).toBe(off + 24);
  });

  it.each([
    ['PE32', false, 0x10b, 96],
    ['PE32+', true, 0x20b, 112],
  ] as const)(
    '%s optional header: field table, CheckSum and certificate entry offsets',
    (format, plus, magic, fixed) => {
      const t = optionalFields(plus);
      expect(size(t)).toBe(fixed);
      const b = new Uint8Array(off + fixed + 16 * 8);
      const expected = encode(t, b, off, { magic, numberOfRvaAndSizes: 16 });
      const v = new DataView(b.buffer);
      for (let i = 0; i < 16; i++) {
        v.setUint32(off + fixed + 8 * i, 0x1000 * (i + 1), true);
        v.setUint32(off + fixed + 8 * i + 4, i + 1, true);
      }
      const base = 1000; // absolute offset of byte 0 of the buffer, e.g. a partition start
      const got = decodeOptionalHeader(new ByteReader(b, 'opt', base).sub(off, fixed + 128));
      expect(got).toMatchObject({
        ...expected,
        format,
        baseOfData: plus ? undefined : expected['baseOfData'],
      });
      expect(got.checkSumOffset).toBe(base + off + 64);
      expect(got.certDirEntryOffset).toBe(base + off + fixed + 32);
      expect(got.dataDirectories).toHaveLength(16);
      expect(got.dataDirectories[4]).toEqual({ virtualAddress: 0x5000, size: 5 });
    },
  );

  it('IMAGE_SECTION_HEADER: field table, size 40', () => {
    expect(size(SECTION_FIELDS)).toBe(SECTION_HEADER_SIZE);
    const b = new Uint8Array(off + SECTION_HEADER_SIZE);
    const expected = encode(SECTION_FIELDS, b, off, { name: '.sdmagic' });
    const r = new ByteReader(b, 'sections', 500).seek(off);
    expect(decodeSectionHeader(r, 3)).toEqual({
      ...expected,
      index: 3,
      longName: undefined,
      headerOffset: 500 + off,
    });
  });
});

describe('optional header limits', () => {
  const build = (plus: boolean, nrva: number, sizeOfOptionalHeader: number): ByteReader => {
    const b = new Uint8Array(sizeOfOptionalHeader);
    const v = new DataView(b.buffer);
    v.setUint16(0, plus ? 0x20b : 0x10b, true);
    v.setUint32(plus ? 108 : 92, nrva, true);
    return new ByteReader(b, 'opt', 0x98);
  };
  it('NumberOfRvaAndSizes <= 4: no certificate entry', () => {
    const h = decodeOptionalHeader(build(true, 4, 112 + 32));
    expect(h.certDirEntryOffset).toBeUndefined();
    expect(h.dataDirectories).toHaveLength(4);
  });
  it('NumberOfRvaAndSizes 17 is rejected (edk2 allows at most 16)', () => {
    expect(() => decodeOptionalHeader(build(true, 17, 112 + 17 * 8))).toThrow(
      expect.objectContaining({ code: 'PARSE_LIMIT', offset: 0x98 + 108 }),
    );
  });
  it('directories that do not fit SizeOfOptionalHeader are rejected', () => {
    expect(() => decodeOptionalHeader(build(false, 16, 96 + 8))).toThrow(ParseError);
  });
  it('unknown Magic is PARSE_UNSUPPORTED at the Magic offset', () => {
    const r = build(true, 0, 112);
    r.bytes[0] = 0x07;
    expect(() => decodeOptionalHeader(r)).toThrow(
      expect.objectContaining({ code: 'PARSE_UNSUPPORTED', offset: 0x98 }),
    );
  });
  it('SizeOfOptionalHeader smaller than the fixed part is rejected', () => {
    expect(() => decodeOptionalHeader(build(true, 0, 112).sub(0, 100))).toThrow(
      expect.objectContaining({ code: 'PARSE_INVALID' }),
    );
  });
});
