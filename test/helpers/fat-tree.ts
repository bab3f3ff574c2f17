// Random directory trees for the FAT property test: deep directories, 8.3 names (upper and
// lower case), long mixed-case names with FAT-legal punctuation and non-ASCII letters, empty,
// small and multi-MiB files. Contents are derived from a seed so a tree stays small to shrink.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { fillRandom } from './prng.js';

export interface FileNode {
  readonly kind: 'file';
  readonly name: string;
  readonly size: number;
  readonly seed: number;
}
export interface DirNode {
  readonly kind: 'dir';
  readonly name: string;
  readonly children: readonly TreeNode[];
}
export type TreeNode = FileNode | DirNode;

const SHORT_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$'];
// Legal in long names (fatgen103 §7) but several are not in 8.3 names, forcing LFN entries.
// No '~' (could equal a generated alias) and no '#' (reserved for the test's filler files).
const LONG_CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ..." +,;=[]()!@&'-_.{}^%$",
  ...'éÜñΩЖ中øÅ',
];
const DEVICE_NAMES = /^(CON|PRN|AUX|NUL|COM\d|LPT\d|CLOCK\$)(\.|$)/i;

const part = (max: number) =>
  fc.string({ unit: fc.constantFrom(...SHORT_CHARS), minLength: 1, maxLength: max });
const short83 = fc
  .tuple(part(8), fc.option(part(3), { nil: undefined }))
  .map(([b, e]) => (e === undefined ? b : `${b}.${e}`));
const longName = fc
  .string({ unit: fc.constantFrom(...LONG_CHARS), minLength: 1, maxLength: 40 })
  .filter((s) => !/^[ .]|[ .]$/.test(s));

export const nameArb = fc
  .oneof(
    short83,
    short83.map((s) => s.toLowerCase()),
    longName,
    longName,
  )
  // mcopy -s reads a source named '-' as stdin, so that name cannot be staged.
  .filter((s) => !DEVICE_NAMES.test(s) && s !== '-');

export function treeArb(clusterSize: number, bigMax: number): fc.Arbitrary<TreeNode[]> {
  const size = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 * clusterSize + 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 64 * 1024, max: bigMax }) },
  );
  const file: fc.Arbitrary<FileNode> = fc.record({
    kind: fc.constant('file' as const),
    name: nameArb,
    size,
    seed: fc.integer(),
  });
  const { node } = fc.letrec<{ node: TreeNode; dir: DirNode }>((tie) => ({
    node: fc.oneof({ depthIdentifier: 'tree', maxDepth: 4 }, file, file, tie('dir')),
    dir: fc.record({
      kind: fc.constant('dir' as const),
      name: nameArb,
      children: fc.array(tie('node'), { maxLength: 4, depthIdentifier: 'tree' }),
    }),
  }));
  // One chain 5-8 directories deep with a file at the bottom.
  const deep = fc
    .tuple(fc.array(nameArb, { minLength: 5, maxLength: 8 }), file)
    .map(([names, leaf]) =>
      names.reduceRight<TreeNode>((child, name) => ({ kind: 'dir', name, children: [child] }), leaf),
    );
  return fc.tuple(fc.array(node, { maxLength: 6 }), deep).map(([top, chain]) => [...top, chain]);
}

/**
 * Makes a tree fit the volume: drops names that clash case-insensitively within a directory,
 * and shrinks files once the running total (in whole clusters) would pass `budget` bytes.
 */
export function fitTree(nodes: readonly TreeNode[], clusterSize: number, budget: number): TreeNode[] {
  let used = 0;
  const fit = (list: readonly TreeNode[]): TreeNode[] => {
    const seen = new Set<string>();
    const out: TreeNode[] = [];
    for (const n of list) {
      const key = n.name.toUpperCase();
      if (seen.has(key)) continue;
      seen.add(key);
      used += clusterSize; // directory entries and at least one cluster
      if (n.kind === 'dir') out.push({ ...n, children: fit(n.children) });
      else {
        const size = used + n.size > budget ? n.size % (2 * clusterSize) : n.size;
        used += Math.ceil(size / clusterSize) * clusterSize;
        out.push({ ...n, size });
      }
    }
    return out;
  };
  return fit(nodes);
}

export type Expected = Map<string, Uint8Array | 'dir'>;

/** Writes the tree under `dir` and returns path → content (or 'dir') as the FAT should hold it. */
export function stageTree(
  nodes: readonly TreeNode[],
  dir: string,
  expected: Expected = new Map(),
  prefix = '',
): Expected {
  for (const n of nodes) {
    const path = `${prefix}/${n.name}`;
    const local = join(dir, n.name);
    if (n.kind === 'dir') {
      mkdirSync(local);
      expected.set(path, 'dir');
      stageTree(n.children, local, expected, path);
    } else {
      const content = fillRandom(new Uint8Array(n.size), n.seed);
      writeFileSync(local, content);
      expected.set(path, content);
    }
  }
  return expected;
}
