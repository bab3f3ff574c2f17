// assembleUki (image/formats/pe/uki-writer.ts): the UKI nodeimg writes itself, read back with our PE
// codec and checked against binutils (objdump -h), pesign (Authenticode) and systemd-measure (PCR 11),
// on Debian's systemd-stub 252 and kernel; random section sets round-trip on synthetic stubs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeimgError, ParseError } from '../../image/formats/errors.js';
import { authenticodeHash, parsePe, sectionData, type PeImage } from '../../image/formats/pe/index.js';
import { peChecksum } from '../../image/formats/pe/checksum.js';
import {
  UKIFY_SECTION_ORDER,
  assembleUki,
  planUki,
  ukifyOrder,
  type UkiSectionInput,
} from '../../image/formats/pe/uki-writer.js';
import { fromBytes } from '../../image/formats/source.js';
import { toHex } from '../../image/formats/reader.js';
import { measureSource } from '../../image/measure.js';
import { debPackage } from '../helpers/debs.js';
import { pesignHash } from '../helpers/pe-tools.js';
import { buildPe, prngBytes, winCertificates } from '../helpers/synthetic-pe.js';

const MEASURE = '/usr/lib/systemd/systemd-measure';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const EPOCH = 1_700_000_000;

let dir: string;
let stub: Uint8Array;
let kernel: Uint8Array;

