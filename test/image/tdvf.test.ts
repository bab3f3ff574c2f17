// TDVF metadata codec (on top of the shared ovmf-footer table parser) on a synthetic image: fields,
// absolute offsets (also inside a larger input), and the hostile shapes the issue names (truncated, table pointing outside, overlapping sections).
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { fromBytes, slice } from '../../image/formats/source.js';
import { parseFooterTable } from '../../image/formats/ovmf-footer/index.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import { SYNTH_DESCRIPTOR, SYNTH_SIZE, buildTdvfImage, type SynthSection } from '../helpers/tdvf-bytes.js';

const parse = (b: Uint8Array) => readTdvfMetadata(fromBytes(b, 'synth.fd'));

async function parseError(b: Uint8Array): Promise<ParseError> {
  const err = await parse(b).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ParseError)) throw new Error(`expected a ParseError, got ${String(err)}`);
  return err;
}

describe.each([0, 0x3000])('synthetic TDVF image at input offset %d', (pad) => {
  it('decodes the footer table, descriptor and sections with absolute offsets', async () => {
    const img = buildTdvfImage().bytes;
    const outer = new Uint8Array(pad + img.length);
    outer.set(img, pad);
    const src = slice(fromBytes(outer, 'disk'), pad, img.length, 'synth.fd');
    const table = parseFooterTable(await src.read(0, src.size), pad);
    expect(table.entries.map((e) => e.guid)).toEqual(['e47a6535-984a-4798-865e-4685a7bf8ec2']);
    expect(table.entries[0]?.offset).toBe(pad + SYNTH_SIZE - 48 - 2 - 22);
    const meta = await readTdvfMetadata(src);
    expect(meta.descriptorOffset).toBe(pad + SYNTH_DESCRIPTOR);
    expect(meta.offsetFromEnd).toBe(SYNTH_SIZE - SYNTH_DESCRIPTOR);
    expect(meta.metadataGuidPresent).toBe(true);
    expect(
      meta.sections.map((s) => [
        s.type,
        s.dataOffset,
        s.rawDataSize,
        s.memoryAddress,
        s.memoryDataSize,
        s.mrExtend,
        s.pageAug,
      ]),
    ).toEqual([
      ['BFV', 0x2000, 0xc000, 0xffff2000, 0xc000, true, false],
      ['CFV', 0, 0x2000, 0xffff0000, 0x2000, false, false],
      ['TempMem', 0, 0, 0x810000, 0x10000, false, false],
      ['TD_HOB', 0, 0, 0x809000, 0x2000, false, false],
      ['TempMem', 0, 0, 0x800000, 0x6000, false, false],
    ]);
    expect(meta.sections[2]?.entryOffset).toBe(pad + SYNTH_DESCRIPTOR + 16 + 2 * 32);
  });
});

describe('hostile TDVF images', () => {
  /** BFV, CFV and TD_HOB, with one field changed by `mutate`. */
  const withSections = (mutate: (s: SynthSection[]) => void) => {
    const s: SynthSection[] = [
      { dataOffset: 0x2000, rawSize: 0xc000, gpa: 0xffff2000, memSize: 0xc000, type: 0, attributes: 1 },
      { dataOffset: 0, rawSize: 0x2000, gpa: 0xffff0000, memSize: 0x2000, type: 1, attributes: 0 },
      { dataOffset: 0, rawSize: 0, gpa: 0x809000, memSize: 0x2000, type: 2, attributes: 0 },
    ];
    mutate(s);
    return buildTdvfImage(s).bytes;
  };

  it('no footer GUID: not an OVMF image (PARSE_UNSUPPORTED)', async () => {
    const b = buildTdvfImage().bytes;
    b[SYNTH_SIZE - 48] = (b[SYNTH_SIZE - 48] as number) ^ 1;
    expect((await parseError(b)).code).toBe('PARSE_UNSUPPORTED');
  });

  it('table length reaching before the file start, entry length below 18', async () => {
    const a = buildTdvfImage();
    new DataView(a.bytes.buffer).setUint16(a.tableLength, 0xffff, true);
    expect((await parseError(a.bytes.subarray(SYNTH_SIZE - 0x1000))).message).toMatch(
      /reaches \d+ bytes before the start/,
    );
    const b = buildTdvfImage();
    new DataView(b.bytes.buffer).setUint16(b.entryLength, 17, true);
    expect((await parseError(b.bytes)).message).toMatch(/has length 17/);
  });

  it('descriptor offset pointing outside the file or into garbage', async () => {
    const a = buildTdvfImage();
    new DataView(a.bytes.buffer).setUint32(a.entryData, SYNTH_SIZE + 1, true);
    expect((await parseError(a.bytes)).offset).toBe(a.entryData);
    new DataView(a.bytes.buffer).setUint32(a.entryData, 0x100, true);
    expect((await parseError(a.bytes)).message).toMatch(/no "TDVF" signature/);
  });

  it('truncated descriptor and a length that does not match the section count', async () => {
    const a = buildTdvfImage();
    new DataView(a.bytes.buffer).setUint32(SYNTH_DESCRIPTOR + 12, 60, true);
    expect((await parseError(a.bytes)).message).toMatch(/Length 176 is not 16 \+ 32 x 60/);
  });

  it('raw data outside the file, unaligned or short memory, unknown type or attributes', async () => {
    expect(
      (
        await parseError(
          withSections(
            (s) => void Object.assign(s[0] as SynthSection, { rawSize: 0x10000, memSize: 0x10000 }),
          ),
        )
      ).message,
    ).toMatch(/outside the 65536-byte file/);
    expect(
      (await parseError(withSections((s) => void ((s[0] as SynthSection).gpa += 0x800)))).message,
    ).toMatch(/not 4 KiB aligned/);
    expect(
      (await parseError(withSections((s) => void ((s[1] as SynthSection).memSize = 0x1000)))).message,
    ).toMatch(/smaller than RawDataSize/);
    expect((await parseError(withSections((s) => void ((s[2] as SynthSection).type = 9)))).code).toBe(
      'PARSE_UNSUPPORTED',
    );
    expect((await parseError(withSections((s) => void ((s[2] as SynthSection).attributes = 4)))).code).toBe(
      'PARSE_UNSUPPORTED',
    );
    expect(
      (await parseError(withSections((s) => void ((s[0] as SynthSection).attributes = 3)))).message,
    ).toMatch(/MR.EXTEND and PAGE.AUG/);
  });

  it('overlapping sections', async () => {
    const err = await parseError(withSections((s) => void ((s[1] as SynthSection).gpa = 0xffff1000)));
    expect(err.message).toMatch(/sections 1 and 0 overlap at GPA 0xffff2000|overlap/);
    expect(err.code).toBe('PARSE_INVALID');
  });

  it('memory claims over the cap', async () => {
    expect(
      (await parseError(withSections((s) => void ((s[2] as SynthSection).memSize = 0x8000_0000)))).code,
    ).toBe('PARSE_LIMIT');
  });
});
