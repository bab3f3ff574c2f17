import { ParseError } from '../errors.js';
import { sortByName } from './fat-entry.js';
import type { FatEntry } from './fat-fs.js';

/** Deepest directory nesting walk() descends into (fatgen103 sets no limit; paths do). */
export const MAX_DIR_DEPTH = 32;
/** Most entries walk() yields. */
export const MAX_WALK_ENTRIES = 100_000;

/**
 * Depth-first, pre-order walk below `root`, each directory's entries sorted by name so the order
 * does not depend on the on-disk layout. A directory whose cluster is one of its ancestors'
 * (a loop in the tree), nesting past MAX_DIR_DEPTH and more than MAX_WALK_ENTRIES entries are
 * errors at the offending entry.
 */
export async function* walkTree(
  root: FatEntry,
  children: (dir: FatEntry) => Promise<FatEntry[]>,
  offsetOf: (entry: FatEntry) => number,
): AsyncGenerator<FatEntry> {
  let count = 0;
  async function* visit(
    dir: FatEntry,
    depth: number,
    ancestors: ReadonlySet<number>,
  ): AsyncGenerator<FatEntry> {
    for (const e of sortByName(await children(dir))) {
      if (++count > MAX_WALK_ENTRIES) {
        throw new ParseError(
          'PARSE_LIMIT',
          'FAT directory entry',
          offsetOf(e),
          `more than ${MAX_WALK_ENTRIES} entries`,
        );
      }
      yield e;
      if (!e.isDirectory) continue;
      if (ancestors.has(e.firstCluster)) {
        const why = `${e.path} is its own ancestor (cluster ${e.firstCluster})`;
        throw new ParseError('PARSE_INVALID', 'FAT directory entry', offsetOf(e), why);
      }
      if (depth >= MAX_DIR_DEPTH) {
        const why = `${e.path} is nested deeper than ${MAX_DIR_DEPTH}`;
        throw new ParseError('PARSE_LIMIT', 'FAT directory entry', offsetOf(e), why);
      }
      yield* visit(e, depth + 1, new Set([...ancestors, e.firstCluster]));
    }
  }
  yield* visit(root, 1, new Set([root.firstCluster]));
}
