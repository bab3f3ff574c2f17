import { ParseError } from '../errors.js';
import type { ByteSource } from '../source.js';
import type { FatLayout } from './boot-sector.js';
import { ClusterSet } from './cluster-set.js';

// fatgen103 §4 "FAT Data Structure": entry N of the FAT describes cluster N. FAT12 packs entries
// in 12 bits (entry N at byte N + N/2, low or high 12 bits of a u16), FAT16 uses u16, FAT32 u32
// of which the high 4 bits are reserved. Values: 0 free, 2..max next cluster, BAD (0xFF7,
// 0xFFF7, 0x0FFFFFF7) bad cluster, >= EOC (0xFF8, 0xFFF8, 0x0FFFFFF8) end of chain.

/**
 * The FAT is read in aligned blocks of this size and cached. A 72 MiB UKI in 512-byte clusters
 * (mkfs.fat's default below 260 MiB) has ~150,000 links in 576 KiB of FAT32 table: with 16 KiB
 * blocks its walk waited for 36 reads, one after the other (~25 ms of `nodeimg measure`'s wall
 * time in bench/measure.mjs); 128 KiB blocks make that 5.
 */
export const FAT_BLOCK_SIZE = 128 * 1024;
/** At most this many FAT blocks (4 MiB) are cached; the oldest is dropped first. */
export const MAX_CACHED_FAT_BLOCKS = 32;

const MARKERS = {
  FAT12: { bad: 0xff7, eoc: 0xff8 },
  FAT16: { bad: 0xfff7, eoc: 0xfff8 },
  FAT32: { bad: 0x0ffffff7, eoc: 0x0ffffff8 },
} as const;

/** A run of `count` consecutive clusters starting at `cluster`. */
export interface FatExtent {
  readonly cluster: number;
  readonly count: number;
}

/** The state of one chain walk: w.cur is the last cluster visited, the n-th of the chain. */
interface Walk {
  readonly what: string;
  readonly need: number | undefined;
  readonly limit: number;
  /** Visited clusters, in the exact walk; the fast walk has none (see chain()). */
  readonly seen: ClusterSet | undefined;
  readonly extents: FatExtent[];
  start: number;
  count: number;
  cur: number;
  n: number;
}

/** Whether two extents share a cluster (a chain that visits a cluster twice has such a pair). */
function overlapping(extents: readonly FatExtent[]): boolean {
  if (extents.length < 2) return false;
  const sorted = [...extents].sort((a, b) => a.cluster - b.cluster);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as FatExtent;
    if (prev.cluster + prev.count > (sorted[i] as FatExtent).cluster) return true;
  }
  return false;
}

export class FatTable {
  private readonly cache = new Map<number, Uint8Array>();
  private readonly pending = new Map<number, Promise<Uint8Array>>();
  private readonly markers: { readonly bad: number; readonly eoc: number };
  readonly maxCluster: number;

  constructor(
    private readonly volume: ByteSource,
    private readonly layout: FatLayout,
  ) {
    this.markers = MARKERS[layout.type];
    this.maxCluster = layout.clusterCount + 1;
  }

  /**
   * Follows the chain from `first` and returns it as extents. With `need`, exactly that many
   * clusters are taken (a file); an end-of-chain earlier is an error and whatever follows is
   * ignored. Without it the chain runs to end-of-chain and may not exceed `limit` clusters (a
   * directory). Free, bad, reserved or out-of-range links and loops are errors.
   */
  async chain(first: number, what: string, opts: { need: number } | { limit: number }): Promise<FatExtent[]> {
    const need = 'need' in opts ? opts.need : undefined;
    if (need === 0) return [];
    if (need !== undefined && need > this.layout.clusterCount)
      this.fail(first, `${what} needs ${need} clusters but the volume has ${this.layout.clusterCount}`);
    // No chain is longer than the volume has clusters.
    const limit = need ?? Math.min('limit' in opts ? opts.limit : 0, this.layout.clusterCount);
    this.checkCluster(first, first, `${what} starts at`);
    // The fast walk checks every link but not for loops, and ends anyway: a file takes exactly
    // `need` clusters, a directory at most `limit`. A loop shows as two extents that overlap, and
    // only after it has started can the walk go over `limit`: both cases are walked again exactly,
    // with a visited set, so that the error names the first revisited cluster. Before any revisit
    // the two walks fail alike, and after it the walk only repeats links it has already checked.
    // (A 72 MiB file in 512-byte clusters is ~150,000 links; the visited set was about half of the
    // walk's time, bench/measure.mjs.)
    try {
      const extents = await this.follow(first, what, need, limit, false);
      if (!overlapping(extents)) return extents;
    } catch (err) {
      if (!(err instanceof ParseError && err.code === 'PARSE_LIMIT')) throw err;
    }
    return this.follow(first, what, need, limit, true);
  }

