// Units of the TDX predictor: MRTD against a naive re-implementation on a synthetic image (both
// orders, PAGE.AUG), the TD HOB layout, QEMU's RAM split, the modelled ACPI blobs, QEMU's
// setup-header patch and OVMF's UiApp boot option.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { fromBytes } from '../../image/formats/source.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import {
  computeMrtd,
  listAcpiTables,
  modelAcpiBlobs,
  ovmfDirectBootVariables,
  patchSetupHeader,
  qemuRamLayout,
  tdHobPreimage,
  tdRamRanges,
} from '../../measurements/cvm/tdx/index.js';
import { SYNTH_SECTIONS, buildTdvfImage, type SynthSection } from '../helpers/tdvf-bytes.js';

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const TDX_INPUTS = new URL('../../../shared/vectors/tdx/inputs/', import.meta.url);

/** MRTD written the obvious way, straight from launch-measurements.md §2.2. */
function naiveMrtd(
  file: Uint8Array,
  sections: readonly SynthSection[],
  order: 'single-pass' | 'two-pass',
): string {
  const h = createHash('sha384');
  const rec = (tag: string, gpa: number) => {
    const b = Buffer.alloc(128);
    b.write(tag, 0, 'latin1');
    b.writeBigUInt64LE(BigInt(gpa), 16);
    return b;
  };
  for (const s of sections) {
    const pages = s.memSize / 0x1000;
    const add = (p: number) =>
      s.attributes & 2 ? undefined : h.update(rec('MEM.PAGE.ADD', s.gpa + p * 0x1000));
    const ext = (p: number) => {
      if (!(s.attributes & 1)) return;
      for (let c = 0; c < 16; c++) {
        const off = p * 0x1000 + c * 0x100;
        h.update(rec('MR.EXTEND', s.gpa + off)).update(
          file.subarray(s.dataOffset + off, s.dataOffset + off + 0x100),
        );
      }
    };
    if (order === 'two-pass') {
      for (let p = 0; p < pages; p++) add(p);
      for (let p = 0; p < pages; p++) ext(p);
    } else {
      for (let p = 0; p < pages; p++) {
        add(p);
        ext(p);
      }
    }
  }
  return h.digest('hex');
}

describe('MRTD', () => {
  it('matches a naive implementation in both orders, and PAGE.AUG sections are left out', async () => {
    const aug: SynthSection[] = [
      ...SYNTH_SECTIONS,
      { dataOffset: 0, rawSize: 0, gpa: 0x900000, memSize: 0x3000, type: 3, attributes: 2 },
    ];
    for (const sections of [SYNTH_SECTIONS, aug]) {
      const img = buildTdvfImage(sections).bytes;
      const src = fromBytes(img);
      const got = await computeMrtd(src, await readTdvfMetadata(src));
      expect(hex(got.get('single-pass'))).toBe(naiveMrtd(img, sections, 'single-pass'));
      expect(hex(got.get('two-pass'))).toBe(naiveMrtd(img, sections, 'two-pass'));
    }
    const a = buildTdvfImage(aug).bytes;
    const b = buildTdvfImage(SYNTH_SECTIONS).bytes;
    // The AUG section's descriptor entry changes the file, not the measurement of the other sections.
    expect(naiveMrtd(a, aug, 'single-pass')).toBe(naiveMrtd(b, SYNTH_SECTIONS, 'single-pass'));
  });

  it('refuses MR.EXTEND of VMM-made contents (TempMem)', async () => {
    const s: SynthSection[] = SYNTH_SECTIONS.map((x) => (x.type === 3 ? { ...x, attributes: 1 } : x));
    const src = fromBytes(buildTdvfImage(s).bytes);
    await expect(computeMrtd(src, await readTdvfMetadata(src))).rejects.toMatchObject({
      code: 'PARSE_UNSUPPORTED',
    });
  });
});

describe('TD HOB and RAM layout', () => {
  it('splits RAM like QEMU q35', () => {
    expect(qemuRamLayout(2 ** 31)).toEqual({ below4g: 2 ** 31, above4g: 0, above4gStart: 2 ** 32 });
    expect(qemuRamLayout(0xa000_0000)).toEqual({ below4g: 0xa000_0000, above4g: 0, above4gStart: 2 ** 32 });
    expect(qemuRamLayout(0xb000_0000)).toEqual({
      below4g: 0x8000_0000,
      above4g: 0x3000_0000,
      above4gStart: 2 ** 32,
    });
    expect(() => qemuRamLayout(1000)).toThrow(NodeimgError);
  });

  it('accepted TD_HOB/TempMem ranges cut out of unaccepted RAM, PHIT end-of-list pointer', async () => {
    const src = fromBytes(buildTdvfImage().bytes);
    const { sections } = await readTdvfMetadata(src);
    expect(
      tdRamRanges(sections, 2 ** 32).map((r) => [r.start.toString(16), r.end.toString(16), r.accepted]),
    ).toEqual([
      ['0', '800000', false],
      ['800000', '806000', true],
      ['806000', '809000', false],
      ['809000', '80b000', true],
      ['80b000', '810000', false],
      ['810000', '820000', true],
      ['820000', '80000000', false],
      ['100000000', '180000000', false],
    ]);
    const hob = Buffer.from(tdHobPreimage(sections, 2 ** 32));
    expect(hob.length).toBe(56 + 8 * 48);
    expect([hob.readUInt16LE(0), hob.readUInt16LE(2), hob.readUInt32LE(8)]).toEqual([1, 56, 9]);
    expect(hob.readBigUInt64LE(48)).toBe(BigInt(0x809000 + 56 + 8 * 48 + 8));
    const r1 = 56 + 48; // the first accepted range
    expect([
      hob.readUInt16LE(r1),
      hob.readUInt16LE(r1 + 2),
      hob.readUInt32LE(r1 + 24),
      hob.readUInt32LE(r1 + 28),
      hob.readBigUInt64LE(r1 + 32),
      hob.readBigUInt64LE(r1 + 40),
    ]).toEqual([3, 48, 0, 7, 0x800000n, 0x6000n]);
  });
});

