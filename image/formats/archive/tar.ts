// A bounded reader of tar archives (POSIX.1-2017 pax "ustar Interchange Format" and "pax Header
// Block"; GNU tar's oldgnu/gnu formats, GNU tar manual "Basic Tar Format": 'L'/'K' long names,
// base-256 numbers, 'S' sparse headers): the members' metadata and where their data are, over a
// ByteSource (an uncompressed tar, which may be many GiB: only headers are read). What reproduce
// needs to name the members of two archives that differ (the GCE disk.tar.gz, rootfs.tar,
// source.tar). Pure: headers' checksums are checked; names, pax records and member counts are
// capped; data must lie inside the archive; errors are ParseErrors with the header's offset.
import { ParseError } from '../errors.js';
import type { ByteSource } from '../source.js';
import { TAR_BLOCK, tarHeaderChecksumOk } from './tar-gzip.js';

export const MAX_TAR_MEMBERS = 1_000_000;
const MAX_LONG = 64 * 1024;
const MAX_PAX = 1024 * 1024;

export type TarType =
  'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'sparse' | 'other';
const TYPES: Readonly<Record<string, TarType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  S: 'sparse',
};

export interface TarMember {
  readonly name: string;
  readonly type: TarType;
  /** The header's typeflag character. */
  readonly typeflag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  /** Bytes of data stored in the archive (for 'S' members: the stored, not the expanded, size). */
  readonly size: number;
  readonly linkname: string;
  readonly uname: string;
  readonly gname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** Offset of the member's (last) header and of its data. */
  readonly headerOffset: number;
  readonly dataOffset: number;
}

const str = (h: Uint8Array, at: number, len: number): string => {
  const b = h.subarray(at, at + len);
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
};

/** An octal (space/NUL terminated) or GNU base-256 numeric field. */
function num(h: Uint8Array, at: number, len: number, field: string, where: number): number {
  const first = h[at] as number;
  if (first & 0x80) {
    if (first === 0xff)
      throw new ParseError('PARSE_UNSUPPORTED', 'tar header', where + at, `negative ${field}`);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + (h[at + i] as number);
    if (!Number.isSafeInteger(v))
      throw new ParseError('PARSE_LIMIT', 'tar header', where + at, `${field} is too large`);
    return v;
  }
  const text = String.fromCharCode(...h.subarray(at, at + len)).replace(/^[ \0]+|[ \0]+$/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new ParseError(
      'PARSE_INVALID',
      'tar header',
      where + at,
      `${field} ${JSON.stringify(text)} is not octal`,
    );
  return parseInt(text, 8);
}

/** pax extended header records: "<len> <key>=<value>\n". */
function paxRecords(data: Uint8Array, where: number): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const sp = data.indexOf(0x20, pos);
    const len = sp < 0 ? NaN : Number(new TextDecoder().decode(data.subarray(pos, sp)));
    if (!Number.isSafeInteger(len) || len <= 0 || pos + len > data.length || data[pos + len - 1] !== 0x0a)
      throw new ParseError('PARSE_INVALID', 'tar pax header', where + pos, 'a malformed record');
    const rec = new TextDecoder().decode(data.subarray(sp + 1, pos + len - 1));
    const eq = rec.indexOf('=');
    if (eq <= 0)
      throw new ParseError('PARSE_INVALID', 'tar pax header', where + pos, 'a record without key=value');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

function paxNumber(v: string | undefined, key: string, where: number): number | undefined {
  if (v === undefined) return undefined;
  const n = key === 'mtime' ? Math.floor(Number(v)) : Number(v);
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(v) || !Number.isSafeInteger(n) || (key !== 'mtime' && n < 0))
    throw new ParseError('PARSE_INVALID', 'tar pax header', where, `${key}=${JSON.stringify(v)}`);
  return n;
}

