// The OVMF footer-table codec on hand-built images (test/helpers/ovmf-footer-bytes.ts) and on the
// sev-snp-measure suffix fixture: entries, SEV metadata, absolute offsets, and one malformed case per
// check (code and offset). The real firmwares are covered by test/measurements/snp-vectors.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import {
  MAX_FOOTER_ENTRIES,
  MAX_SEV_METADATA_ITEMS,
  SEV_ES_RESET_BLOCK_GUID,
  SEV_HASH_TABLE_RV_GUID,
  SVSM_INFO_GUID,
  parseFooterTable,
  parseOvmfFooter,
  svsmEntryOffset,
} from '../../image/formats/ovmf-footer/index.js';
import { amdLaunchDigests, loadAmdSevFirmware } from '../../measurements/cvm/snp/index.js';
import { amdSevLikeImage, footerImage, u32le } from '../helpers/ovmf-footer-bytes.js';

const SUFFIX = new Uint8Array(
  readFileSync(
    new URL(
      '../../../shared/cvm-measurement-data/sev-snp-measure-fixtures/ovmf_AmdSev_suffix.bin',
      import.meta.url,
    ),
  ),
);
const G1 = '11111111-2222-4333-8444-555555555555';
const G2 = '66666666-7777-4888-9999-aaaaaaaaaaaa';

function fails(f: () => unknown, code: string, offset?: number, message?: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ParseError);
  expect((err as ParseError).code).toBe(code);
  if (offset !== undefined) expect((err as ParseError).offset).toBe(offset);
  if (message) expect((err as ParseError).message).toMatch(message);
}

