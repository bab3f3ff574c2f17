// parsePe, authenticodeRanges/authenticodeHash rules, section data and certificate walking on
// synthetic images (test/helpers/synthetic-pe.ts), compared with the lab's petool.py and pesign.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { toHex } from '../../image/formats/reader.js';
import { fromBytes, slice } from '../../image/formats/source.js';
import {
  MAX_ZERO_FILL,
  authenticodeHash,
  authenticodeRanges,
  parseCertificates,
  parsePe,
  readSectionText,
  sectionData,
  sectionDigest,
  type PeImage,
} from '../../image/formats/pe/index.js';
import { buildPe, prngBytes, winCertificates, type SynthOptions } from '../helpers/synthetic-pe.js';
import { hasPetool, pesignHash, petoolHashes } from '../helpers/pe-tools.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-pe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function hashes(bytes: Uint8Array): Promise<Record<'sha1' | 'sha256' | 'sha384', string>> {
  const src = fromBytes(bytes, 'synthetic');
  const d = await authenticodeHash(src, await parsePe(src), ['sha1', 'sha256', 'sha384']);
  return { sha1: toHex(d.sha1), sha256: toHex(d.sha256), sha384: toHex(d.sha384) };
}

const three: SynthOptions['sections'] = [
  { name: '.text', data: prngBytes(1000, 1) },
  { name: '.data', data: prngBytes(300, 2), virtualSize: 0x2000 },
  { name: '.sdmagic', data: text('#### LoaderInfo: systemd-stub 255.4 ####\0') },
];

// Layouts that exercise every rule of measured-boot.md §1; each is checked against petool.py
// (sha1/256/384, the edk2 algorithm in Python) and, where pesign follows edk2, against pesign.
// pesign 0.112 is no reference for two layouts real binaries never have: it hashes sections in
// section-table order (edk2 Tcg2MeasurePeImage insertion-sorts them by PointerToRawData), and with
// NumberOfRvaAndSizes <= 4 it either dies with SIGBUS or hashes fixed DataDirectory[4] offsets.
const CASES: Record<string, SynthOptions & { pesign?: false }> = {
  'PE32+, 3 sections': { sections: three },
  'PE32, 3 sections': { format: 'PE32', sections: three },
  'odd file size (no 8-byte padding)': { sections: three, trailing: prngBytes(13, 3) },
  'signed: cert table excluded, trailing data hashed': {
    sections: three,
    trailing: prngBytes(24, 4),
    certTable: winCertificates([prngBytes(77, 5)], 0x0ef1),
  },
  'NumberOfRvaAndSizes 4 (no security directory)': {
    sections: three,
    numberOfRvaAndSizes: 4,
    trailing: prngBytes(5, 6),
    pesign: false,
  },
  'NumberOfRvaAndSizes 0, PE32': { format: 'PE32', sections: three, numberOfRvaAndSizes: 0, pesign: false },
  'SizeOfRawData 0 section skipped': {
    sections: [
      ...three,
      {
        name: '.bss',
        data: new Uint8Array(0),
        virtualSize: 0x1000,
        sizeOfRawData: 0,
        pointerToRawData: 0x1234,
      },
    ],
  },
  'equal PointerToRawData keep table order (stable sort)': {
    sections: [
      { name: '.a', data: prngBytes(0x200, 8), pointerToRawData: 0x400 },
      { name: '.a2', data: prngBytes(0x100, 9), pointerToRawData: 0x400, sizeOfRawData: 0x100 },
    ],
  },
  'section table out of file order (sorted by PointerToRawData)': {
    sections: [
      { name: '.b', data: prngBytes(0x200, 7), pointerToRawData: 0x600 },
      { name: '.a', data: prngBytes(0x200, 8), pointerToRawData: 0x400 },
      { name: '.a2', data: prngBytes(0x100, 9), pointerToRawData: 0x400, sizeOfRawData: 0x100 },
    ],
    pesign: false,
  },
};

