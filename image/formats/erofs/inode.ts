// erofs inodes (erofs-utils include/erofs_fs.h: struct erofs_inode_compact, 32 bytes, and
// struct erofs_inode_extended, 64 bytes, at meta_blkaddr * block size + nid * 32), their inline
// and shared extended attributes (struct erofs_xattr_ibody_header, erofs_xattr_entry; fs/erofs/
// xattr.c) and their data as a ByteSource for the uncompressed layouts (fs/erofs/data.c
// erofs_map_blocks): FLAT_PLAIN (contiguous blocks), FLAT_INLINE (blocks plus a tail packed after
// the inode and its xattrs) and CHUNK_BASED (a block map or 8-byte chunk indexes; EROFS_NULL_ADDR
// is a hole of zeros). Compressed layouts (1, 3) are recognised and reported, not decompressed.
// Pure and bounded: every range is checked against the file system, xattr counts are capped.
import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import { checkRange, slice, type ByteSource } from '../source.js';
import { INCOMPAT_CHUNKED_FILE, type ErofsSuperblock } from './superblock.js';

export type ErofsLayout = 'plain' | 'compressed-legacy' | 'inline' | 'compressed' | 'chunked';
const LAYOUTS: readonly ErofsLayout[] = ['plain', 'compressed-legacy', 'inline', 'compressed', 'chunked'];
const XATTR_PREFIXES = [
  '',
  'user.',
  'system.posix_acl_access',
  'system.posix_acl_default',
  'trusted.',
  'lustre.',
  'security.',
];
const MAX_XATTRS = 1024;
const NULL_ADDR = 0xffffffff;

export interface ErofsXattr {
  readonly name: string;
  readonly value: Uint8Array;
}

export interface ErofsInode {
  readonly nid: number;
  /** Absolute offset of the inode in the file system. */
  readonly offset: number;
  readonly extended: boolean;
  readonly layout: ErofsLayout;
  /** st_mode: type and permission bits. */
  readonly mode: number;
  readonly nlink: number;
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly mtimeNsec: number;
  /** i_u: raw_blkaddr, rdev or chunk format, by layout and type. */
  readonly iu: number;
  readonly xattrSize: number;
  /** Offset of what follows the inode and its xattrs (inline tail, chunk table). */
  readonly tailOffset: number;
}

export interface ErofsContext {
  readonly src: ByteSource;
  readonly sb: ErofsSuperblock;
}

export async function readInode(fs: ErofsContext, nid: number): Promise<ErofsInode> {
  const { src, sb } = fs;
  const offset = sb.metaBlkAddr * sb.blockSize + nid * 32;
  if (!Number.isSafeInteger(offset) || offset + 32 > src.size)
    throw new ParseError('PARSE_INVALID', 'erofs inode', src.base, `nid ${nid} is past the file system`);
  const head = new ByteReader(await src.read(offset, 32), 'erofs inode', src.base + offset);
  const format = head.u16At(0);
  const extended = (format & 1) === 1;
  const layoutNo = (format >> 1) & 7;
  const found = LAYOUTS[layoutNo];
  if (found === undefined) return head.fail(`data layout ${layoutNo} is reserved`, 0, 'PARSE_UNSUPPORTED');
  const layout: ErofsLayout = found;
  if (layout === 'chunked' && (sb.featureIncompat & INCOMPAT_CHUNKED_FILE) === 0)
    head.fail('a chunk-based inode without the CHUNKED_FILE feature', 0);
  const r = extended ? new ByteReader(await src.read(offset, 64), 'erofs inode', src.base + offset) : head;
  const icount = r.u16At(2);
  const xattrSize = icount === 0 ? 0 : 12 + 4 * (icount - 1);
  const isize = extended ? 64 : 32;
  const base = {
    nid,
    offset,
    extended,
    layout,
    mode: r.u16At(4),
    iu: r.u32At(16),
    xattrSize,
    tailOffset: offset + isize + xattrSize,
  };
  const inode: ErofsInode = extended
    ? {
        ...base,
        size: r.u64nAt(8),
        uid: r.u32At(24),
        gid: r.u32At(28),
        mtime: r.u64nAt(32),
        mtimeNsec: r.u32At(40),
        nlink: r.u32At(44),
      }
    : {
        ...base,
        size: r.u32At(8),
        uid: r.u16At(24),
        gid: r.u16At(26),
        mtime: sb.buildTime,
        mtimeNsec: sb.buildTimeNsec,
        nlink: r.u16At(6),
      };
  if (inode.tailOffset > src.size) head.fail(`${xattrSize} bytes of xattrs run past the file system`, 2);
  return inode;
}

function xattrName(index: number, name: Uint8Array): string {
  const text = new TextDecoder().decode(name);
  const prefix = index & 0x80 ? `prefix#${index & 0x7f}:` : (XATTR_PREFIXES[index] ?? `index#${index}:`);
  return prefix + text;
}

/** One erofs_xattr_entry at `at` of `r`; returns it and its aligned size. */
function xattrEntry(r: ByteReader, at: number): { x: ErofsXattr; size: number } {
  const nameLen = r.u8At(at);
  const index = r.u8At(at + 1);
  const valueSize = r.u16At(at + 2);
  const name = r.bytesAt(at + 4, nameLen);
  const value = r.bytesAt(at + 4 + nameLen, valueSize);
  return { x: { name: xattrName(index, name), value }, size: (4 + nameLen + valueSize + 3) & ~3 };
}

