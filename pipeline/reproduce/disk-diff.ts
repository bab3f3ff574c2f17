// Explains, structurally, how a published disk image differs from the rebuilt one (issue 11): the
// byte ranges that differ (one streaming pass over both files, 1 MiB at a time, never a whole
// image in memory), mapped to the GPT (headers, entry arrays, partitions); inside an ESP, the FAT
// files that differ (path, size, sha256, with our FAT reader); inside a PE/UKI, the sections
// that differ (our PE parser), with a line diff of the text sections systemd-stub reads
// (.cmdline, .osrel, .uname; systemd's UKI specification, "UKI sections").
import { withFileSource } from '../../image/file-source.js';
import { NodeimgError } from '../errors.js';
import { readGpt, partitionSource, type GptDisk } from '../../image/formats/gpt/index.js';
import { openFat, type FatFs } from '../../image/formats/fat/index.js';
import { parsePe } from '../../image/formats/pe/index.js';
import { readSectionText, sectionData } from '../../image/formats/pe/section-data.js';
import { findSection } from '../../image/formats/pe/sections.js';
import { inspectPe, type PeReport } from '../../image/inspect-pe.js';
import { sha256Of } from '../../image/digest.js';
import type { ByteSource } from '../../image/formats/source.js';
import { lineDiff } from './text-diff.js';
import { cpioDifferences, type MemberDifference } from './archive-diff.js';
import type { TreeDifference } from './entry-diff.js';
import { explainPartition } from './partition-diff.js';

const CHUNK = 1024 * 1024;
const MAX_RANGES = 64;
const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
export const TEXT_SECTIONS = ['.cmdline', '.osrel', '.uname'];

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface FileDifference {
  readonly path: string;
  readonly published: { readonly size: number; readonly sha256: string } | null;
  readonly rebuilt: { readonly size: number; readonly sha256: string } | null;
  /** For EFI binaries: the sections that differ. */
  readonly sections?: readonly SectionDifference[];
}

export interface SectionDifference {
  readonly name: string;
  readonly published: string | null;
  readonly rebuilt: string | null;
  /** Text sections: `-`/`+` lines. */
  readonly diff?: readonly string[];
  /** .initrd: the cpio members that differ (gzip or uncompressed newc). */
  readonly members?: readonly MemberDifference[];
}

export interface RegionDifference {
  /** "GPT primary header", "partition 2 (root-x86-64 \"root\")", "outside any partition". */
  readonly region: string;
  readonly partition: number | null;
  readonly ranges: readonly ByteRange[];
  readonly files?: readonly FileDifference[];
  /** An erofs partition: the files that differ. */
  readonly filesystem?: TreeDifference;
  /** A dm-verity hash partition: why it differs (its hash blocks are not listed). */
  readonly note?: string;
}

export interface DiskDifference {
  readonly size: { readonly published: number; readonly rebuilt: number };
  readonly regions: readonly RegionDifference[];
  readonly warnings: readonly string[];
}

/** Byte ranges where two sources differ (coalesced per chunk; at most MAX_RANGES); bytes past
 * the end of the shorter one count as zeros. */
export async function differingRanges(a: ByteSource, b: ByteSource): Promise<ByteRange[]> {
  const size = Math.max(a.size, b.size);
  const part = async (src: ByteSource, off: number, n: number): Promise<Uint8Array> => {
    const have = Math.max(0, Math.min(n, src.size - off));
    if (have === n) return src.read(off, n);
    const out = new Uint8Array(n);
    if (have > 0) out.set(await src.read(off, have));
    return out;
  };
  const out: ByteRange[] = [];
  for (let off = 0; off < size; off += CHUNK) {
    const n = Math.min(CHUNK, size - off);
    const [ba, bb] = await Promise.all([part(a, off, n), part(b, off, n)]);
    if (Buffer.from(ba.buffer, ba.byteOffset, n).equals(Buffer.from(bb.buffer, bb.byteOffset, n))) continue;
    let first = 0;
    while (first < n && ba[first] === bb[first]) first++;
    let last = n - 1;
    while (last > first && ba[last] === bb[last]) last--;
    const prev = out[out.length - 1];
    if (prev && prev.offset + prev.length === off + first)
      out[out.length - 1] = { offset: prev.offset, length: prev.length + last - first + 1 };
    else out.push({ offset: off + first, length: last - first + 1 });
    if (out.length >= MAX_RANGES) break;
  }
  return out;
}

