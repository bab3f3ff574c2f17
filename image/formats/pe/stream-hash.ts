// Streaming digests over byte ranges of a ByteSource: Authenticode (authenticode.ts), section
// contents (section-data.ts) and, for a UKI, all of them from one read of the file
// (hashRangeGroups, used by measurements/boot/binaries.ts loadUki).

import { MultiHash, type HashAlg } from '../../../measurements/hash.js';
import { chunks, type BufferLender, type ByteSource } from '../source.js';

/**
 * Default read size when streaming ranges into hashes. bench/authenticode.mjs on a 512 MiB image
 * (2 vCPUs, warm page cache), when each read allocated a fresh buffer: 1 MiB 1.05-1.13 s / 81 MiB
 * peak RSS, 2 MiB 1.28 s / 81 MiB, 4 MiB 1.28-1.32 s / 81-99 MiB, 8 MiB 1.25-1.32 s / 137-143 MiB.
 * The hashing loops now read into two reused buffers (chunks() `reuse`), which also saves a page
 * fault per 4 KiB read. chunks() keeps one read in flight while the previous chunk is hashed.
 */
export const HASH_CHUNK_SIZE = 1024 * 1024;

/** Every chunk is hashed before the next is asked for, so two read buffers serve any length. */
const REUSE = { reuse: true } as const;

/** A half-open byte range [start, end) of a source. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface HashOptions {
  /** Read size for streaming, in bytes (default HASH_CHUNK_SIZE). */
  readonly chunkSize?: number;
  /** Where hashRangeGroups hashes the groups marked `offload` (default: here, like the others). */
  readonly offload?: HashOffload;
}

/** Bytes [start, end) of a chunk fed to the offloaded digest `id`. */
export interface OffloadPiece {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Digests computed off the calling thread (image/hash-thread.ts runs them on a worker thread), so
 * that a second core hashes while this one reads and hashes the rest. The codec stays pure: it
 * only hands over bytes and collects digests.
 */
export interface HashOffload {
  /** Starts a digest over every alg of `algs`; returns its id. */
  begin(algs: readonly HashAlg[]): number;
  /** Feeds `count` zero bytes to digest `id`. */
  zeros(id: number, count: number): void;
  /** The digests of `id`, after everything fed before. */
  digests(id: number): Promise<Partial<Record<HashAlg, Uint8Array>>>;
  /**
   * The offload's own buffers, which the caller reads the file straight into, so that nothing is
   * copied: borrow() waits for a free one (slotSize bytes); each borrowed buffer goes back through
   * exactly one feedBorrowed() (its pieces, in order; the offload reuses the buffer once hashed)
   * or giveBack().
   */
  readonly borrowed: BufferLender & {
    feedBorrowed(buffer: Uint8Array, pieces: readonly OffloadPiece[]): void;
  };
}

/**
 * Hashes the concatenation of `ranges` (in the given order) with every alg in one pass. Adjacent
 * ranges are merged so that a contiguous run is read as one prefetching stream; memory stays at
 * about two chunks whatever the sizes.
 */
export async function hashRanges<A extends HashAlg>(
  src: ByteSource,
  ranges: readonly ByteRange[],
  algs: readonly A[],
  options: HashOptions = {},
): Promise<Record<A, Uint8Array>> {
  const chunkSize = options.chunkSize ?? HASH_CHUNK_SIZE;
  const h = new MultiHash(algs);
  for (const r of mergeAdjacent(ranges)) {
    for await (const c of chunks(src, r.start, r.end - r.start, chunkSize, REUSE)) h.update(c);
  }
  return h.digests();
}

/** Merges ranges where one starts exactly where the previous ended; drops empty ones. */
export function mergeAdjacent(ranges: readonly ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) {
    if (r.end <= r.start) continue;
    const last = out[out.length - 1];
    if (last && last.end === r.start) out[out.length - 1] = { start: last.start, end: r.end };
    else out.push(r);
  }
  return out;
}