describe('OVMF footer table', () => {
  it('reads the entries of the AmdSev suffix fixture in file order with their data', () => {
    const t = parseFooterTable(SUFFIX, 0x3ff000);
    expect(t.present).toBe(true);
    expect(t.entries.map((e) => e.guid)).toEqual([
      'e47a6535-984a-4798-865e-4685a7bf8ec2',
      'dc886566-984a-4798-a75e-5585a7bf67cc',
      '7255371f-3a3b-4b04-927b-1da6efa8d454',
      '4c2eb361-7d9b-4cc3-8081-127c90d3d294',
      '00f771de-1a7e-4fcb-890e-68c77e2fb44e',
    ]);
    const reset = t.entries[4];
    expect(reset?.offset).toBe(0x3ff000 + 0xfb8); // absolute: base + offset in the suffix
    expect(Buffer.from(reset?.data ?? []).toString('hex')).toBe('04b08000');
    expect(t.offset + t.length).toBe(0x3ff000 + SUFFIX.length - 0x20);
  });

  it('builds and reads a synthetic table; an image without the footer GUID has no table', () => {
    const img = footerImage({
      entries: [
        { guid: G1, data: u32le(1, 2) },
        { guid: G2, data: new Uint8Array(0) },
      ],
    });
    const t = parseFooterTable(img);
    expect(t.entries.map((e) => [e.guid, e.data.length, e.offset])).toEqual([
      [G1, 8, 4096 - 32 - 18 - 18 - 18 - 8],
      [G2, 0, 4096 - 32 - 18 - 18],
    ]);
    expect(parseFooterTable(new Uint8Array(4096))).toEqual({
      present: false,
      offset: 4096 - 50,
      length: 0,
      entries: [],
    });
    expect(parseOvmfFooter(new Uint8Array(64)).sevMetadata).toBeUndefined();
  });

  it('refuses malformed tables with the offset of the bad field', () => {
    const footerAt = 4096 - 50;
    fails(() => parseFooterTable(new Uint8Array(49), 100), 'PARSE_TRUNCATED', 100);
    fails(
      () => parseFooterTable(footerImage({ entries: [], tableLen: 17 })),
      'PARSE_INVALID',
      footerAt,
      /smaller than the 18-byte/,
    );
    fails(
      () => parseFooterTable(footerImage({ entries: [], tableLen: 0xffff })),
      'PARSE_INVALID',
      footerAt,
      /before the start of the image/,
    );
    fails(
      () => parseFooterTable(footerImage({ entries: [{ guid: G1, data: new Uint8Array(4), len: 17 }] })),
      'PARSE_INVALID',
      footerAt - 18,
      /length 17/,
    );
    fails(
      () => parseFooterTable(footerImage({ entries: [{ guid: G1, data: new Uint8Array(4), len: 400 }] })),
      'PARSE_INVALID',
      footerAt - 18,
      /only 22 bytes/,
    );
    fails(
      () =>
        parseFooterTable(
          footerImage({ entries: [{ guid: G1, data: new Uint8Array(4) }], tableLen: 18 + 22 + 5 }),
        ),
      'PARSE_INVALID',
      footerAt - 22 - 5,
      /5 stray bytes/,
    );
    fails(
      () =>
        parseFooterTable(
          footerImage({
            entries: [
              { guid: G1, data: new Uint8Array(0) },
              { guid: G1, data: new Uint8Array(0) },
            ],
          }),
        ),
      'PARSE_INVALID',
      footerAt - 36,
      /appears twice/,
    );
    const many = Array.from({ length: MAX_FOOTER_ENTRIES + 1 }, (_, i) => ({
      guid: `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
      data: new Uint8Array(0),
    }));
    fails(() => parseFooterTable(footerImage({ size: 8192, entries: many })), 'PARSE_LIMIT');
  });
});

describe('SEV metadata', () => {
  it('reads sections in file order, with the SEV-ES reset EIP, hash table and SVSM entry', () => {
    const img = footerImage({
      entries: [
        { guid: SEV_ES_RESET_BLOCK_GUID, data: u32le(0x80b004) },
        { guid: SEV_HASH_TABLE_RV_GUID, data: u32le(0x810c00, 0x400) },
        { guid: SVSM_INFO_GUID, data: u32le(0x40) },
      ],
      metadata: {
        fromEnd: 0x800,
        sections: [
          [0x811000, 0x2000, 1],
          [0x810000, 0x1000, 0x10],
          [0, 0, 4],
          [0, 0, 1],
          [0x900000, 0x1000, 0x77],
        ],
      },
    });
    const f = parseOvmfFooter(img, 0x1000);
    expect(f.sevEsResetEip).toBe(0x80b004);
    expect(f.sevHashTable).toEqual({ gpa: 0x810c00, size: 0x400 });
    expect(svsmEntryOffset(f.table)).toBe(0x40);
    expect(f.sevMetadata?.offset).toBe(0x1000 + 4096 - 0x800);
    expect(f.sevMetadata?.sections.map((s) => [s.gpa, s.size, s.typeName ?? s.type, s.offset])).toEqual([
      [0x811000, 0x2000, 'SNP_SEC_MEM', 0x1000 + 4096 - 0x800 + 16],
      [0x810000, 0x1000, 'SNP_KERNEL_HASHES', 0x1000 + 4096 - 0x800 + 28],
      [0, 0, 'SVSM_CAA', 0x1000 + 4096 - 0x800 + 40], // size 0 (TDX builds): claims no page
      [0, 0, 'SNP_SEC_MEM', 0x1000 + 4096 - 0x800 + 52],
      [0x900000, 0x1000, 0x77, 0x1000 + 4096 - 0x800 + 64], // unknown type: parsed, refused by the digest
    ]);
    const fw = loadAmdSevFirmware(img);
    expect(() => amdLaunchDigests({ mode: 'snp', firmware: fw, vcpus: [1], vcpuSig: 0x800f12 })).toThrow(
      expect.objectContaining({ code: 'PARSE_UNSUPPORTED', offset: 4096 - 0x800 + 64 }),
    );
  });

  it('refuses bad headers and sections with the offset of the bad field', () => {
    const md = (m: NonNullable<Parameters<typeof footerImage>[0]['metadata']>) => () =>
      parseOvmfFooter(footerImage({ entries: [], metadata: m }));
    const at = 4096 - 0x400;
    fails(md({ fromEnd: 0, sections: [] }), 'PARSE_INVALID');
    fails(md({ fromEnd: 5000, sections: [] }), 'PARSE_INVALID', 4096 - 50 - 22, /does not leave/);
    fails(md({ fromEnd: 8, sections: [] }), 'PARSE_INVALID');
    fails(md({ fromEnd: 0x400, sections: [], version: 2 }), 'PARSE_UNSUPPORTED', at + 8);
    fails(md({ fromEnd: 0x400, sections: [], length: 0x1000 }), 'PARSE_TRUNCATED');
    fails(
      md({ fromEnd: 0x400, sections: [[0, 0x1000, 1]], length: 20 }),
      'PARSE_INVALID',
      at + 4,
      /cannot hold/,
    );
    fails(
      md({
        fromEnd: 0x400,
        sections: Array.from(
          { length: MAX_SEV_METADATA_ITEMS + 1 },
          (_, i) => [i * 0x1000, 0x1000, 1] as const,
        ),
      }),
      'PARSE_LIMIT',
      at + 12,
    );
    fails(
      md({ fromEnd: 0x400, sections: [[0x800800, 0x1000, 1]] }),
      'PARSE_INVALID',
      at + 16,
      /whole 4 KiB pages/,
    );
    fails(
      md({ fromEnd: 0x400, sections: [[0xffff0000, 0x20000, 1]] }),
      'PARSE_INVALID',
      at + 16,
      /past 4 GiB/,
    );
    fails(
      md({
        fromEnd: 0x400,
        sections: [
          [0x800000, 0x3000, 1],
          [0x80d000, 0, 2],
          [0x802000, 0x1000, 3],
        ],
      }),
      'PARSE_INVALID',
      at + 40,
      /overlaps section 0/,
    );
    const bad = footerImage({ entries: [], metadata: { fromEnd: 0x400, sections: [] } });
    bad[at] = 0x42; // "BSEV"
    fails(() => parseOvmfFooter(bad), 'PARSE_INVALID', at, /signature/);
  });

  it('a kernel needs the SNP_KERNEL_HASHES section, a one-page one, and the hash table block', () => {
    const kernel = { kernel: new Uint8Array(32), initrd: new Uint8Array(32), cmdline: new Uint8Array(32) };
    const snp = (img: Uint8Array) => () =>
      amdLaunchDigests({ mode: 'snp', firmware: loadAmdSevFirmware(img), vcpus: [1], vcpuSig: 1, kernel });
    expect(snp(amdSevLikeImage())).not.toThrow();
    expect(snp(amdSevLikeImage([[0x800000, 0x9000, 1]]))).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/no SNP_KERNEL_HASHES/) }),
    );
    expect(snp(amdSevLikeImage([[0x810000, 0x2000, 0x10]]))).toThrow(
      expect.objectContaining({ code: 'PARSE_UNSUPPORTED' }),
    );
    const noBlock = footerImage({
      entries: [{ guid: SEV_ES_RESET_BLOCK_GUID, data: u32le(0x80b004) }],
      metadata: { fromEnd: 0x400, sections: [[0x810000, 0x1000, 0x10]] },
    });
    expect(snp(noBlock)).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/no SEV hash table block/) }),
    );
    expect(() => amdLaunchDigests({ mode: 'sev', firmware: loadAmdSevFirmware(noBlock), kernel })).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });
});