function regionsOf(
  gpt: GptDisk,
  size: number,
): { name: string; partition: number | null; start: number; end: number }[] {
  const ss = gpt.sectorSize;
  const h = gpt.header;
  const entriesBytes = h.numberOfEntries * h.sizeOfEntry;
  const out: { name: string; partition: number | null; start: number; end: number }[] = [
    { name: 'protective MBR', partition: null, start: 0, end: ss },
    { name: 'GPT primary header', partition: null, start: ss, end: 2 * ss },
    { name: 'GPT primary entry array', partition: null, start: 2 * ss, end: 2 * ss + entriesBytes },
    { name: 'GPT backup entry array', partition: null, start: size - ss - entriesBytes, end: size - ss },
    { name: 'GPT backup header', partition: null, start: size - ss, end: size },
  ];
  for (const p of gpt.partitions)
    out.push({
      name: `partition ${p.index} (${p.typeName ?? p.typeGuid} "${p.name}")`,
      partition: p.index,
      start: p.offset,
      end: p.offset + p.size,
    });
  return out;
}

async function files(fs: FatFs): Promise<Map<string, { size: number; sha256: string; src: ByteSource }>> {
  const out = new Map<string, { size: number; sha256: string; src: ByteSource }>();
  for await (const e of fs.walk()) {
    if (e.isDirectory) continue;
    const src = fs.fileSource(e);
    out.set(e.path, { size: e.size, sha256: await sha256Of(src), src });
  }
  return out;
}

async function peSections(src: ByteSource, path: string): Promise<PeReport | undefined> {
  const head = await src.read(0, Math.min(2, src.size));
  if (head[0] !== 0x4d || head[1] !== 0x5a) return undefined;
  try {
    return await inspectPe(src, path, null);
  } catch (err) {
    if (err instanceof NodeimgError) return undefined;
    throw err;
  }
}

async function sectionText(src: ByteSource, name: string): Promise<string | undefined> {
  try {
    return await readSectionText(src, await parsePe(src), name);
  } catch (err) {
    if (err instanceof NodeimgError) return undefined;
    throw err;
  }
}

async function sectionBytes(src: ByteSource, name: string): Promise<Uint8Array | undefined> {
  try {
    const pe = await parsePe(src);
    const section = findSection(pe.sections, name);
    return section ? await sectionData(src, pe, section) : undefined;
  } catch (err) {
    if (err instanceof NodeimgError) return undefined;
    throw err;
  }
}

/** The cpio members of two UKIs' .initrd sections that differ; undefined when not explainable. */
async function initrdMembers(a: ByteSource, b: ByteSource): Promise<MemberDifference[] | undefined> {
  const [x, y] = await Promise.all([sectionBytes(a, '.initrd'), sectionBytes(b, '.initrd')]);
  if (!x || !y) return undefined;
  try {
    return cpioDifferences(x, y);
  } catch (err) {
    if (err instanceof NodeimgError || (err as NodeJS.ErrnoException).code?.startsWith('Z_'))
      return undefined;
    throw err;
  }
}

async function sectionDifferences(
  path: string,
  a: ByteSource,
  b: ByteSource,
): Promise<SectionDifference[] | undefined> {
  const [pa, pb] = await Promise.all([peSections(a, path), peSections(b, path)]);
  if (!pa || !pb) return undefined;
  const names = [...new Set([...pa.sections, ...pb.sections].map((s) => s.name))];
  const out: SectionDifference[] = [];
  for (const name of names) {
    const sa = pa.sections.find((s) => s.name === name)?.sha256 ?? null;
    const sb = pb.sections.find((s) => s.name === name)?.sha256 ?? null;
    if (sa === sb) continue;
    let diff: string[] | undefined;
    if (TEXT_SECTIONS.includes(name)) {
      const [ta, tb] = await Promise.all([sectionText(a, name), sectionText(b, name)]);
      diff = lineDiff(ta ?? '', tb ?? '');
    }
    const members = name === '.initrd' ? await initrdMembers(a, b) : undefined;
    out.push({
      name,
      published: sa,
      rebuilt: sb,
      ...(diff ? { diff } : {}),
      ...(members ? { members } : {}),
    });
  }
  if (pa.authenticode.sha256 !== pb.authenticode.sha256 && out.length === 0)
    out.push({ name: '(headers)', published: pa.authenticode.sha256, rebuilt: pb.authenticode.sha256 });
  return out;
}

