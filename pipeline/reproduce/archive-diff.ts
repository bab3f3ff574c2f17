// Which members of two initrd cpio archives differ (issue 11: "for file systems and archives which
// files differ: paths, sizes, modes, times, and a short content diff for text files"). The
// archives may be gzip-compressed (our initrds, and most); other compressions are reported as not
// explained rather than guessed. Members are matched by path; a member differs when its size,
// mode, owner, mtime or content does.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { readNewcCpio, type CpioMember } from '../../image/formats/archive/index.js';
import { asText, lineDiff } from './text-diff.js';

/** Decompressed initrds larger than this are not explained (the kernel's own limit is RAM). */
const MAX_UNPACKED = 1024 * 1024 * 1024;

export interface MemberSide {
  readonly size: number;
  /** Octal, as ls shows it: "100755". */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly sha256: string;
}

export interface MemberDifference {
  readonly path: string;
  readonly published: MemberSide | null;
  readonly rebuilt: MemberSide | null;
  /** Text members: `-`/`+` lines. */
  readonly diff?: readonly string[];
}

function unpack(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED });
  if (bytes[0] === 0x30 && bytes[1] === 0x37) return bytes; // "07": an uncompressed newc archive
  return undefined;
}

function side(m: CpioMember): MemberSide {
  return {
    size: m.data.length,
    mode: m.mode.toString(8),
    uid: m.uid,
    gid: m.gid,
    mtime: m.mtime,
    sha256: createHash('sha256').update(m.data).digest('hex'),
  };
}

/** The differing members, or undefined when an archive cannot be unpacked here. */
export function cpioDifferences(published: Uint8Array, rebuilt: Uint8Array): MemberDifference[] | undefined {
  const [ua, ub] = [unpack(published), unpack(rebuilt)];
  if (!ua || !ub) return undefined;
  const index = (ms: CpioMember[]) => new Map(ms.map((m) => [m.name, m]));
  const [ma, mb] = [index(readNewcCpio(ua)), index(readNewcCpio(ub))];
  const out: MemberDifference[] = [];
  for (const path of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const [x, y] = [ma.get(path), mb.get(path)];
    const [sx, sy] = [x ? side(x) : null, y ? side(y) : null];
    if (sx && sy && JSON.stringify(sx) === JSON.stringify(sy)) continue;
    const [tx, ty] = [x ? asText(x.data) : undefined, y ? asText(y.data) : undefined];
    const diff =
      sx?.sha256 !== sy?.sha256 && tx !== undefined && ty !== undefined ? lineDiff(tx, ty) : undefined;
    out.push({ path, published: sx, rebuilt: sy, ...(diff ? { diff } : {}) });
  }
  return out;
}
