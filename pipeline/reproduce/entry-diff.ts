// The files of two trees (an erofs root partition, a tar archive) compared by path (issue 11: "for
// file systems and archives which files differ: paths, sizes, modes, times, and a short content
// diff for text files"). Each side of an entry is its type, size, permission bits, owner, mtime
// (seconds), content sha256, symlink or hard-link target, device numbers, link count and
// extended attributes; an entry differs when any of them does, and the report names which. A
// directory's size and link count are left out: they follow from its entries, which are compared
// themselves. Small UTF-8 text files that differ get a line diff (text-diff.ts). The list is
// bounded: the first MAX_LISTED differing entries in path order, and how many more.
import { asText, lineDiff, MAX_TEXT_DIFF } from './text-diff.js';

export const MAX_LISTED = 100;

export type EntryType =
  'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'socket' | 'other';

export interface EntrySide {
  readonly type: EntryType;
  readonly size: number;
  /** Permission bits in octal ("755", "4755"). */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  /** Tar members: "uname:gname". */
  readonly owner?: string;
  readonly mtime: number;
  /** Regular files; null when the content was not read (compressed erofs data). */
  readonly sha256: string | null;
  /** Symlink target, or the path a tar hard link names. */
  readonly target?: string;
  /** Character and block devices: "major:minor". */
  readonly rdev?: string;
  readonly nlink?: number;
  /** "name=value", sorted. */
  readonly xattrs?: readonly string[];
}

export interface EntryDifference {
  readonly path: string;
  readonly published: EntrySide | null;
  readonly rebuilt: EntrySide | null;
  /** The fields that differ ("content", "mode", "mtime", ...); ["added"] / ["removed"]. */
  readonly fields: readonly string[];
  /** Text files: `-`/`+` lines. */
  readonly diff?: readonly string[];
}

/** One entry of a tree: its side and, for a small regular file, a way to read its bytes. */
export interface TreeEntry {
  readonly side: EntrySide;
  readonly read?: () => Promise<Uint8Array>;
}

export interface TreeDifference {
  /** "erofs", "tar". */
  readonly type: string;
  /** Paths compared (the union of both sides). */
  readonly compared: number;
  readonly entries: readonly EntryDifference[];
  /** Differing entries left out of `entries`. */
  readonly more: number;
  readonly notes: readonly string[];
}

const FIELDS = [
  'type',
  'size',
  'mode',
  'uid',
  'gid',
  'owner',
  'mtime',
  'target',
  'rdev',
  'nlink',
  'xattrs',
] as const;

function differingFields(a: EntrySide, b: EntrySide): string[] {
  const out: string[] = [];
  const dirs = a.type === 'dir' && b.type === 'dir';
  for (const f of FIELDS) {
    if (dirs && (f === 'size' || f === 'nlink')) continue;
    if (JSON.stringify(a[f]) !== JSON.stringify(b[f])) out.push(f);
  }
  if (a.sha256 !== b.sha256) out.push('content');
  return out;
}

async function textDiff(a: TreeEntry, b: TreeEntry): Promise<string[] | undefined> {
  if (!a.read || !b.read || a.side.size > MAX_TEXT_DIFF || b.side.size > MAX_TEXT_DIFF) return undefined;
  const [ta, tb] = [asText(await a.read()), asText(await b.read())];
  return ta !== undefined && tb !== undefined ? lineDiff(ta, tb) : undefined;
}

/** The entries of two trees that differ, in path order, at most MAX_LISTED of them. */
export async function compareTrees(
  type: string,
  published: ReadonlyMap<string, TreeEntry>,
  rebuilt: ReadonlyMap<string, TreeEntry>,
  notes: readonly string[] = [],
): Promise<TreeDifference> {
  const paths = [...new Set([...published.keys(), ...rebuilt.keys()])].sort();
  const entries: EntryDifference[] = [];
  let more = 0;
  for (const path of paths) {
    const [a, b] = [published.get(path), rebuilt.get(path)];
    const fields = a && b ? differingFields(a.side, b.side) : [a ? 'removed' : 'added'];
    if (fields.length === 0) continue;
    if (entries.length >= MAX_LISTED) {
      more++;
      continue;
    }
    const diff = a && b && fields.includes('content') ? await textDiff(a, b) : undefined;
    entries.push({
      path,
      published: a?.side ?? null,
      rebuilt: b?.side ?? null,
      fields,
      ...(diff ? { diff } : {}),
    });
  }
  return { type, compared: paths.length, entries, more, notes };
}

/** "name=value" for a report: printable values as text, others as hex; long ones shortened. */
export function xattrText(name: string, value: Uint8Array, sha256: (b: Uint8Array) => string): string {
  const printable = value.every((c) => c >= 0x20 && c < 0x7f);
  const shown = printable
    ? String.fromCharCode(...value.subarray(0, 64))
    : `0x${Buffer.from(value.subarray(0, 32)).toString('hex')}`;
  const cut = printable ? value.length > 64 : value.length > 32;
  return `${name}=${shown}${cut ? `… (${value.length} bytes, sha256 ${sha256(value).slice(0, 16)})` : ''}`;
}
