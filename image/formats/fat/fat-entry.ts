import { NodeimgError } from '../errors.js';
import type { DirRecord } from './directory.js';
import type { FatEntry } from './fat-fs.js';

// FatEntry values: built from decoded directory records (fatgen103 §6), ordered for
// deterministic output, and checked when a caller hands one back.

export function toEntry(parent: string, rec: DirRecord): FatEntry {
  return {
    path: parent === '/' ? `/${rec.name}` : `${parent}/${rec.name}`,
    name: rec.name,
    shortName: rec.shortName,
    isDirectory: rec.isDirectory,
    size: rec.isDirectory ? 0 : rec.size,
    firstCluster: rec.firstCluster,
    attributes: rec.attributes,
    ...(rec.mtime === undefined ? {} : { mtime: rec.mtime }),
  };
}

export function checkFile(entry: FatEntry): void {
  if (entry.isDirectory) throw new NodeimgError('USAGE', `${entry.path} is a directory`);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0 || entry.size > 0xffffffff)
    throw new NodeimgError('USAGE', `${entry.path}: bad size ${entry.size}`);
}

export function sortByName(entries: FatEntry[]): FatEntry[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return entries.sort((a, b) => cmp(a.name, b.name) || cmp(a.shortName, b.shortName));
}

export function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
