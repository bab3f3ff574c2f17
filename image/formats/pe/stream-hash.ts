import { MultiHash, type HashAlg } from '../../../measurements/hash.js';
import { chunks, type ByteSource } from '../source.js';

/**
 * Default read size when streaming ranges into hashes. bench/authenticode.mjs on a 512 MiB image
 * (2 vCPUs, warm page cache): 1 MiB 1.05-1.13 s / 81 MiB peak RSS, 2 MiB 1.28 s / 81 MiB, 4 MiB
 * 1.28-1.32 s / 81-99 MiB, 8 MiB 1.25-1.32 s / 137-143 MiB (each read allocates a fresh buffer, so
 * bigger chunks mostly cost memory). chunks() keeps one read in flight while the previous chunk is
 * hashed.
 */
export const HASH_CHUNK_SIZE = 1024 * 1024;

/** A half-open byte range [start, end) of a source. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface HashOptions {
  /** Read size for streaming, in bytes (default HASH_CHUNK_SIZE). */
  readonly chunkSize?: number;
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
    for await (const c of chunks(src, r.start, r.end - r.start, chunkSize)) h.update(c);
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
 * streamed once and each chunk is fed to every group whose ranges it overlaps. Groups whose ranges
 * are not in ascending order (a malformed PE can give those) are hashed with their own reads.
 */
export async function hashRangeGroups<A extends HashAlg>(
  src: ByteSource,
  groups: readonly RangeGroup<A>[],
  options: HashOptions = {},
): Promise<Record<A, Uint8Array>[]> {
  const chunkSize = options.chunkSize ?? HASH_CHUNK_SIZE;
  const hashes = groups.map((g) => new MultiHash(g.algs));
  const shared = groups
    .map((g, i) => ({ g, h: hashes[i] as MultiHash<A>, next: 0 }))
    .filter((x) => ascending(x.g.ranges));
  for (const x of groups
    .map((g, i) => ({ g, h: hashes[i] as MultiHash<A> }))
    .filter((x) => !ascending(x.g.ranges))) {
    for (const r of mergeAdjacent(x.g.ranges))
      for await (const c of chunks(src, r.start, r.end - r.start, chunkSize)) x.h.update(c);
  }
  for (const span of union(shared.flatMap((x) => x.g.ranges))) {
    let pos = span.start;
    for await (const c of chunks(src, span.start, span.end - span.start, chunkSize)) {
      const end = pos + c.length;
      for (const x of shared) {
        const rs = x.g.ranges;
        while (x.next < rs.length) {
          const r = rs[x.next] as ByteRange;
          if (r.start >= end) break;
          const a = Math.max(r.start, pos);
          const b = Math.min(r.end, end);
          if (b > a) x.h.update(c.subarray(a - pos, b - pos));
          if (r.end > end) break;
          x.next++;
        }
      }
      pos = end;
    }
  }
  return groups.map((g, i) => {
    const h = hashes[i] as MultiHash<A>;
    for (let left = g.zeroTail ?? 0; left > 0; left -= Math.min(left, chunkSize))
      h.update(new Uint8Array(Math.min(left, chunkSize)));
    return h.digests();
  });
}
