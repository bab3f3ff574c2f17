import type { ByteSource } from '../source.js';
import type { FatType } from './boot-sector.js';
import type { FatExtent } from './table.js';

// The public view of a FAT volume (fatgen103): entries by path, the way firmware looks files up
// (case-insensitive, long or short name), plus streaming access to file contents.

export interface FatEntry {
  /** Absolute path from the root, '/'-separated, with long names. */
  readonly path: string;
  /** Long name if present, else the 8.3 name with the NT case bits applied. */
  readonly name: string;
  /** The 8.3 name as stored ("BOOTX64.EFI"). */
  readonly shortName: string;
  readonly isDirectory: boolean;
  readonly size: number;
  readonly firstCluster: number;
  readonly attributes: number;
  /** Last write time, local time of the writer, ISO 8601 without zone. */
  readonly mtime?: string;
}

export interface FatFs {
  readonly type: FatType;
  /** BS_VolID as "XXXX-XXXX" (what blkid and mtools show), '' without an extended BPB. */
  readonly volumeId: string;
  readonly volumeLabel: string;
  readonly clusterSize: number;
  /** Non-fatal oddities met so far (orphan long names, duplicate names), capped. */
  readonly warnings: readonly string[];
  /** Entries of a directory (case-insensitive path, '/' is the root), sorted by name. */
  list(path: string): Promise<FatEntry[]>;
  /** The entry at `path`, or undefined if there is none. */
  stat(path: string): Promise<FatEntry | undefined>;
  /** Every entry, depth-first, each directory's entries sorted by name. */
  walk(): AsyncGenerator<FatEntry>;
  readFile(pathOrEntry: string | FatEntry): Promise<Uint8Array>;
  /** The file's bytes as a ByteSource that reads straight from its (fragmented) clusters. */
  fileSource(entry: FatEntry): ByteSource;
  /** The validated cluster runs holding the file's bytes. */
  extents(entry: FatEntry): Promise<FatExtent[]>;
}
