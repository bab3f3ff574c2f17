// Reader of "newc" cpio archives (070701 / 070702, the initrd format the Linux kernel unpacks;
// Documentation/driver-api/early-userspace/buffer-format.rst): 110-byte ASCII-hex headers, the
// name NUL-terminated and padded to 4 bytes, the data padded to 4 bytes, "TRAILER!!!" at the end.
// The kernel accepts several archives concatenated (with zero padding between them, as initrds
// made of a microcode cpio and a compressed one are), so the reader continues after a trailer.
// Pure and bounded: counts, name and file sizes are capped; errors are ParseErrors with offsets.
import { ParseError } from '../errors.js';

export interface CpioMember {
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  /** The data (a view into the archive bytes); symlink targets are the data of a symlink member. */
  readonly data: Uint8Array;
  /** Offset of the member's header. */
  readonly offset: number;
}

export const MAX_CPIO_MEMBERS = 100_000;
const HEADER = 110;
const MAX_NAME = 4096;
const TRAILER = 'TRAILER!!!';

const pad4 = (n: number): number => (n + 3) & ~3;

function hexField(bytes: Uint8Array, at: number, field: string): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = bytes[at + i] as number;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) throw new ParseError('PARSE_INVALID', 'cpio header', at, `${field} is not 8 hex digits`);
    v = v * 16 + d;
  }
  return v;
}

/** Every member of every archive in `bytes` (directories and device nodes included), in order. */
export function readNewcCpio(bytes: Uint8Array): CpioMember[] {
  const out: CpioMember[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    // zero padding between concatenated archives (and after the last one)
    if (bytes[pos] === 0) {
      pos++;
      continue;
    }
    if (pos + HEADER > bytes.length)
      throw new ParseError(
        'PARSE_TRUNCATED',
        'cpio header',
        pos,
        `${bytes.length - pos} bytes left, a header has ${HEADER}`,
      );
    const magic = new TextDecoder().decode(bytes.subarray(pos, pos + 6));
    if (magic !== '070701' && magic !== '070702')
      throw new ParseError(
        'PARSE_INVALID',
        'cpio header',
        pos,
        `magic ${JSON.stringify(magic)} is not newc (070701/070702)`,
      );
    const f = (i: number, name: string) => hexField(bytes, pos + 6 + i * 8, name);
    const mode = f(1, 'c_mode');
    const uid = f(2, 'c_uid');
    const gid = f(3, 'c_gid');
    const mtime = f(5, 'c_mtime');
    const size = f(6, 'c_filesize');
    const nameSize = f(11, 'c_namesize');
    if (nameSize === 0 || nameSize > MAX_NAME)
      throw new ParseError(
        'PARSE_LIMIT',
        'cpio header',
        pos,
        `c_namesize ${nameSize} is not in 1..${MAX_NAME}`,
      );
    const nameAt = pos + HEADER;
    const dataAt = pad4(nameAt + nameSize);
    if (nameAt + nameSize > bytes.length || dataAt + size > bytes.length)
      throw new ParseError(
        'PARSE_TRUNCATED',
        'cpio member',
        pos,
        `name or data (${size} bytes) run past the archive`,
      );
    if (bytes[nameAt + nameSize - 1] !== 0)
      throw new ParseError('PARSE_INVALID', 'cpio member', nameAt, 'the name is not NUL-terminated');
    const name = new TextDecoder().decode(bytes.subarray(nameAt, nameAt + nameSize - 1));
    const next = pad4(dataAt + size);
    if (name !== TRAILER) {
      if (out.length >= MAX_CPIO_MEMBERS)
        throw new ParseError('PARSE_LIMIT', 'cpio archive', pos, `more than ${MAX_CPIO_MEMBERS} members`);
      out.push({ name, mode, uid, gid, mtime, data: bytes.subarray(dataAt, dataAt + size), offset: pos });
    }
    pos = next;
  }
  return out;
}