/** The inode's extended attributes, inline ones and shared ones, in on-disk order. */
export async function readXattrs(fs: ErofsContext, inode: ErofsInode): Promise<ErofsXattr[]> {
  if (inode.xattrSize === 0) return [];
  const at = inode.tailOffset - inode.xattrSize;
  const r = new ByteReader(await fs.src.read(at, inode.xattrSize), 'erofs xattrs', fs.src.base + at);
  const shared = r.u8At(4);
  if (12 + shared * 4 > inode.xattrSize) r.fail(`${shared} shared xattrs do not fit in the xattr body`, 4);
  const out: ErofsXattr[] = [];
  for (let i = 0; i < shared; i++) {
    const id = r.u32At(12 + i * 4);
    const pos = fs.sb.xattrBlkAddr * fs.sb.blockSize + id * 4;
    checkRange(fs.src, pos, 4);
    const e = await fs.src.read(pos, 4);
    const len = 4 + (e[0] as number) + ((e[2] as number) | ((e[3] as number) << 8));
    checkRange(fs.src, pos, len);
    out.push(
      xattrEntry(new ByteReader(await fs.src.read(pos, len), 'erofs shared xattr', fs.src.base + pos), 0).x,
    );
  }
  for (let pos = 12 + shared * 4; pos < inode.xattrSize;) {
    if (out.length >= MAX_XATTRS) r.fail(`more than ${MAX_XATTRS} xattrs`, pos, 'PARSE_LIMIT');
    const { x, size } = xattrEntry(r, pos);
    out.push(x);
    pos += size;
  }
  return out;
}

/** The data of an uncompressed inode (file contents, directory blocks, symlink target). */
export function inodeData(fs: ErofsContext, inode: ErofsInode): ByteSource {
  const { src, sb } = fs;
  const name = `erofs nid ${inode.nid}`;
  const bs = sb.blockSize;
  if (inode.layout === 'compressed' || inode.layout === 'compressed-legacy')
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      'erofs inode',
      src.base + inode.offset,
      'compressed data is not read',
    );
  if (inode.layout === 'plain') {
    const start = inode.size === 0 ? 0 : inode.iu * bs;
    return slice(src, start, inode.size, name);
  }
  if (inode.layout === 'inline') {
    // fs/erofs/data.c erofs_map_blocks_flatmode: the last block is the inline tail
    const lastBlock = Math.ceil(inode.size / bs) - 1;
    const full = Math.max(0, lastBlock) * bs;
    const blocks = slice(src, full === 0 ? 0 : inode.iu * bs, full, name);
    const tailLen = inode.size - full;
    if (inode.tailOffset + tailLen > src.size || (inode.tailOffset % bs) + tailLen > bs)
      throw new ParseError(
        'PARSE_INVALID',
        'erofs inode',
        src.base + inode.offset,
        `inline tail of ${tailLen} bytes crosses its block`,
      );
    const tail = slice(src, inode.tailOffset, tailLen, name);
    return joined(name, src.base + inode.offset, inode.size, (off) =>
      off < full ? { src: blocks, at: off, end: full } : { src: tail, at: off - full, end: inode.size },
    );
  }
  // chunk-based: i_u.c.format (low 5 bits: chunk size = block size << n; 0x20: 8-byte indexes)
  const format = inode.iu & 0xffff;
  if ((format & ~0x3f) !== 0)
    throw new ParseError(
      'PARSE_INVALID',
      'erofs inode',
      src.base + inode.offset + 16,
      `chunk format 0x${format.toString(16)}`,
    );
  const chunkBits = sb.blockBits + (format & 0x1f);
  if (chunkBits > 40)
    throw new ParseError(
      'PARSE_LIMIT',
      'erofs inode',
      src.base + inode.offset + 16,
      `chunk size 2^${chunkBits}`,
    );
  const chunk = 2 ** chunkBits;
  const unit = format & 0x20 ? 8 : 4;
  const table = Math.ceil(inode.tailOffset / unit) * unit;
  const count = Math.ceil(inode.size / chunk);
  checkRange(src, table, 0);
  if (table + count * unit > src.size)
    throw new ParseError(
      'PARSE_TRUNCATED',
      'erofs chunk table',
      src.base + table,
      `${count} chunk entries run past the file system`,
    );
  return joined(name, src.base + inode.offset, inode.size, async (off) => {
    const i = Math.floor(off / chunk);
    const e = new ByteReader(
      await src.read(table + i * unit, unit),
      'erofs chunk entry',
      src.base + table + i * unit,
    );
    const blk = unit === 8 ? e.u32At(4) : e.u32At(0);
    const at = i * chunk;
    const len = Math.min(chunk, inode.size - at);
    if (blk === NULL_ADDR) return { src: zeros(len, name), at: off - at, end: at + len };
    return { src: slice(src, blk * bs, len, name), at: off - at, end: at + len };
  });
}

function zeros(size: number, name: string): ByteSource {
  return {
    size,
    base: 0,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      return new Uint8Array(length);
    },
  };
}

type Piece = { src: ByteSource; at: number; end: number };

/** A ByteSource of `size` bytes assembled from pieces: `piece(off)` covers off up to `end`. */
function joined(
  name: string,
  base: number,
  size: number,
  piece: (off: number) => Piece | Promise<Piece>,
): ByteSource {
  return {
    size,
    base,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      const first = await piece(offset);
      if (offset + length <= first.end) return first.src.read(first.at, length); // one piece: no copy
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const p = await piece(offset + done);
        const n = Math.min(length - done, p.end - (offset + done));
        out.set(await p.src.read(p.at, n), done);
        done += n;
      }
      return out;
    },
  };
}