beforeAll(async () => {
  const sd = await debPackage('systemd-boot-efi');
  const linux = await debPackage('linux-image-amd64');
  stub = new Uint8Array(await readFile(join(sd.root, 'usr/lib/systemd/boot/efi/linuxx64.efi.stub')));
  kernel = new Uint8Array(
    await readFile(join(linux.root, 'boot', `vmlinuz-${linux.name.replace(/^linux-image-/, '')}`)),
  );
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-uki-writer-'));
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const parse = (b: Uint8Array): Promise<PeImage> => parsePe(fromBytes(b, 'uki.efi'));

/** Every structural rule of the writer, checked on the parsed result. */
async function checkLayout(
  uki: Uint8Array,
  stubBytes: Uint8Array,
  added: readonly UkiSectionInput[],
): Promise<PeImage> {
  const pe = await parse(uki);
  const st = await parse(stubBytes);
  const src = fromBytes(uki);
  const { fileAlignment: fa, sectionAlignment: sa } = st.optional;
  expect(uki.length % 8).toBe(0);
  expect(pe.optional.sizeOfHeaders % fa).toBe(0);
  expect(pe.sectionTableEnd).toBeLessThanOrEqual(pe.optional.sizeOfHeaders);
  expect(pe.coff.pointerToSymbolTable).toBe(0);
  expect(pe.coff.numberOfSymbols).toBe(0);
  // the stub's sections keep their names, addresses and bytes
  for (const [i, s] of st.sections.entries()) {
    const o = pe.sections[i];
    expect(o?.name).toBe(s.name);
    expect(o?.virtualAddress).toBe(s.virtualAddress);
    if (added.some((a) => a.name === s.name)) continue;
    expect(o?.virtualSize).toBe(s.virtualSize);
    expect(toHex(await sectionData(src, pe, o as never))).toBe(
      toHex(await sectionData(fromBytes(stubBytes), st, s)),
    );
  }
  const fresh = pe.sections.slice(st.sections.length);
  let prevEnd = Math.max(...st.sections.map((s) => s.virtualAddress + s.virtualSize));
  for (const s of fresh) {
    expect(s.virtualAddress % sa).toBe(0);
    expect(s.virtualAddress).toBe(Math.ceil(prevEnd / sa) * sa);
    expect(s.pointerToRawData % fa).toBe(0);
    expect(s.sizeOfRawData).toBe(Math.ceil(s.virtualSize / fa) * fa);
    expect(s.characteristics).toBe(s.name === '.linux' ? 0x40000020 : 0x40000040);
    prevEnd = s.virtualAddress + s.virtualSize;
  }
  // every input's VirtualSize bytes are the input
  for (const a of added) {
    const s = pe.sections.find((x) => x.name === a.name);
    expect(s?.virtualSize).toBe(a.data.length);
    expect(toHex(await sectionData(src, pe, s as never))).toBe(toHex(a.data));
  }
  const last = pe.sections.reduce((m, s) => Math.max(m, s.virtualAddress + s.virtualSize), 0);
  expect(pe.optional.sizeOfImage).toBe(Math.ceil(last / sa) * sa);
  const grown = added
    .filter((a) => !st.sections.some((s) => s.name === a.name))
    .reduce((n, a) => n + a.data.length, 0);
  expect(pe.optional.sizeOfInitializedData).toBe(st.optional.sizeOfInitializedData + grown);
  expect(pe.optional.checkSum).toBe(peChecksum(uki, pe.optional.checkSumOffset));
  return pe;
}

/** `objdump -h` rows: name, size, VMA, file offset. */
function objdumpSections(file: string): { name: string; size: number; vma: number; off: number }[] {
  const out = execFileSync('objdump', ['-h', file]).toString();
  const rows: { name: string; size: number; vma: number; off: number }[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s/i.exec(line);
    if (m)
      rows.push({
        name: m[1] as string,
        size: parseInt(m[2] as string, 16),
        vma: parseInt(m[3] as string, 16),
        off: parseInt(m[4] as string, 16),
      });
  }
  return rows;
}

function labSections(): UkiSectionInput[] {
  return [
    { name: '.linux', data: kernel },
    { name: '.osrel', data: enc('ID=nodeimg\nVERSION_ID=1\n') },
    { name: '.cmdline', data: enc('console=ttyS0 quiet') },
    { name: '.initrd', data: prngBytes(100_003, 7) },
  ];
}

describe('assembleUki on Debian systemd-stub 252', () => {
  it('lays out the lab sections as ukify does, and reads back', async () => {
    const sections = labSections();
    const uki = assembleUki({ stub, sections, sourceDateEpoch: EPOCH });
    const pe = await checkLayout(uki, stub, sections);
    expect(pe.sections.map((s) => s.name).slice(-4)).toEqual(['.osrel', '.cmdline', '.initrd', '.linux']);
    expect(pe.coff.timeDateStamp).toBe(EPOCH);
    expect(pe.coff.characteristics & 0x0008).toBe(0x0008); // symbols stripped
    expect(pe.optional.sizeOfHeaders).toBe(0x400); // 12 sections still fit
    // deterministic: same bytes twice, and independent of the order the sections are given in
    expect(toHex(assembleUki({ stub, sections: [...sections].reverse(), sourceDateEpoch: EPOCH }))).toBe(
      toHex(uki),
    );
    expect(assembleUki({ stub, sections }).subarray(0x80 + 8, 0x80 + 12)).toEqual(new Uint8Array(4)); // TimeDateStamp 0
    // a larger VirtualAddress alignment for the added sections (the lab's objcopy UKI used 4 KiB)
    const paged = await parse(assembleUki({ stub, sections, sectionAlignment: 0x1000 }));
    expect(paged.sections.slice(8).map((s) => s.virtualAddress % 0x1000)).toEqual([0, 0, 0, 0]);
    expect(paged.optional.sectionAlignment).toBe(0x200);
  });

  it('grows SizeOfHeaders when the section table is full, moving the stub data by one FileAlignment', async () => {
    const sections: UkiSectionInput[] = [
      ...labSections(),
      { name: '.uname', data: enc('6.1.0-56-amd64') },
      { name: '.splash', data: prngBytes(3000, 2) },
      { name: '.dtb', data: prngBytes(77, 3) },
      { name: '.pcrpkey', data: enc('-----BEGIN PUBLIC KEY-----\n') },
    ];
    const layout = planUki({ stub, sections });
    expect(layout.headerGrowth).toBe(0x200);
    expect(layout.sizeOfHeaders).toBe(0x600);
    const uki = assembleUki({ stub, sections });
    const pe = await checkLayout(uki, stub, sections);
    expect(pe.sections.map((s) => s.name).slice(8)).toEqual([
      '.osrel',
      '.cmdline',
      '.dtb',
      '.uname',
      '.splash',
      '.pcrpkey',
      '.initrd',
      '.linux',
    ]);
    const file = join(dir, 'grown.efi');
    await writeFile(file, uki);
    expect(objdumpSections(file)).toEqual(
      pe.sections.map((s) => ({
        name: s.name,
        size: s.virtualSize,
        vma: s.virtualAddress,
        off: s.pointerToRawData,
      })),
    );
    expect(toHex((await authenticodeHash(fromBytes(uki), pe, ['sha256'])).sha256)).toBe(
      await pesignHash(file),
    );
  });

  it('objdump -h and pesign -h agree with our reading of the lab UKI', async () => {
    const uki = assembleUki({ stub, sections: labSections(), sourceDateEpoch: EPOCH });
    const file = join(dir, 'lab.efi');
    await writeFile(file, uki);
    const pe = await parse(uki);
    expect(objdumpSections(file)).toEqual(
      pe.sections.map((s) => ({
        name: s.name,
        size: s.virtualSize,
        vma: s.virtualAddress,
        off: s.pointerToRawData,
      })),
    );
    const ours = await authenticodeHash(fromBytes(uki), pe, ['sha1', 'sha256']);
    expect(toHex(ours.sha256)).toBe(await pesignHash(file, 'sha256'));
    expect(toHex(ours.sha1)).toBe(await pesignHash(file, 'sha1'));
  });

  it("swaps .sbat into the stub's own section (ukify) and refuses one that does not fit", async () => {
    const sbat = enc(
      'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nuki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n',
    );
    const sections = [...labSections(), { name: '.sbat', data: sbat }];
    const uki = assembleUki({ stub, sections });
    const pe = await checkLayout(uki, stub, sections);
    expect(pe.sections.filter((s) => s.name === '.sbat')).toHaveLength(1);
    // the stub's .sbat has 0x100 bytes before .sdmagic's VirtualAddress
    expect(() =>
      assembleUki({
        stub,
        sections: [...labSections(), { name: '.sbat', data: new Uint8Array(0x101).fill(0x41) }],
      }),
    ).toThrow(/room for 256/);
  });

  it.runIf(existsSync(MEASURE))(
    'PCR 11 predicted by nodeimg measure equals systemd-measure calculate',
    async () => {
      const sets: UkiSectionInput[][] = [
        labSections(),
        [
          ...labSections(),
          { name: '.splash', data: prngBytes(5000, 9) },
          { name: '.dtb', data: prngBytes(600, 10) },
          { name: '.pcrpkey', data: enc('pk') },
          { name: '.uname', data: enc('6.1') },
        ],
      ];
      for (const [n, sections] of sets.entries()) {
        const uki = assembleUki({ stub, sections, sourceDateEpoch: EPOCH });
        const args = ['calculate', '--json=short', '--bank=SHA256', '--bank=SHA384', '--phase=:'];
        for (const s of sections) {
          // systemd-measure 252 knows these; .uname is not measured by stub 252
          if (s.name === '.uname') continue;
          const f = join(dir, `m${n}${s.name}`);
          await writeFile(f, s.data);
          args.push(`--${s.name.slice(1)}=${f}`);
        }
        const want = JSON.parse(execFileSync(MEASURE, args).toString()) as Record<
          string,
          { pcr: number; hash: string }[]
        >;
        const { document } = await measureSource(fromBytes(uki, 'uki.efi'), {
          banks: ['sha256', 'sha384'],
          secureBoot: false,
        });
        expect(document.pcrs['11']?.expected['sha256']).toBe(want['sha256']?.[0]?.hash);
        expect(document.pcrs['11']?.expected['sha384']).toBe(want['sha384']?.[0]?.hash);
      }
    },
  );
});

describe('assembleUki errors', () => {
  const one = [{ name: '.linux', data: new Uint8Array([1]) }];
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (err) {
      if (err instanceof NodeimgError)
        return `${err.code}: ${err.message}${err.hint === undefined ? '' : ` (hint: ${err.hint})`}`;
      throw err;
    }
    return undefined;
  };

  it('refuses duplicate names, long or non-ASCII names and empty sections', () => {
    expect(code(() => assembleUki({ stub, sections: [...one, ...one] }))).toMatch(
      /^USAGE: UKI section \.linux is given twice/,
    );
    expect(
      code(() => assembleUki({ stub, sections: [{ name: '.toolong9', data: new Uint8Array(1) }] })),
    ).toMatch(/^USAGE: .*9 characters/);
    expect(code(() => assembleUki({ stub, sections: [{ name: '.é', data: new Uint8Array(1) }] }))).toMatch(
      /^USAGE: .*printable ASCII/,
    );
    expect(
      code(() => assembleUki({ stub, sections: [{ name: '.cmdline', data: new Uint8Array(0) }] })),
    ).toMatch(/^USAGE: UKI section \.cmdline is empty/);
    expect(code(() => assembleUki({ stub, sections: one, sourceDateEpoch: 2 ** 32 }))).toMatch(
      /^USAGE: .*32-bit/,
    );
    expect(code(() => assembleUki({ stub, sections: one, sectionAlignment: 0x100 }))).toMatch(
      /^USAGE: section alignment/,
    );
  });

  it('allows repeats after .profile only in as-given order', () => {
    const prof = [
      { name: '.profile', data: enc('ID=a') },
      { name: '.cmdline', data: enc('a') },
      { name: '.profile', data: enc('ID=b') },
      { name: '.cmdline', data: enc('b') },
    ];
    expect(code(() => assembleUki({ stub, sections: prof }))).toMatch(/as-given/);
    const uki = assembleUki({ stub, sections: [...one, ...prof], order: 'as-given' });
    return parse(uki).then((pe) =>
      expect(pe.sections.map((s) => s.name).slice(8)).toEqual([
        '.linux',
        '.profile',
        '.cmdline',
        '.profile',
        '.cmdline',
      ]),
    );
  });

  it('refuses a signed stub, a stub section name that is not a UKI section, and too many sections', () => {
    const signed = buildPe({
      sections: [{ name: '.text', data: prngBytes(100, 1) }],
      certTable: winCertificates([new Uint8Array(16)]),
    });
    expect(code(() => assembleUki({ stub: signed, sections: one }))).toMatch(
      /^USAGE: systemd-stub is signed/,
    );
    expect(code(() => assembleUki({ stub, sections: [{ name: '.text', data: new Uint8Array(1) }] }))).toMatch(
      /only UKI sections/,
    );
    const many = Array.from({ length: 89 }, (_, i) => ({ name: `.x${i}`, data: new Uint8Array(1) }));
    expect(code(() => assembleUki({ stub, sections: many }))).toMatch(
      /97 sections exceeds the 96-section limit/,
    );
  });

  it('refuses headers that cannot grow past the first section, and trailing data', () => {
    const tight = buildPe({
      sections: [{ name: '.text', data: prngBytes(100, 1) }],
      numberOfRvaAndSizes: 6,
      fileAlignment: 0x1000,
    });
    const many = Array.from({ length: 95 }, (_, i) => ({ name: `.x${i}`, data: new Uint8Array(1) }));
    expect(code(() => assembleUki({ stub: tight, sections: many }))).toMatch(/past the stub's first section/);
    const trailing = buildPe({
      sections: [{ name: '.text', data: prngBytes(100, 1) }],
      numberOfRvaAndSizes: 6,
      trailing: enc('junk'),
    });
    expect(() => assembleUki({ stub: trailing, sections: one })).toThrow(ParseError);
    expect(() => assembleUki({ stub: new Uint8Array(100), sections: one })).toThrow(ParseError);
  });
});

describe('assembleUki round trip (fast-check, synthetic stubs)', () => {
  const names = [...UKIFY_SECTION_ORDER.filter((n) => n !== '*' && n !== '.profile'), '.extra', '.sbom'];
  it('random section sets and contents read back equal, in ukify order, deterministically', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: names.length }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: names.length, maxLength: names.length }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(0x200, 0x1000),
        fc.integer({ min: 0, max: 3 }),
        async (picked, sizes, nStub, fa, seed) => {
          const stubBytes = buildPe({
            sections: Array.from({ length: nStub }, (_, i) => ({
              name: `.s${i}`,
              data: prngBytes(300 + 700 * i, seed + i),
            })),
            numberOfRvaAndSizes: 6,
            fileAlignment: fa,
          });
          const sections = picked.map((name, i) => ({
            name,
            data: prngBytes(sizes[i] as number, i + 100 * seed),
          }));
          const uki = assembleUki({ stub: stubBytes, sections, sourceDateEpoch: seed });
          const pe = await checkLayout(uki, stubBytes, sections);
          expect(pe.sections.slice(nStub).map((s) => s.name)).toEqual(
            ukifyOrder(sections).map((s) => s.name),
          );
          expect(pe.sections.at(-1)?.name).toBe(
            picked.includes('.linux') ? '.linux' : ukifyOrder(sections).at(-1)?.name,
          );
          expect(
            createHash('sha256')
              .update(assembleUki({ stub: stubBytes, sections, sourceDateEpoch: seed }))
              .digest('hex'),
          ).toBe(createHash('sha256').update(uki).digest('hex'));
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });

  it("moves a debug directory's file pointer along with the data when the headers grow", async () => {
    // a stub whose .text holds one IMAGE_DEBUG_DIRECTORY entry pointing at .text + 64
    const text = new Uint8Array(0x200);
    const base = buildPe({
      sections: [{ name: '.text', data: text }],
      numberOfRvaAndSizes: 16,
      fileAlignment: 0x200,
    });
    const pe0 = await parse(base);
    const t = pe0.sections[0] as (typeof pe0.sections)[number];
    const v = new DataView(base.buffer);
    const dirs = pe0.optional.checkSumOffset + 4 + 2 + 2 + 8 * 4 + 4 + 4; // DataDirectory[0] of PE32+
    for (let i = 0; i < 16; i++) v.setBigUint64(dirs + 8 * i, 0n, true);
    v.setUint32(dirs + 8 * 6, t.virtualAddress, true);
    v.setUint32(dirs + 8 * 6 + 4, 28, true);
    v.setUint32(t.pointerToRawData + 24, t.pointerToRawData + 64, true);
    base[t.pointerToRawData + 64] = 0xab;
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `.x${i}`, data: new Uint8Array([i + 1]) }));
    const uki = assembleUki({ stub: base, sections: many });
    const pe = await parse(uki);
    const nt = pe.sections[0] as (typeof pe.sections)[number];
    expect(nt.pointerToRawData).toBeGreaterThan(t.pointerToRawData);
    const ptr = new DataView(uki.buffer).getUint32(nt.pointerToRawData + 24, true);
    expect(ptr).toBe(nt.pointerToRawData + 64);
    expect(uki[ptr]).toBe(0xab);
  });
});