  private async follow(
    first: number,
    what: string,
    need: number | undefined,
    limit: number,
    exact: boolean,
  ): Promise<FatExtent[]> {
    const walk: Walk = {
      what,
      need,
      limit,
      seen: exact ? new ClusterSet(this.maxCluster) : undefined,
      extents: [],
      start: first,
      count: 1,
      cur: first,
      n: 1,
    };
    walk.seen?.add(first);
    // The walk runs synchronously through cached FAT blocks (a tight loop V8 optimises) and stops
    // when the next entry is in a block not read yet; that entry is then loaded and handed back
    // in. The walk once took ~40 ms there, mostly building an error message per link
    // (checkCluster's template).
    let known: number | undefined;
    while (!this.walk(walk, known)) {
      // files are mostly contiguous: read the following FAT block while this one is awaited
      const ahead = Math.floor(this.byteOf(walk.cur) / FAT_BLOCK_SIZE) + 1;
      if (ahead * FAT_BLOCK_SIZE < this.layout.fatBytes) this.block(ahead).catch(() => undefined);
      known = await this.load(walk.cur);
    }
    walk.extents.push({ cluster: walk.start, count: walk.count });
    return walk.extents;
  }

  /**
   * Follows `w` from w.cur (already visited and counted) until the chain ends (true) or the entry
   * of w.cur is not cached (false, w unchanged since the last link). `known` is w.cur's entry when
   * the caller has just loaded it.
   */
  private walk(w: Walk, known: number | undefined): boolean {
    const { need, limit, seen, what } = w;
    const eoc = this.markers.eoc;
    const width = this.layout.type === 'FAT32' ? 4 : this.layout.type === 'FAT16' ? 2 : 0;
    let blockIndex = -1;
    let block: Uint8Array | undefined;
    for (;;) {
      if (!seen && known === undefined && width !== 0) this.run(w, width);
      if (need !== undefined && w.n === need) return true;
      const cur = w.cur;
      let next: number | undefined = known;
      known = undefined;
      if (next === undefined && width !== 0) {
        // FAT16/32 entries are aligned and never straddle a block
        const at = cur * width;
        const index = Math.floor(at / FAT_BLOCK_SIZE);
        if (index !== blockIndex) {
          block = this.cache.get(index);
          blockIndex = index;
        }
        if (block) {
          const i = at - index * FAT_BLOCK_SIZE;
          next =
            width === 4
              ? ((block[i] as number) |
                  ((block[i + 1] as number) << 8) |
                  ((block[i + 2] as number) << 16) |
                  ((block[i + 3] as number) << 24)) &
                0x0fffffff
              : (block[i] as number) | ((block[i + 1] as number) << 8);
        }
      } else if (next === undefined) next = this.peek(cur);
      if (next === undefined) return false;
      if (next >= eoc) {
        if (need !== undefined)
          this.fail(cur, `${what}: chain ends after ${w.n} clusters but the size needs ${need}`);
        return true;
      }
      if (w.n >= limit) this.fail(cur, `${what}: chain is longer than ${limit} clusters`, 'PARSE_LIMIT');
      // the message is built only for a bad link: a template per link was most of the walk's time
      if (next === this.markers.bad || next < 2 || next > this.maxCluster)
        this.checkCluster(cur, next, `${what}: cluster ${cur} links to`);
      w.cur = next;
      w.n++;
      if (seen && !seen.add(next)) this.fail(next, `${what}: cluster chain loops back to cluster ${next}`);
      if (next === w.start + w.count) w.count++;
      else {
        w.extents.push({ cluster: w.start, count: w.count });
        w.start = next;
        w.count = 1;
      }
    }
  }

