// Unit tests of the FAT building blocks on hand-made bytes: cluster-chain following (loops,
// markers, long chains past the Set→bitmap switch), directory decoding (LFN sequences, orphans,
// case bits, labels, hostile names), timestamps and BPB validation.
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { decodeBootSector, type FatLayout } from '../../image/formats/fat/boot-sector.js';
import { ClusterSet, SMALL_SET_LIMIT } from '../../image/formats/fat/cluster-set.js';
import { fatTimestamp, shortNameChecksum } from '../../image/formats/fat/dir-entry.js';
import { parseDirectory } from '../../image/formats/fat/directory.js';
import { FatTable } from '../../image/formats/fat/table.js';
import { ByteReader } from '../../image/formats/reader.js';
import { fromBytes } from '../../image/formats/source.js';
import { Prng } from '../helpers/prng.js';

describe('ClusterSet', () => {
  it('detects a revisit before and after switching to the bitmap', () => {
    const set = new ClusterSet(20000);
    expect(set.add(7)).toBe(true);
    expect(set.add(7)).toBe(false);
    for (let c = 100; c < 100 + SMALL_SET_LIMIT + 10; c++) expect(set.add(c)).toBe(true);
    expect(set.add(7)).toBe(false);
    expect(set.add(150)).toBe(false);
    expect(set.add(19999)).toBe(true);
    expect(set.add(19999)).toBe(false);
  });
});