/** One digest wanted over `ranges` of a source (each group's ranges are hashed in their order). */
export interface RangeGroup<A extends HashAlg> {
  readonly ranges: readonly ByteRange[];
  readonly algs: readonly A[];
  /** Zero bytes appended after the ranges (a section's VirtualSize past its raw data). */
  readonly zeroTail?: number;
  /** Hash this group through options.offload when one is given. */
  readonly offload?: boolean;
}

const ascending = (rs: readonly ByteRange[]) =>
  rs.every((r, i) => i === 0 || r.start >= (rs[i - 1] as ByteRange).end);

/** Sorted, merged union of the ranges (what has to be read once to serve every group). */
function union(rs: readonly ByteRange[]): ByteRange[] {
  const sorted = rs.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end)
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

/**
 * Several digests over one source with a single forward read: the union of all groups' ranges is
 * streamed once and each chunk is fed to every group whose ranges it overlaps (the groups marked
 * `offload` through options.offload, when given). Groups whose ranges are not in ascending order
 * (a malformed PE can give those) are hashed here with their own reads.
 */
export async function hashRangeGroups<A extends HashAlg>(
  src: ByteSource,
  groups: readonly RangeGroup<A>[],
  options: HashOptions = {},
): Promise<Record<A, Uint8Array>[]> {
  const chunkSize = options.chunkSize ?? HASH_CHUNK_SIZE;
  const off = options.offload;
  const remote = groups.map((g) => (off && g.offload && ascending(g.ranges) ? off.begin(g.algs) : undefined));
  const hashes = groups.map((g, i) => (remote[i] === undefined ? new MultiHash(g.algs) : undefined));
  const shared = groups
    .map((g, i) => ({ g, h: hashes[i], id: remote[i], next: 0 }))
    .filter((x) => ascending(x.g.ranges));
  for (const [i, g] of groups.entries()) {
    if (ascending(g.ranges)) continue;
    const h = hashes[i] as MultiHash<A>;
    for (const r of mergeAdjacent(g.ranges))
      for await (const c of chunks(src, r.start, r.end - r.start, chunkSize, REUSE)) h.update(c);
  }
  // read into the offload's own buffers when it has anything to hash (no copy)
  const lend = remote.some((id) => id !== undefined) ? off?.borrowed : undefined;
  for (const span of union(shared.flatMap((x) => x.g.ranges))) {
    let pos = span.start;
    const length = span.end - span.start;
    for await (const c of chunks(src, span.start, length, chunkSize, lend ? { lend } : REUSE)) {
      const end = pos + c.length;
      const pieces: OffloadPiece[] = [];
      for (const x of shared) {
        const rs = x.g.ranges;
        while (x.next < rs.length) {
          const r = rs[x.next] as ByteRange;
          if (r.start >= end) break;
          const a = Math.max(r.start, pos);
          const b = Math.min(r.end, end);
          if (b > a) {
            if (x.h) x.h.update(c.subarray(a - pos, b - pos));
            else pieces.push({ id: x.id as number, start: a - pos, end: b - pos });
          }
          if (r.end > end) break;
          x.next++;
        }
      }
      // the chunk's buffer is reused for the read after next: hand it over before asking for more
      if (lend) {
        if (pieces.length > 0) lend.feedBorrowed(c, pieces);
        else lend.giveBack(c);
      }
      pos = end;
    }
  }
  const zeros = new Uint8Array(Math.min(chunkSize, Math.max(0, ...groups.map((g) => g.zeroTail ?? 0))));
  return Promise.all(
    groups.map(async (g, i) => {
      const id = remote[i];
      if (id !== undefined) {
        if (g.zeroTail) (off as HashOffload).zeros(id, g.zeroTail);
        return (await (off as HashOffload).digests(id)) as Record<A, Uint8Array>;
      }
      const h = hashes[i] as MultiHash<A>;
      for (let left = g.zeroTail ?? 0; left > 0; left -= Math.min(left, chunkSize))
        h.update(zeros.subarray(0, Math.min(left, chunkSize)));
      return h.digests();
    }),
  );
}
