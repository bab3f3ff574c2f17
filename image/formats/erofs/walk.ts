// Walking an erofs directory tree (erofs-utils include/erofs_fs.h struct erofs_dirent; fs/erofs/
// dir.c): a directory's data is a sequence of blocks, each starting with 12-byte dirents (nid,
// nameoff, file_type) whose count is the first nameoff / 12, followed by the names; a name ends
// where the next one starts, the last one at the end of the block's used bytes (or at a NUL).
// Entries come out depth-first in name order, paths relative to the root ("etc/fstab").
// Pure and bounded against hostile images: names 1..255 bytes without '/' or NUL, directories at
// most 64 MiB, at most 1,000,000 entries, depth at most 256, and a directory is entered only once
// (a hard-linked or looping directory is a ParseError, not an endless walk).
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import { inodeData, readInode, type ErofsContext, type ErofsInode } from './inode.js';
import { readErofsSuperblock } from './superblock.js';
import type { ByteSource } from '../source.js';

export const EROFS_MAX_ENTRIES = 1_000_000;
const MAX_DIR_SIZE = 64 * 1024 * 1024;
const MAX_DEPTH = 256;
const MAX_NAME = 255;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

export interface ErofsEntry {
  /** Relative to the root; "" for the root itself. */
  readonly path: string;
  readonly inode: ErofsInode;
}

export interface ErofsDirent {
  readonly name: string;
  readonly nid: number;
  readonly fileType: number;
}

export async function openErofs(src: ByteSource): Promise<ErofsContext> {
  return { src, sb: await readErofsSuperblock(src) };
}

/** The entries of a directory inode, "." and ".." included, in on-disk (name) order. */
export async function readDirectory(fs: ErofsContext, dir: ErofsInode): Promise<ErofsDirent[]> {
  if ((dir.mode & S_IFMT) !== S_IFDIR)
    throw new ParseError(
      'PARSE_INVALID',
      'erofs directory',
      fs.src.base + dir.offset,
      `nid ${dir.nid} is not a directory`,
    );
  if (dir.size > MAX_DIR_SIZE)
    throw new ParseError(
      'PARSE_LIMIT',
      'erofs directory',
      fs.src.base + dir.offset,
      `${dir.size} bytes > ${MAX_DIR_SIZE}`,
    );
  const data = inodeData(fs, dir);
  const bs = fs.sb.blockSize;
  const out: ErofsDirent[] = [];
  for (let at = 0; at < dir.size; at += bs) {
    const len = Math.min(bs, dir.size - at);
    const r = new ByteReader(await data.read(at, len), 'erofs directory block', data.base + at);
    const first = r.u16At(8);
    if (first < 12 || first % 12 !== 0 || first > len) r.fail(`first name offset ${first} is invalid`, 8);
    const count = first / 12;
    for (let i = 0; i < count; i++) {
      const nameoff = r.u16At(i * 12 + 8);
      const end = i + 1 < count ? r.u16At((i + 1) * 12 + 8) : len;
      if (nameoff < first || end <= nameoff || end > len)
        r.fail(
          `dirent ${i}: name offsets ${nameoff}..${end} are not increasing inside the block`,
          i * 12 + 8,
        );
      let bytes = r.bytesAt(nameoff, end - nameoff);
      const nul = bytes.indexOf(0);
      if (nul >= 0) bytes = bytes.subarray(0, nul);
      if (bytes.length === 0 || bytes.length > MAX_NAME || bytes.includes(0x2f))
        r.fail(`dirent ${i}: a name of ${bytes.length} bytes (or containing '/') is invalid`, nameoff);
      if (out.length >= EROFS_MAX_ENTRIES)
        r.fail(`more than ${EROFS_MAX_ENTRIES} directory entries`, i * 12, 'PARSE_LIMIT');
      out.push({
        name: new TextDecoder().decode(bytes),
        nid: r.u64nAt(i * 12),
        fileType: r.u8At(i * 12 + 10),
      });
    }
  }
  return out;
}

/** Every entry of the tree, the root first, depth-first in name order. */
export async function* walkErofs(fs: ErofsContext): AsyncGenerator<ErofsEntry> {
  const root = await readInode(fs, fs.sb.rootNid);
  const entered = new Set<number>();
  let count = 0;
  async function* visit(path: string, dir: ErofsInode, depth: number): AsyncGenerator<ErofsEntry> {
    if (entered.has(dir.nid))
      throw new ParseError(
        'PARSE_INVALID',
        'erofs directory',
        fs.src.base + dir.offset,
        `directory nid ${dir.nid} is reached twice (at ${path})`,
      );
    if (depth > MAX_DEPTH)
      throw new ParseError(
        'PARSE_LIMIT',
        'erofs directory',
        fs.src.base + dir.offset,
        `deeper than ${MAX_DEPTH} at ${path}`,
      );
    entered.add(dir.nid);
    for (const d of await readDirectory(fs, dir)) {
      if (d.name === '.' || d.name === '..') continue;
      if (++count > EROFS_MAX_ENTRIES)
        throw new ParseError(
          'PARSE_LIMIT',
          'erofs file system',
          fs.src.base,
          `more than ${EROFS_MAX_ENTRIES} entries`,
        );
      const inode = await readInode(fs, d.nid);
      const p = path === '' ? d.name : `${path}/${d.name}`;
      yield { path: p, inode };
      if ((inode.mode & S_IFMT) === S_IFDIR) yield* visit(p, inode, depth + 1);
    }
  }
  yield { path: '', inode: root };
  yield* visit('', root, 0);
}