describe('FatTable (FAT16, 6000 clusters)', () => {
  const CLUSTERS = 6000;
  const FAT_OFFSET = 512;
  const layout: FatLayout = {
    type: 'FAT16',
    bytesPerSector: 512,
    clusterSize: 512,
    numFats: 1,
    totalBytes: 0,
    clusterCount: CLUSTERS,
    fatOffset: FAT_OFFSET,
    fatBytes: (CLUSTERS + 2) * 2,
    rootDirOffset: 0,
    rootDirBytes: 0,
    rootCluster: 0,
    dataOffset: 0,
    volumeId: undefined,
    bootLabel: undefined,
  };
  const volume = (links: Record<number, number>, base = 0) => {
    const bytes = new Uint8Array(FAT_OFFSET + layout.fatBytes);
    const dv = new DataView(bytes.buffer);
    for (const [c, v] of Object.entries(links)) dv.setUint16(FAT_OFFSET + Number(c) * 2, v, true);
    return new FatTable(fromBytes(bytes, 'fat16', base), layout);
  };
  /** Links first → first+1 → … → last, then `end`. */
  const run = (first: number, last: number, end = 0xffff) => {
    const links: Record<number, number> = {};
    for (let c = first; c < last; c++) links[c] = c + 1;
    links[last] = end;
    return links;
  };

  it('merges a contiguous chain of 5000 clusters into one extent', async () => {
    expect(await volume(run(2, 5001)).chain(2, 'f', { need: 5000 })).toEqual([{ cluster: 2, count: 5000 }]);
    expect(await volume(run(2, 5001)).chain(2, 'd', { limit: 6000 })).toEqual([{ cluster: 2, count: 5000 }]);
  });

  it('splits a fragmented chain', async () => {
    const t = volume({ 10: 11, 11: 50, 50: 51, 51: 12, 12: 0xfff8 });
    expect(await t.chain(10, 'f', { need: 5 })).toEqual([
      { cluster: 10, count: 2 },
      { cluster: 50, count: 2 },
      { cluster: 12, count: 1 },
    ]);
  });

  it('catches a loop at the end of a long chain, with the absolute offset of the link', async () => {
    const err = await volume(run(2, 5001, 100), 4096)
      .chain(2, 'dir', { limit: 6000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({
      code: 'PARSE_INVALID',
      offset: 4096 + FAT_OFFSET + 100 * 2,
      message: expect.stringMatching(/loops back to cluster 100/),
    });
  });

  it('catches a loop in a file whose size needs more clusters than the loop holds', async () => {
    // 2 -> 3 -> ... -> 5000 -> 100: the first 4999 links are contiguous, the size needs 5500
    const err = await volume(run(2, 5001, 100), 4096)
      .chain(2, 'f', { need: 5500 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'PARSE_INVALID',
      offset: 4096 + FAT_OFFSET + 100 * 2,
      message: expect.stringMatching(/loops back to cluster 100/),
    });
  });

  it('rejects free, reserved, bad and out-of-range links and short chains', async () => {
    await expect(volume({ 2: 0 }).chain(2, 'f', { need: 2 })).rejects.toThrow(/links to cluster 0/);
    await expect(volume({ 2: 1 }).chain(2, 'f', { need: 2 })).rejects.toThrow(/links to cluster 1/);
    await expect(volume({ 2: 0xfff7 }).chain(2, 'f', { need: 2 })).rejects.toThrow(/bad cluster marker/);
    await expect(volume({ 2: 6002 }).chain(2, 'f', { need: 2 })).rejects.toThrow(/outside 2\.\.6001/);
    await expect(volume(run(2, 4)).chain(2, 'f', { need: 4 })).rejects.toThrow(
      /ends after 3 clusters but the size needs 4/,
    );
    await expect(volume({}).chain(6002, 'f', { need: 1 })).rejects.toThrow(/starts at cluster 6002/);
    await expect(volume({}).chain(2, 'f', { need: 6001 })).rejects.toMatchObject({
      message: expect.stringMatching(/needs 6001 clusters/),
    });
    await expect(volume(run(2, 60)).chain(2, 'dir', { limit: 10 })).rejects.toMatchObject({
      code: 'PARSE_LIMIT',
    });
  });

  it('ignores links after the clusters a file needs (a longer chain)', async () => {
    expect(await volume(run(2, 9)).chain(2, 'f', { need: 3 })).toEqual([{ cluster: 2, count: 3 }]);
    expect(await volume({}).chain(0, 'empty', { need: 0 })).toEqual([]);
  });
});

// FatTable.chain walks cached FAT blocks in a tight synchronous loop and loads the next block only
// when it needs it (a 72 MiB file is ~150,000 links; bench/measure.mjs). Compared here, on random
// tables of all three FAT widths whose chains cross and jump between blocks, with the rule of
// fatgen103 §4 written out plainly: same extents, or the same error (code, message, offset).
describe('FatTable.chain against a plain walk of the table (FAT12/16/32, chains across FAT blocks)', () => {
  const FAT_OFFSET = 1024;
  const MARKS = {
    FAT12: { bad: 0xff7, eoc: 0xff8, eocMax: 0xfff },
    FAT16: { bad: 0xfff7, eoc: 0xfff8, eocMax: 0xffff },
    FAT32: { bad: 0x0ffffff7, eoc: 0x0ffffff8, eocMax: 0x0fffffff },
  } as const;
  type Kind = keyof typeof MARKS;
  const byteOf = (k: Kind, c: number) => (k === 'FAT12' ? c + (c >>> 1) : k === 'FAT16' ? c * 2 : c * 4);

  function table(kind: Kind, clusters: number, entries: Uint32Array): FatTable {
    const fatBytes = byteOf(kind, clusters + 2) + 2;
    const bytes = new Uint8Array(FAT_OFFSET + fatBytes);
    const dv = new DataView(bytes.buffer);
    for (let c = 0; c < clusters + 2; c++) {
      const v = entries[c] as number;
      const at = FAT_OFFSET + byteOf(kind, c);
      if (kind === 'FAT32') dv.setUint32(at, v, true);
      else if (kind === 'FAT16') dv.setUint16(at, v, true);
      else {
        const old = dv.getUint16(at, true);
        dv.setUint16(at, c & 1 ? (old & 0x000f) | (v << 4) : (old & 0xf000) | v, true);
      }
    }
    const layout: FatLayout = {
      type: kind,
      bytesPerSector: 512,
      clusterSize: 512,
      numFats: 1,
      totalBytes: 0,
      clusterCount: clusters,
      fatOffset: FAT_OFFSET,
      fatBytes,
      rootDirOffset: 0,
      rootDirBytes: 0,
      rootCluster: 0,
      dataOffset: 0,
      volumeId: undefined,
      bootLabel: undefined,
    };
    return new FatTable(fromBytes(bytes, 'fat'), layout);
  }

  /** fatgen103 §4 as a plain loop over the entries (FAT32 keeps the low 28 bits). */
  /** With `limit` (a directory) instead of `need`, the chain runs to end-of-chain, at most `limit` long. */
  function reference(
    kind: Kind,
    clusters: number,
    entries: Uint32Array,
    first: number,
    need: number | undefined,
    limit = need as number,
  ) {
    const { bad, eoc } = MARKS[kind];
    const max = clusters + 1;
    const at = (c: number) => FAT_OFFSET + byteOf(kind, c);
    const fail = (c: number, message: string, code = 'PARSE_INVALID') => ({ code, offset: at(c), message });
    const check = (from: number, c: number, what: string) =>
      c === bad
        ? fail(from, `${what} a bad cluster marker`)
        : c < 2 || c > max
          ? fail(from, `${what} cluster ${c}, outside 2..${max}`)
          : undefined;
    const bad0 = check(first, first, 'f starts at');
    if (bad0) return bad0;
    const seen = new Set<number>();
    const extents: { cluster: number; count: number }[] = [];
    let start = first;
    let count = 0;
    let cur = first;
    for (let n = 1; ; n++) {
      if (seen.has(cur)) return fail(cur, `f: cluster chain loops back to cluster ${cur}`);
      seen.add(cur);
      if (cur === start + count) count++;
      else {
        extents.push({ cluster: start, count });
        start = cur;
        count = 1;
      }
      if (n === need) break;
      const next = kind === 'FAT32' ? (entries[cur] as number) & 0x0fffffff : (entries[cur] as number);
      if (next >= eoc && need === undefined) break;
      if (next >= eoc) return fail(cur, `f: chain ends after ${n} clusters but the size needs ${need}`);
      if (n >= limit) return fail(cur, `f: chain is longer than ${limit} clusters`, 'PARSE_LIMIT');
      const e = check(cur, next, `f: cluster ${cur} links to`);
      if (e) return e;
      cur = next;
    }
    extents.push({ cluster: start, count });
    return extents;
  }

  const attempt = (t: FatTable, first: number, opts: { need: number } | { limit: number }) =>
    t.chain(first, 'f', opts).then(
      (x) => x,
      (e: unknown) => {
        const p = e as ParseError;
        return { code: p.code, offset: p.offset, message: p.message.replace(/^.*?: (f[: ])/, '$1') };
      },
    );

  for (const kind of ['FAT12', 'FAT16', 'FAT32'] as const) {
    it(`${kind}: random tables with long, fragmented, looping and broken chains`, async () => {
      const p = new Prng(kind.length * 1000 + (kind === 'FAT16' ? 1 : 0));
      // FAT32: 100,000 entries = 4 FAT blocks of 128 KiB; FAT16 2 blocks; FAT12 1 block
      const clusters = kind === 'FAT12' ? 4000 : kind === 'FAT16' ? 65000 : 100000;
      const { bad, eocMax } = MARKS[kind];
      for (let round = 0; round < 40; round++) {
        const entries = new Uint32Array(clusters + 2);
        // runs of consecutive links with jumps between them, forwards and backwards across blocks
        let c = 2 + p.int(clusters);
        const first = c;
        const length = 1 + p.int(clusters - 1);
        const used = new Set<number>([c]);
        for (let i = 1; i < length; i++) {
          let next = p.chance(0.97) ? c + 1 : 2 + p.int(clusters);
          if (next > clusters + 1 || used.has(next)) next = 2 + p.int(clusters);
          if (used.has(next)) break;
          entries[c] = kind === 'FAT32' && p.chance(0.1) ? next | 0xf0000000 : next; // reserved high bits
          used.add(next);
          c = next;
        }
        entries[c] = p.pick([eocMax, eocMax, bad, 0, 1, clusters + 2, first, 2 + p.int(clusters)]);
        const t = table(kind, clusters, entries);
        if (round % 4 === 3) {
          // a directory: to end-of-chain, at most `limit` clusters (a loop runs into it)
          const limit = p.chance(0.5) ? clusters : 1 + p.int(used.size + 3);
          const got = await attempt(t, first, { limit });
          expect(got, `${kind} round ${round}`).toEqual(
            reference(kind, clusters, entries, first, undefined, limit),
          );
        } else {
          const need = p.chance(0.5) ? used.size : 1 + p.int(used.size + 3);
          const got = await attempt(t, first, { need });
          expect(got, `${kind} round ${round}`).toEqual(reference(kind, clusters, entries, first, need));
        }
      }
    });
  }
});

// Directory entries, hand-assembled (fatgen103 §6 short entry, §7 LFN entry).
function shortEntry(
  name11: string,
  attr: number,
  opts: { nt?: number; cluster?: number; size?: number } = {},
): Uint8Array {
  const e = new Uint8Array(32);
  const dv = new DataView(e.buffer);
  e.set(new TextEncoder().encode(name11), 0); //  0: DIR_Name
  e[11] = attr; //                                 11: DIR_Attr
  e[12] = opts.nt ?? 0; //                         12: DIR_NTRes (0x08 lower base, 0x10 lower ext)
  dv.setUint16(22, (22 << 11) | (13 << 5) | 10, true); // 22: DIR_WrtTime 22:13:20
  dv.setUint16(24, (43 << 9) | (11 << 5) | 14, true); //  24: DIR_WrtDate 2023-11-14
  dv.setUint16(26, opts.cluster ?? 0, true); //    26: DIR_FstClusLO
  dv.setUint32(28, opts.size ?? 0, true); //       28: DIR_FileSize
  return e;
}

function lfnEntries(name: string, checksum: number): Uint8Array[] {
  const units = [...name].map((c) => c.charCodeAt(0));
  if (units.length % 13 !== 0) units.push(0);
  while (units.length % 13 !== 0) units.push(0xffff);
  const n = units.length / 13;
  const out: Uint8Array[] = [];
  for (let ord = n; ord >= 1; ord--) {
    const e = new Uint8Array(32);
    const dv = new DataView(e.buffer);
    e[0] = ord | (ord === n ? 0x40 : 0); //   0: LDIR_Ord, 0x40 on the last (first stored) part
    e[11] = 0x0f; //                          11: LDIR_Attr
    e[13] = checksum; //                      13: LDIR_Chksum
    const part = units.slice((ord - 1) * 13, ord * 13);
    [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30].forEach((o, i) =>
      dv.setUint16(o, part[i] as number, true),
    );
    out.push(e);
  }
  return out;
}

const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const parse = (bytes: Uint8Array, base = 1000) => {
  const warnings: string[] = [];
  return { ...parseDirectory(bytes, (p) => base + p, false, warnings), warnings };
};

describe('parseDirectory', () => {
  const long = 'A long Name.efi';
  const sfn = 'ALONGN~1EFI';

  it('joins an LFN sequence to its short entry and skips dots, deleted entries and the label', () => {
    const deleted = shortEntry('OLD     TXT', 0x20);
    deleted[0] = 0xe5;
    const d = parse(
      cat(
        shortEntry('ESPLABEL   ', 0x08),
        shortEntry('.          ', 0x10),
        shortEntry('..         ', 0x10),
        deleted,
        ...lfnEntries(long, shortNameChecksum(new TextEncoder().encode(sfn))),
        shortEntry(sfn, 0x20, { cluster: 5, size: 1234 }),
        shortEntry('README  TXT', 0x20, { nt: 0x18 }),
        shortEntry('MIXED   TXT', 0x20, { nt: 0x08 }),
        new Uint8Array(32), // end of directory
        shortEntry('HIDDEN  TXT', 0x20),
      ),
    );
    expect(d.label).toBe('ESPLABEL');
    expect(d.warnings).toEqual([]);
    expect(d.records.map((r) => [r.name, r.shortName, r.firstCluster, r.size, r.mtime])).toEqual([
      [long, 'ALONGN~1.EFI', 5, 1234, '2023-11-14T22:13:20'],
      ['readme.txt', 'README.TXT', 0, 0, '2023-11-14T22:13:20'],
      ['mixed.TXT', 'MIXED.TXT', 0, 0, '2023-11-14T22:13:20'],
    ]);
    expect(d.records[0]?.offset).toBe(1000 + 5 * 32 + 32);
  });

  it('treats a checksum mismatch or an ordinal gap as an orphan and keeps the short name', () => {
    const bad = parse(cat(...lfnEntries(long, 0x12), shortEntry(sfn, 0x20)));
    expect(bad.records[0]?.name).toBe('ALONGN~1.EFI');
    expect(bad.warnings[0]).toMatch(/orphan long-name entries before byte 1064: checksum 0x12/);
    const parts = lfnEntries('x'.repeat(30), shortNameChecksum(new TextEncoder().encode(sfn)));
    const gap = parse(cat(parts[0] as Uint8Array, parts[2] as Uint8Array, shortEntry(sfn, 0x20)));
    expect(gap.records[0]?.name).toBe('ALONGN~1.EFI');
    expect(gap.warnings.length).toBeGreaterThan(0);
  });

  it('rejects names that would make paths ambiguous, with the entry offset', () => {
    const slash = lfnEntries('a/b', shortNameChecksum(new TextEncoder().encode('AB      TXT')));
    expect(() => parse(cat(...slash, shortEntry('AB      TXT', 0x20)))).toThrow(ParseError);
    try {
      parse(cat(shortEntry('OK      TXT', 0x20), shortEntry('A\\B     TXT', 0x20)));
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'PARSE_INVALID', offset: 1032 });
    }
    const dotdot = lfnEntries('..', shortNameChecksum(new TextEncoder().encode('DOTDOT     ')));
    expect(() => parse(cat(...dotdot, shortEntry('DOTDOT     ', 0x10)))).toThrow(/not allowed/);
  });
});

