import { checkRange, type ByteSource } from '../source.js';
import type { FatExtent } from './table.js';

// A file's bytes are its cluster chain (fatgen103 §4) truncated to DIR_FileSize. This maps reads
// on the file onto the (possibly fragmented) chain, so a large file can be streamed or parsed in
// place without loading it.

export interface ClusterGeometry {
  readonly clusterSize: number;
  /** Offset of cluster 2 in the volume. */
  readonly dataOffset: number;
  /** Valid clusters are 2 .. clusterCount + 1. */
  readonly clusterCount: number;
}

/**
 * A ByteSource of `size` bytes over the clusters that `extents()` resolves (lazily, on the first
 * read; a broken chain makes every read fail with its ParseError). Its `base` is the absolute
 * offset of `firstCluster`, exact for error messages while the file is contiguous; reads that
 * fail inside the volume report the true offset themselves.
 */
export function extentSource(
  volume: ByteSource,
  geo: ClusterGeometry,
  file: { readonly size: number; readonly firstCluster: number },
  name: string,
  extents: () => Promise<FatExtent[]>,
): ByteSource {
  let runs: Promise<Run[]> | undefined;
  const first = file.firstCluster;
  const inRange = Number.isSafeInteger(first) && first >= 2 && first <= geo.clusterCount + 1;
  const src: ByteSource = {
    size: file.size,
    base: volume.base + (inRange ? geo.dataOffset + (first - 2) * geo.clusterSize : 0),
    name,
    async read(offset, length, into) {
      checkRange(src, offset, length);
      if (length === 0) return new Uint8Array(0);
      runs ??= extents().then((ext) => toRuns(ext, geo));
      const list = await runs;
      let i = findRun(list, offset);
      const first = list[i] as Run;
      // within one run: the volume's bytes as they are (into `into` when the volume can)
      if (offset + length <= first.fileEnd)
        return volume.read(first.volumeOffset + (offset - first.fileStart), length, into);
      const out = into && into.byteLength >= length ? into.subarray(0, length) : new Uint8Array(length);
      let pos = offset;
      const end = offset + length;
      while (pos < end) {
        const run = list[i] as Run;
        const take = Math.min(end, run.fileEnd) - pos;
        const at = pos - offset;
        const piece = await volume.read(
          run.volumeOffset + (pos - run.fileStart),
          take,
          out.subarray(at, at + take),
        );
        if (piece.buffer !== out.buffer || piece.byteOffset !== out.byteOffset + at) out.set(piece, at);
        pos += take;
        i++;
      }
      return out;
    },
  };
  return src;
}

interface Run {
  readonly fileStart: number;
  readonly fileEnd: number;
  readonly volumeOffset: number;
}

function toRuns(extents: readonly FatExtent[], geo: ClusterGeometry): Run[] {
  const out: Run[] = [];
  let fileStart = 0;
  for (const e of extents) {
    const bytes = e.count * geo.clusterSize;
    out.push({
      fileStart,
      fileEnd: fileStart + bytes,
      volumeOffset: geo.dataOffset + (e.cluster - 2) * geo.clusterSize,
    });
    fileStart += bytes;
  }
  return out;
}

/** Index of the run containing file offset `pos` (binary search; runs are sorted). */
function findRun(runs: readonly Run[], pos: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((runs[mid] as Run).fileEnd <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
