import type { ByteSource } from '../source.js';
import type { FatLayout } from './boot-sector.js';
import { MAX_DIR_BYTES } from './directory.js';
import type { FatTable } from './table.js';

// Where a directory's bytes live (fatgen103 §6): the fixed root region after the FATs on
// FAT12/16, otherwise a cluster chain like a file's (the FAT32 root starts at BPB_RootClus).

export interface DirectoryBytes {
  readonly bytes: Uint8Array;
  /** Absolute offset (in the outermost input) of byte `pos` of `bytes`. */
  readonly absAt: (pos: number) => number;
}

export async function readRootRegion(volume: ByteSource, layout: FatLayout): Promise<DirectoryBytes> {
  const at = layout.rootDirOffset;
  const bytes = await volume.read(at, layout.rootDirBytes);
  return { bytes, absAt: (pos) => volume.base + at + pos };
}

/** Reads a directory's whole chain (at most MAX_DIR_BYTES) into one buffer. */
export async function readDirectoryChain(
  volume: ByteSource,
  layout: FatLayout,
  table: FatTable,
  dir: { readonly path: string; readonly firstCluster: number },
): Promise<DirectoryBytes> {
  const limit = Math.ceil(MAX_DIR_BYTES / layout.clusterSize);
  const extents = await table.chain(dir.firstCluster, `directory ${dir.path}`, { limit });
  const total = extents.reduce((n, e) => n + e.count * layout.clusterSize, 0);
  const bytes = new Uint8Array(total);
  const starts: number[] = []; // position in `bytes` of each extent
  const offsets: number[] = []; // its offset in the volume
  let pos = 0;
  for (const e of extents) {
    const at = layout.dataOffset + (e.cluster - 2) * layout.clusterSize;
    bytes.set(await volume.read(at, e.count * layout.clusterSize), pos);
    starts.push(pos);
    offsets.push(at);
    pos += e.count * layout.clusterSize;
  }
  const absAt = (p: number) => {
    // Binary search: a hostile, fully fragmented directory has thousands of extents.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] as number) <= p) lo = mid;
      else hi = mid - 1;
    }
    return volume.base + (offsets[lo] as number) + (p - (starts[lo] as number));
  };
  return { bytes, absAt };
}