async function fatDifferences(a: ByteSource, b: ByteSource): Promise<FileDifference[]> {
  const [fa, fb] = await Promise.all([openFat(a).then(files), openFat(b).then(files)]);
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const out: FileDifference[] = [];
  for (const path of paths) {
    const x = fa.get(path);
    const y = fb.get(path);
    if (x && y && x.sha256 === y.sha256) continue;
    const sections = x && y ? await sectionDifferences(path, x.src, y.src) : undefined;
    out.push({
      path,
      published: x ? { size: x.size, sha256: x.sha256 } : null,
      rebuilt: y ? { size: y.size, sha256: y.sha256 } : null,
      ...(sections ? { sections } : {}),
    });
  }
  return out;
}

/** How the published disk image `published` differs from the rebuilt `rebuilt` (file paths). */
export async function explainDisk(published: string, rebuilt: string): Promise<DiskDifference> {
  return withFileSource(published, (pa) => withFileSource(rebuilt, (pb) => explainDiskSources(pa, pb)));
}

/** The same over two sources (a disk image inside a tar archive, a test's bytes). */
export async function explainDiskSources(pa: ByteSource, pb: ByteSource): Promise<DiskDifference> {
  const ranges = await differingRanges(pa, pb);
  const warnings: string[] = [];
  let gpt: GptDisk | undefined;
  let gptB: GptDisk | undefined;
  try {
    gpt = await readGpt(pb);
    gptB = await readGpt(pa);
  } catch (err) {
    if (!(err instanceof NodeimgError)) throw err;
    warnings.push(`cannot read the GPT: ${err.message}`);
  }
  const size = { published: pa.size, rebuilt: pb.size };
  if (!gpt) return { size, regions: [{ region: 'disk', partition: null, ranges }], warnings };
  const regions: RegionDifference[] = [];
  const layout = regionsOf(gpt, pb.size);
  const unplaced: ByteRange[] = [];
  for (const r of ranges) {
    const hit = layout.filter((x) => r.offset < x.end && r.offset + r.length > x.start);
    if (hit.length === 0) unplaced.push(r);
    for (const x of hit) {
      let reg = regions.find((g) => g.region === x.name);
      if (!reg) {
        reg = { region: x.name, partition: x.partition, ranges: [] };
        regions.push(reg);
      }
      const start = Math.max(r.offset, x.start);
      (reg.ranges as ByteRange[]).push({
        offset: start,
        length: Math.min(r.offset + r.length, x.end) - start,
      });
    }
  }
  if (unplaced.length > 0)
    regions.push({ region: 'outside any partition', partition: null, ranges: unplaced });
  const differing = new Set(regions.flatMap((r) => (r.partition === null ? [] : [r.partition])));
  for (const [i, reg] of regions.entries()) {
    const p = gpt.partitions.find((x) => x.index === reg.partition);
    const q = gptB?.partitions.find((x) => x.index === reg.partition);
    if (!p || !q || p.typeGuid !== q.typeGuid) continue;
    try {
      if (p.typeGuid === ESP_TYPE) {
        if (q.offset !== p.offset || q.size !== p.size) continue;
        regions[i] = { ...reg, files: await fatDifferences(partitionSource(pa, q), partitionSource(pb, p)) };
        continue;
      }
      const more = await explainPartition(
        partitionSource(pa, q),
        partitionSource(pb, p),
        q,
        p,
        gpt.partitions,
        differing,
      );
      if (more) regions[i] = { ...reg, ...more };
    } catch (err) {
      if (!(err instanceof NodeimgError)) throw err;
      warnings.push(`${reg.region}: cannot compare the file systems: ${err.message}`);
    }
  }
  return { size, regions, warnings };
}