describe('authenticodeHash on synthetic images', () => {
  it.each(Object.entries(CASES))(
    '%s: equals petool.py (and pesign)',
    { skip: !hasPetool },
    async (name, opts) => {
      const bytes = buildPe(opts);
      const file = join(dir, name.replace(/\W+/g, '_') + '.efi');
      await writeFile(file, bytes);
      const ours = await hashes(bytes);
      expect(ours).toEqual(await petoolHashes(file, ['sha1', 'sha256', 'sha384']));
      if (opts.pesign !== false) expect(ours.sha256).toBe(await pesignHash(file));
    },
  );

  it('odd size: differs from the go-uefi style digest of the zero-padded file', async () => {
    const bytes = buildPe(CASES['odd file size (no 8-byte padding)'] as SynthOptions);
    expect(bytes.length % 8).not.toBe(0);
    const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
    padded.set(bytes);
    expect((await hashes(bytes)).sha256).not.toBe((await hashes(padded)).sha256);
  });

  it('ranges: CheckSum and the certificate entry are skipped; trailing ends at fileSize - certSize', async () => {
    const bytes = buildPe(CASES['signed: cert table excluded, trailing data hashed'] as SynthOptions);
    const pe = await parsePe(fromBytes(bytes));
    const c = pe.optional.checkSumOffset;
    const d = pe.optional.certDirEntryOffset as number;
    const certSize = pe.optional.dataDirectories[4]?.size as number;
    const r = authenticodeRanges(pe).map(({ start, end }) => [start, end]);
    expect(r.slice(0, 3)).toEqual([
      [0, c],
      [c + 4, d],
      [d + 8, pe.optional.sizeOfHeaders],
    ]);
    expect(r[r.length - 1]?.[1]).toBe(bytes.length - certSize);
  });

  it('fileSize < sum + certSize is PARSE_INVALID at the certificate entry', async () => {
    const bytes = buildPe({ sections: three, trailing: prngBytes(16, 1) });
    const pe = await parsePe(fromBytes(bytes));
    const entry = pe.optional.certDirEntryOffset as number;
    new DataView(bytes.buffer).setUint32(entry + 4, 17, true); // Size 17 > 16 trailing bytes
    const again = await parsePe(fromBytes(bytes));
    expect(() => authenticodeRanges(again)).toThrow(
      expect.objectContaining({ code: 'PARSE_INVALID', offset: entry }),
    );
  });

  it('section raw data past the end of the file is PARSE_TRUNCATED at its section header', async () => {
    const bytes = buildPe({ sections: three }).subarray(0, 0x500);
    const src = fromBytes(bytes);
    const pe = await parsePe(src);
    await expect(authenticodeHash(src, pe, ['sha256'])).rejects.toMatchObject({
      code: 'PARSE_TRUNCATED',
      offset: pe.sections[0]?.headerOffset,
    });
  });

  it('sections are hashed stable-sorted by PointerToRawData (property)', () => {
    const section = fc.record({
      ptr: fc.integer({ min: 0x200, max: 0x240 }),
      raw: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(section, { maxLength: 12 }), (secs) => {
        const pe = {
          fileSize: 0x1000,
          base: 0,
          format: 'PE32+',
          optional: {
            checkSumOffset: 0xd8,
            certDirEntryOffset: undefined,
            sizeOfHeaders: 0x200,
            dataDirectories: [],
          },
          sections: secs.map((s, i) => ({
            index: i,
            name: `s${i}`,
            pointerToRawData: s.ptr,
            sizeOfRawData: s.raw,
            headerOffset: 0,
          })),
        } as unknown as PeImage;
        const got = authenticodeRanges(pe).filter((r) => r.what.startsWith('section '));
        const want = secs
          .map((s, i) => ({ ...s, i }))
          .filter((s) => s.raw > 0)
          .sort((a, b) => a.ptr - b.ptr || a.i - b.i)
          .map((s) => `section s${s.i}`);
        expect(got.map((r) => r.what)).toEqual(want);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('chunk size does not change the digest', async () => {
    const bytes = buildPe({
      sections: [{ name: '.big', data: prngBytes(100_000, 3) }],
      trailing: prngBytes(7, 1),
    });
    const src = fromBytes(bytes);
    const pe = await parsePe(src);
    const want = toHex((await authenticodeHash(src, pe, ['sha256'])).sha256);
    for (const chunkSize of [1, 7, 4096, 65536]) {
      expect(toHex((await authenticodeHash(src, pe, ['sha256'], { chunkSize })).sha256)).toBe(want);
    }
  });
});

describe('parsePe hostile inputs', () => {
  const good = (): Uint8Array => buildPe({ sections: three });
  const patch = (f: (v: DataView, b: Uint8Array) => void): Uint8Array => {
    const b = good();
    f(new DataView(b.buffer), b);
    return b;
  };
  const cases: [string, Uint8Array, string, number][] = [
    // e_magic "ZM" instead of "MZ"
    ['e_magic', patch((_v, b) => b.set([0x5a, 0x4d], 0)), 'PARSE_INVALID', 0],
    // e_lfanew (0x3c) = 0x100000: past MAX_E_LFANEW
    ['e_lfanew too large', patch((v) => v.setUint32(0x3c, 0x100000, true)), 'PARSE_LIMIT', 0x3c],
    // e_lfanew (0x3c) = 0x1000: inside the limit but past this short file's header area → garbage signature
    ['PE signature', patch((v) => v.setUint32(0x80, 0x00004551, true)), 'PARSE_INVALID', 0x80],
    // COFF NumberOfSections (lfanew+4+2) = 97 > 96
    ['NumberOfSections 97', patch((v) => v.setUint16(0x86, 97, true)), 'PARSE_LIMIT', 0x86],
    // COFF NumberOfSections = 60: the section table runs past the end of this small file
    ['section table past the end', patch((v) => v.setUint16(0x86, 60, true)), 'PARSE_TRUNCATED', 0x98],
    // SizeOfOptionalHeader (lfanew+4+16) = 0x2000 > 4096
    ['SizeOfOptionalHeader 0x2000', patch((v) => v.setUint16(0x94, 0x2000, true)), 'PARSE_LIMIT', 0x94],
    // SizeOfHeaders (opt+60) = 0x100: before the end of the section table
    [
      'SizeOfHeaders too small',
      patch((v) => v.setUint32(0x98 + 60, 0x100, true)),
      'PARSE_INVALID',
      0x98 + 60,
    ],
    // SizeOfHeaders (opt+60) = 16 MiB
    ['SizeOfHeaders huge', patch((v) => v.setUint32(0x98 + 60, 0x1000000, true)), 'PARSE_LIMIT', 0x98 + 60],
  ];
  it.each(cases)('%s → %s at the field', async (_name, bytes, code, offset) => {
    await expect(parsePe(fromBytes(bytes))).rejects.toMatchObject({ code, offset });
  });

  it('errors carry absolute offsets when the image is a window of a larger input', async () => {
    const inner = cases[3]?.[1] as Uint8Array;
    const outer = new Uint8Array(0x10000 + inner.length);
    outer.set(inner, 0x10000);
    const src = slice(fromBytes(outer, 'disk.raw'), 0x10000, inner.length, 'ESP file');
    const err = await parsePe(src).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({ code: 'PARSE_LIMIT', offset: 0x10000 + 0x86 });
  });

  it('offsets inside PeImage stay file-relative in a window', async () => {
    const inner = good();
    const outer = new Uint8Array(512 + inner.length);
    outer.set(inner, 512);
    const a = await parsePe(fromBytes(inner));
    const b = await parsePe(slice(fromBytes(outer), 512, inner.length));
    expect(b.base).toBe(512);
    expect({ ...b, base: 0 }).toEqual(a);
  });
});

describe('section data', () => {
  const bytes = buildPe({
    sections: [
      { name: '.osrel', data: text('ID=test\nVERSION_ID=1\n\0junk'), virtualSize: 21 },
      { name: '.bss', data: prngBytes(10, 1), virtualSize: 5000 },
      { name: '.huge', data: prngBytes(10, 1), virtualSize: MAX_ZERO_FILL + 0x1000 },
    ],
  });
  const src = fromBytes(bytes);

  it('is VirtualSize bytes: truncated below SizeOfRawData, zero-filled above', async () => {
    const pe = await parsePe(src);
    const [osrel, bss] = pe.sections;
    expect(await sectionData(src, pe, osrel as never)).toEqual(text('ID=test\nVERSION_ID=1\n'));
    const d = await sectionData(src, pe, bss as never);
    expect(d.length).toBe(5000);
    expect(d.subarray(0, 10)).toEqual(prngBytes(10, 1));
    expect(d.subarray(0x200).every((x) => x === 0)).toBe(true);
    const digest = await sectionDigest(src, pe, bss as never, ['sha256'], { chunkSize: 333 });
    expect(toHex(digest.sha256)).toBe(sha256(d));
  });

  it('zero fill beyond MAX_ZERO_FILL is PARSE_LIMIT', async () => {
    const pe = await parsePe(src);
    await expect(sectionDigest(src, pe, pe.sections[2] as never, ['sha256'])).rejects.toMatchObject({
      code: 'PARSE_LIMIT',
    });
  });

  it('readSectionText stops at NUL, undefined when absent, PARSE_LIMIT over the cap', async () => {
    const pe = await parsePe(src);
    expect(await readSectionText(src, pe, '.osrel')).toBe('ID=test\nVERSION_ID=1\n');
    expect(await readSectionText(src, pe, '.cmdline')).toBeUndefined();
    await expect(readSectionText(src, pe, '.bss', 100)).rejects.toMatchObject({ code: 'PARSE_LIMIT' });
  });

  it('"/N" names resolve through the COFF string table', async () => {
    // string table = u32 size (incl. itself) + ".debug_info\0"
    const strtab = new Uint8Array([16, 0, 0, 0, ...text('.debug_info\0')]);
    const b = buildPe({
      sections: [
        { name: '/4', data: prngBytes(10, 2) },
        { name: '.text', data: prngBytes(10, 3) },
      ],
      trailing: strtab,
    });
    new DataView(b.buffer).setUint32(0x80 + 4 + 8, b.length - strtab.length, true); // PointerToSymbolTable
    const pe = await parsePe(fromBytes(b));
    expect(pe.sections.map((s) => [s.name, s.longName])).toEqual([
      ['/4', '.debug_info'],
      ['.text', undefined],
    ]);
  });
});

describe('parseCertificates', () => {
  it('walks 8-byte aligned WIN_CERTIFICATE entries', async () => {
    const table = winCertificates([prngBytes(13, 1), prngBytes(20, 2)], 0x0ef1);
    const bytes = buildPe({ sections: three, certTable: table });
    const src = fromBytes(bytes);
    const certs = await parseCertificates(src, await parsePe(src));
    const start = bytes.length - table.length;
    expect(certs).toEqual([
      { offset: start, length: 21, revision: 0x200, certificateType: 0x0ef1, signature: undefined },
      { offset: start + 24, length: 28, revision: 0x200, certificateType: 0x0ef1, signature: undefined },
    ]);
  });

  it('a dwLength past the table is PARSE_INVALID at the entry', async () => {
    const table = winCertificates([prngBytes(13, 1)], 0x0ef1);
    new DataView(table.buffer).setUint32(0, 999, true);
    const bytes = buildPe({ sections: three, certTable: table });
    const src = fromBytes(bytes);
    await expect(parseCertificates(src, await parsePe(src))).rejects.toMatchObject({
      code: 'PARSE_INVALID',
      offset: bytes.length - table.length,
    });
  });

  it('unsigned images have none', async () => {
    const src = fromBytes(buildPe({ sections: three }));
    expect(await parseCertificates(src, await parsePe(src))).toEqual([]);
  });
});
