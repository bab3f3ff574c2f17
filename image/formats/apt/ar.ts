// The ar container of a .deb (deb(5)): the global header "!<arch>\n", then members each behind a
// 60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10 decimal, "`\n"), data padded to
// an even length. A .deb holds debian-binary, control.tar[.gz|.xz|.zst] and data.tar[...]; the
// SBOM reads the data member to find /usr/share/doc/<pkg>/copyright. Pure: the caller reads the
// 60-byte headers at the offsets this returns.
import { ParseError } from '../errors.js';

export const AR_MAGIC = '!<arch>\n';
export const AR_HEADER_SIZE = 60;
const MAX_MEMBER = 8 * 1024 * 1024 * 1024;

export interface ArMember {
  readonly name: string;
  /** Absolute offset of the member's data, and its size. */
  readonly dataOffset: number;
  readonly size: number;
  /** Absolute offset of the next header (data padded to an even length). */
  readonly next: number;
}

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

/** Checks the 8-byte global header. */
export function checkArMagic(bytes: Uint8Array, structure = '.deb'): void {
  if (bytes.length < 8 || ascii(bytes.subarray(0, 8)) !== AR_MAGIC)
    throw new ParseError('PARSE_INVALID', structure, 0, 'not an ar archive (no "!<arch>" header)');
}

/** Decodes the member header `header` (60 bytes) found at absolute offset `offset`. */
export function parseArHeader(header: Uint8Array, offset: number, structure = '.deb'): ArMember {
  if (header.length < AR_HEADER_SIZE)
    throw new ParseError(
      'PARSE_TRUNCATED',
      structure,
      offset,
      `ar member header: ${header.length} of 60 bytes`,
    );
  if (header[58] !== 0x60 || header[59] !== 0x0a)
    throw new ParseError(
      'PARSE_INVALID',
      structure,
      offset + 58,
      'ar member header does not end with "`\\n"',
    );
  const name = ascii(header.subarray(0, 16)).trimEnd().replace(/\/$/, '');
  const sizeText = ascii(header.subarray(48, 58)).trim();
  if (!/^\d{1,12}$/.test(sizeText))
    throw new ParseError(
      'PARSE_INVALID',
      structure,
      offset + 48,
      `ar member size ${JSON.stringify(sizeText)}`,
    );
  const size = Number(sizeText);
  if (size > MAX_MEMBER)
    throw new ParseError('PARSE_LIMIT', structure, offset + 48, `ar member of ${size} bytes`);
  if (!/^[A-Za-z0-9._+-]{1,16}$/.test(name))
    throw new ParseError('PARSE_INVALID', structure, offset, `ar member name ${JSON.stringify(name)}`);
  const dataOffset = offset + AR_HEADER_SIZE;
  return { name, dataOffset, size, next: dataOffset + size + (size % 2) };
}

/** The tar compression of a data.tar / control.tar member, from its name. */
export function tarCompressionOf(member: string): 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2' | undefined {
  const m = /^(?:data|control)\.tar(?:\.(gz|xz|zst|bz2))?$/.exec(member);
  if (m === null) return undefined;
  return ({ gz: 'gzip', xz: 'xz', zst: 'zstd', bz2: 'bzip2' } as const)[m[1] as 'gz'] ?? 'none';
}