/** Every member of the tar archive in `src`, in order; stops at the end-of-archive zero block. */
export async function* readTar(src: ByteSource): AsyncGenerator<TarMember> {
  let pos = 0;
  let count = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  let global = new Map<string, string>();
  while (pos + TAR_BLOCK <= src.size) {
    const h = await src.read(pos, TAR_BLOCK);
    const where = src.base + pos;
    if (h.every((b) => b === 0)) return;
    if (!tarHeaderChecksumOk(h))
      throw new ParseError('PARSE_INVALID', 'tar header', where, 'checksum mismatch');
    const typeflag = String.fromCharCode(h[156] as number);
    let size = num(h, 124, 12, 'size', where);
    let dataOffset = pos + TAR_BLOCK;
    if (typeflag === 'S' && h[482] !== 0) {
      // oldgnu sparse: extension headers (21 more sparse entries each) follow while isextended
      for (let ext = true; ext; dataOffset += TAR_BLOCK) {
        if (dataOffset + TAR_BLOCK > src.size)
          throw new ParseError('PARSE_TRUNCATED', 'tar sparse header', src.base + dataOffset, 'archive ends');
        ext = (await src.read(dataOffset, TAR_BLOCK))[504] !== 0;
      }
    }
    if (typeflag === '5') size = 0;
    const next = dataOffset + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
    if (next > src.size)
      throw new ParseError(
        'PARSE_TRUNCATED',
        'tar member',
        where,
        `${size} bytes of data (in whole blocks) run past the archive`,
      );
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g') {
      if (size > (typeflag === 'L' || typeflag === 'K' ? MAX_LONG : MAX_PAX))
        throw new ParseError('PARSE_LIMIT', 'tar header', where, `a ${size}-byte '${typeflag}' header`);
      const data = await src.read(dataOffset, size);
      if (typeflag === 'L') longName = str(data, 0, size);
      else if (typeflag === 'K') longLink = str(data, 0, size);
      else if (typeflag === 'x') pax = paxRecords(data, src.base + dataOffset);
      else global = new Map([...global, ...paxRecords(data, src.base + dataOffset)]);
      pos = next;
      continue;
    }
    if (++count > MAX_TAR_MEMBERS)
      throw new ParseError('PARSE_LIMIT', 'tar archive', where, `more than ${MAX_TAR_MEMBERS} members`);
    const ustar = str(h, 257, 6) === 'ustar' && h[262] === 0; // POSIX: a prefix field; oldgnu has none
    const prefix = ustar ? str(h, 345, 155) : '';
    const x = new Map([...global, ...pax]);
    const paxSize = paxNumber(x.get('size'), 'size', where);
    if (paxSize !== undefined && paxSize !== size)
      throw new ParseError(
        'PARSE_UNSUPPORTED',
        'tar member',
        where,
        'a pax size that differs from the header size',
      );
    yield {
      name: x.get('path') ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100)),
      type: TYPES[typeflag] ?? 'other',
      typeflag,
      mode: num(h, 100, 8, 'mode', where) & 0o7777,
      uid: paxNumber(x.get('uid'), 'uid', where) ?? num(h, 108, 8, 'uid', where),
      gid: paxNumber(x.get('gid'), 'gid', where) ?? num(h, 116, 8, 'gid', where),
      mtime: paxNumber(x.get('mtime'), 'mtime', where) ?? num(h, 136, 12, 'mtime', where),
      size,
      linkname: x.get('linkpath') ?? longLink ?? str(h, 157, 100),
      uname: x.get('uname') ?? str(h, 265, 32),
      gname: x.get('gname') ?? str(h, 297, 32),
      devmajor: typeflag === '3' || typeflag === '4' ? num(h, 329, 8, 'devmajor', where) : 0,
      devminor: typeflag === '3' || typeflag === '4' ? num(h, 337, 8, 'devminor', where) : 0,
      headerOffset: pos,
      dataOffset,
    };
    longName = undefined;
    longLink = undefined;
    pax = new Map();
    pos = next;
  }
  if (pos < src.size)
    throw new ParseError(
      'PARSE_TRUNCATED',
      'tar archive',
      src.base + pos,
      `${src.size - pos} bytes are not a whole header`,
    );
}