  /**
   * The fast walk's inner loop: follows the links from a cluster to the next one (a contiguous
   * file) within the cached FAT block that holds w.cur's entry, up to w.limit clusters; walk()
   * checks whatever link ends the run. Such a link is always valid: cur + 1 <= maxCluster is
   * below the bad-cluster marker. A first walk over ~150,000 links spent most of its time in V8
   * compiling and re-compiling walk()'s general loop (bench/measure.mjs); this loop is small.
   */
  private run(w: Walk, width: 2 | 4): void {
    const index = Math.floor((w.cur * width) / FAT_BLOCK_SIZE);
    const block = this.cache.get(index);
    if (!block) return;
    const stop = w.limit;
    const max = this.maxCluster;
    let cur = w.cur;
    let n = w.n;
    let i = cur * width - index * FAT_BLOCK_SIZE;
    if (width === 4) {
      while (
        n < stop &&
        cur < max &&
        i + 4 <= block.length &&
        (((block[i] as number) |
          ((block[i + 1] as number) << 8) |
          ((block[i + 2] as number) << 16) |
          ((block[i + 3] as number) << 24)) &
          0x0fffffff) ===
          cur + 1
      ) {
        cur++;
        n++;
        i += 4;
      }
    } else {
      while (
        n < stop &&
        cur < max &&
        i + 2 <= block.length &&
        ((block[i] as number) | ((block[i + 1] as number) << 8)) === cur + 1
      ) {
        cur++;
        n++;
        i += 2;
      }
    }
    // the current extent ends at w.cur, so the run extends it
    w.count += n - w.n;
    w.cur = cur;
    w.n = n;
  }

  private checkCluster(at: number, c: number, what: string): void {
    if (c === this.markers.bad) this.fail(at, `${what} a bad cluster marker`);
    if (!Number.isSafeInteger(c) || c < 2 || c > this.maxCluster)
      this.fail(at, `${what} cluster ${c}, outside 2..${this.maxCluster}`);
  }

  private fail(
    cluster: number,
    detail: string,
    code: 'PARSE_INVALID' | 'PARSE_LIMIT' = 'PARSE_INVALID',
  ): never {
    const at =
      Number.isSafeInteger(cluster) && cluster >= 0 && cluster <= this.maxCluster ? this.byteOf(cluster) : 0;
    throw new ParseError(
      code,
      `${this.layout.type} table`,
      this.volume.base + this.layout.fatOffset + at,
      detail,
    );
  }

  private byteOf(cluster: number): number {
    if (this.layout.type === 'FAT12') return cluster + (cluster >>> 1);
    return this.layout.type === 'FAT16' ? cluster * 2 : cluster * 4;
  }

  /** Decodes an entry from cached blocks, or undefined when a block is not cached. */
  private peek(cluster: number): number | undefined {
    const at = this.byteOf(cluster);
    const index = Math.floor(at / FAT_BLOCK_SIZE);
    const block = this.cache.get(index);
    if (!block) return undefined;
    // A FAT12 entry can straddle two blocks (FAT16/32 entries are aligned).
    const straddles = at % FAT_BLOCK_SIZE === FAT_BLOCK_SIZE - 1 && this.layout.type === 'FAT12';
    const next = straddles ? this.cache.get(index + 1) : block;
    return next ? this.decode(cluster, at % FAT_BLOCK_SIZE, block, next) : undefined;
  }

  private async load(cluster: number): Promise<number> {
    const at = this.byteOf(cluster);
    const index = Math.floor(at / FAT_BLOCK_SIZE);
    const block = await this.block(index);
    const straddles = at % FAT_BLOCK_SIZE === FAT_BLOCK_SIZE - 1 && this.layout.type === 'FAT12';
    return this.decode(cluster, at % FAT_BLOCK_SIZE, block, straddles ? await this.block(index + 1) : block);
  }

  /** Entry at byte i of `block`; a straddling FAT12 entry takes its second byte from `next[0]`. */
  private decode(cluster: number, i: number, block: Uint8Array, next: Uint8Array): number {
    const b0 = block[i] as number;
    if (this.layout.type === 'FAT32')
      return (
        (b0 |
          ((block[i + 1] as number) << 8) |
          ((block[i + 2] as number) << 16) |
          ((block[i + 3] as number) << 24)) &
        0x0fffffff
      );
    const b1 = (next === block ? block[i + 1] : next[0]) as number;
    const u16 = b0 | (b1 << 8);
    if (this.layout.type === 'FAT16') return u16;
    return cluster & 1 ? u16 >>> 4 : u16 & 0x0fff;
  }

  private block(index: number): Promise<Uint8Array> {
    const hit = this.cache.get(index);
    if (hit) return Promise.resolve(hit);
    let p = this.pending.get(index);
    if (!p) {
      const offset = index * FAT_BLOCK_SIZE;
      const length = Math.min(FAT_BLOCK_SIZE, this.layout.fatBytes - offset);
      p = this.volume.read(this.layout.fatOffset + offset, length).then((bytes) => {
        if (this.cache.size >= MAX_CACHED_FAT_BLOCKS)
          this.cache.delete(this.cache.keys().next().value as number);
        this.cache.set(index, bytes);
        return bytes;
      });
      p.finally(() => this.pending.delete(index)).catch(() => undefined);
      this.pending.set(index, p);
    }
    return p;
  }
}