describe('QEMU fw_cfg ACPI model', () => {
  it('walks the synthetic tables and builds the loader script and RSDP', () => {
    const tables = new Uint8Array(readFileSync(new URL('acpi_tables_synthetic.bin', TDX_INPUTS)));
    expect(listAcpiTables(tables).map((t) => `${t.signature}@${t.offset}`)).toEqual([
      'FACS@0',
      'DSDT@64',
      'FACP@576',
      'APIC@852',
      'RSDT@972',
    ]);
    const m = modelAcpiBlobs(tables);
    expect(m.tableLoader.length).toBe(4096);
    // 2 allocations, 3 FACP pointers, 4 RSDT pointers, 4 checksums (not FACS), RSDP pointer + checksum
    const commands = Array.from({ length: 32 }, (_, i) => m.tableLoader[i * 128]).filter((c) => c !== 0);
    expect(commands).toEqual([1, 1, 3, 2, 2, 2, 3, 3, 2, 2, 2, 2, 3, 2, 3]);
    expect(Buffer.from(m.rsdp).toString('latin1', 0, 15)).toBe('RSD PTR \0BOCHS ');
    expect(Buffer.from(m.rsdp).readUInt32LE(16)).toBe(972);
    expect(() => listAcpiTables(Uint8Array.from([0x46, 0x41, 0x43, 0x50, 200, 0, 0, 0]))).toThrow(
      /runs past/,
    );
  });
});

describe('QEMU setup-header patch', () => {
  const kernel = new Uint8Array(readFileSync(new URL('kernel.bin', TDX_INPUTS)));
  const u16 = (b: Uint8Array, at: number) => Buffer.from(b).readUInt16LE(at);
  const u32 = (b: Uint8Array, at: number) => Buffer.from(b).readUInt32LE(at);

  it('patches a protocol 2.15 kernel with an initrd', () => {
    const h = patchSetupHeader(kernel, { memoryBytes: 2 ** 30, cmdline: 'console=ttyS0', initrdSize: 10000 });
    expect(h[0x210]).toBe(0xb0);
    expect((h[0x211] as number) & 0x81).toBe(0x81);
    expect(u16(h, 0x224)).toBe(0x20000 - 0x10000 - 0x200);
    expect(u32(h, 0x228)).toBe(0x20000);
    expect(u32(h, 0x218)).toBe((2 ** 30 - 0x28000 - 1 - 10000) & ~0xfff);
    expect(u32(h, 0x21c)).toBe(10000);
  });

  it('vga= and the old-protocol command line fields', () => {
    expect(
      u16(
        patchSetupHeader(kernel, { memoryBytes: 2 ** 30, cmdline: 'quiet vga=0x317', initrdSize: undefined }),
        0x1fa,
      ),
    ).toBe(0x317);
    expect(
      u16(
        patchSetupHeader(kernel, { memoryBytes: 2 ** 30, cmdline: 'vga=ask', initrdSize: undefined }),
        0x1fa,
      ),
    ).toBe(0xfffd);
    expect(() =>
      patchSetupHeader(kernel, { memoryBytes: 2 ** 30, cmdline: 'vga=12x', initrdSize: undefined }),
    ).toThrow(NodeimgError);
    const old = kernel.slice(0, 0x238);
    new DataView(old.buffer).setUint16(0x206, 0x0201, true);
    const h = patchSetupHeader(old, { memoryBytes: 2 ** 30, cmdline: '', initrdSize: undefined });
    expect([u16(h, 0x20), u16(h, 0x22)]).toEqual([0xa33f, 0x9a000 - 16 - 0x90000]);
    expect(() =>
      patchSetupHeader(kernel.slice(0, 0x100), { memoryBytes: 2 ** 30, cmdline: '', initrdSize: undefined }),
    ).toThrow(NodeimgError);
  });
});

describe('OVMF direct-boot variables', () => {
  it('Boot0000 is the UiApp load option whose digest quex and dstack-mr both use', () => {
    const [order, boot0] = ovmfDirectBootVariables();
    expect(hex(order?.data)).toBe('0000');
    expect(
      createHash('sha384')
        .update(boot0?.data ?? new Uint8Array())
        .digest('hex'),
    ).toMatch(/^23ada07f.*c298$/);
  });
});