describe('fatTimestamp', () => {
  it('decodes and rejects impossible dates', () => {
    expect(fatTimestamp((44 << 9) | (2 << 5) | 29, 0)).toBe('2024-02-29T00:00:00');
    expect(fatTimestamp((43 << 9) | (2 << 5) | 29, 0)).toBeUndefined();
    expect(fatTimestamp(0, 0)).toBeUndefined();
    expect(fatTimestamp((43 << 9) | (13 << 5) | 1, 0)).toBeUndefined();
    expect(fatTimestamp((43 << 9) | (1 << 5) | 1, 24 << 11)).toBeUndefined();
  });
});

describe('decodeBootSector', () => {
  // A FAT16 BPB as mkfs.fat writes it for 2600 KiB with 1 sector per cluster.
  const bpb = (patch: (dv: DataView) => void = () => undefined) => {
    const b = new Uint8Array(512);
    const dv = new DataView(b.buffer);
    b.set([0xeb, 0x3c, 0x90], 0); //       0: BS_jmpBoot
    dv.setUint16(11, 512, true); //       11: BPB_BytsPerSec
    dv.setUint8(13, 1); //                13: BPB_SecPerClus
    dv.setUint16(14, 1, true); //         14: BPB_RsvdSecCnt
    dv.setUint8(16, 2); //                16: BPB_NumFATs
    dv.setUint16(17, 512, true); //       17: BPB_RootEntCnt
    dv.setUint16(19, 5184, true); //      19: BPB_TotSec16
    dv.setUint8(21, 0xf8); //             21: BPB_Media
    dv.setUint16(22, 20, true); //        22: BPB_FATSz16
    dv.setUint8(38, 0x29); //             38: BS_BootSig
    dv.setUint32(39, 0x1d2c3b4a, true); // 39: BS_VolID
    b.set(new TextEncoder().encode('NO NAME    '), 43); // 43: BS_VolLab
    b[510] = 0x55;
    b[511] = 0xaa;
    patch(dv);
    return new ByteReader(b, 'FAT boot sector', 2048);
  };
  const size = 5184 * 512;

  it('lays out a FAT16 volume', () => {
    expect(decodeBootSector(bpb(), size)).toMatchObject({
      type: 'FAT16',
      clusterSize: 512,
      clusterCount: 5111,
      fatOffset: 512,
      rootDirOffset: 41 * 512,
      rootDirBytes: 512 * 32,
      dataOffset: 73 * 512,
      volumeId: 0x1d2c3b4a,
      bootLabel: 'NO NAME',
      rootCluster: 0,
    });
  });

  it.each([
    ['bytes per sector', (dv: DataView) => dv.setUint16(11, 1000, true), 2048 + 11, /BytsPerSec 1000/],
    ['sectors per cluster', (dv: DataView) => dv.setUint8(13, 3), 2048 + 13, /SecPerClus 3/],
    ['no FATs', (dv: DataView) => dv.setUint8(16, 0), 2048 + 16, /NumFATs is 0/],
    ['huge FAT', (dv: DataView) => dv.setUint16(22, 0xffff, true), 2048 + 22, /no data region/],
    ['FAT too small', (dv: DataView) => dv.setUint16(22, 2, true), 2048 + 22, /cannot hold/],
    [
      'volume smaller than claimed',
      (dv: DataView) => dv.setUint16(19, 6000, true),
      2048 + 19,
      /claims 3072000 bytes/,
    ],
    ['no signature', (dv: DataView) => dv.setUint8(510, 0), 2048 + 510, /0x55 0xAA/],
  ])('rejects %s', (_name, patch, offset, message) => {
    const err = (() => {
      try {
        decodeBootSector(bpb(patch), size);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({ offset, message: expect.stringMatching(message) });
  });

  it('classifies by cluster count: a FAT32-shaped BPB with few clusters is refused', () => {
    const r = bpb((dv) => {
      dv.setUint16(17, 0, true);
      dv.setUint16(22, 0, true);
      dv.setUint32(36, 21, true);
    });
    expect(() => decodeBootSector(r, size)).toThrow(/make this FAT16, but BPB_RootEntCnt is 0/);
  });
});
