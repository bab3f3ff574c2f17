// The Release file of a Debian suite (the signed text of InRelease; Debian wiki "DebianRepository/
// Format" §Release): Suite, Codename, Date, Valid-Until, Architectures, Components, Acquire-By-Hash
// and the SHA256 list of the index files ("<hex> <size> <path>" per line) through which every
// Packages index, and through it every .deb, is authenticated. Pure.
//
// Like apt (>= 1.x), a Release without a SHA256 list is refused (MD5Sum/SHA1 are not strong
// enough to authenticate anything), and Date is required: the lock records it.
import { ParseError } from '../errors.js';
import { deb822Field, deb822Lines, parseDeb822 } from './deb822.js';

export interface ReleaseFileEntry {
  /** Path relative to dists/<suite>/, e.g. main/binary-amd64/Packages.xz. */
  readonly path: string;
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

export interface ReleaseInfo {
  readonly origin?: string;
  readonly label?: string;
  readonly suite?: string;
  readonly codename?: string;
  readonly version?: string;
  /** Date as milliseconds since the epoch, and as written. */
  readonly date: number;
  readonly dateText: string;
  readonly validUntil?: number;
  readonly validUntilText?: string;
  readonly architectures: readonly string[];
  readonly components: readonly string[];
  /** Index files may be fetched as by-hash/SHA256/<hex> (consistent while the mirror updates). */
  readonly acquireByHash: boolean;
  /** Keyed by path. */
  readonly sha256: ReadonlyMap<string, ReleaseFileEntry>;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// RFC 2822 §3.3 date-time as Debian writes it: "Sat, 11 Jul 2026 10:16:37 UTC"; apt-ftparchive
// also writes "+0000". The day name is optional in RFC 2822.
const DATE =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT|Z|[+-]\d{4})$/;
const MAX_FILES = 100_000;

/** Milliseconds since the epoch of an RFC 2822 date as Release files write it; undefined if not one. */
export function parseReleaseDate(text: string): number | undefined {
  const m = DATE.exec(text.trim());
  if (m === null) return undefined;
  const [day, mon, year, hh, mm, ss, zone] = m.slice(1) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  let offsetMin = 0;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  }
  const d = Number(day);
  const h = Number(hh);
  const mi = Number(mm);
  const s = Number(ss);
  if (d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.UTC(Number(year), MONTHS.indexOf(mon), d, h, mi, Math.min(s, 59)) - offsetMin * 60_000;
  // refuse dates like 31 Feb, which Date.UTC would roll over
  if (new Date(ms + offsetMin * 60_000).getUTCDate() !== d) return undefined;
  return ms;
}

/** Parses the (signed) text of a Release file. */
export function parseRelease(bytes: Uint8Array, base = 0): ReleaseInfo {
  const structure = 'Release file';
  const stanzas = parseDeb822(bytes, { structure, base, maxBytes: 64 * 1024 * 1024, maxStanzas: 1 });
  const st = stanzas[0];
  if (st === undefined) throw new ParseError('PARSE_INVALID', structure, base, 'no fields');
  const at = (name: string) => st.fields.get(name.toLowerCase())?.offset ?? st.offset;
  const get = (name: string) => deb822Field(st, name);
  const dateText = get('Date');
  if (dateText === undefined) throw new ParseError('PARSE_INVALID', structure, st.offset, 'no Date field');
  const date = parseReleaseDate(dateText);
  if (date === undefined)
    throw new ParseError(
      'PARSE_INVALID',
      structure,
      at('Date'),
      `Date ${JSON.stringify(dateText)} is not an RFC 2822 date`,
    );
  const validUntilText = get('Valid-Until');
  let validUntil: number | undefined;
  if (validUntilText !== undefined) {
    validUntil = parseReleaseDate(validUntilText);
    if (validUntil === undefined)
      throw new ParseError(
        'PARSE_INVALID',
        structure,
        at('Valid-Until'),
        `Valid-Until ${JSON.stringify(validUntilText)} is not an RFC 2822 date`,
      );
  }
  const list = get('SHA256');
  if (list === undefined)
    throw new ParseError(
      'PARSE_INVALID',
      structure,
      st.offset,
      'no SHA256 list (MD5Sum and SHA1 are not accepted)',
    );
  const sha256 = new Map<string, ReleaseFileEntry>();
  for (const line of deb822Lines(list)) {
    const m = /^([0-9a-fA-F]{64})\s+(\d{1,15})\s+(\S+)$/.exec(line);
    if (m === null)
      throw new ParseError(
        'PARSE_INVALID',
        structure,
        at('SHA256'),
        `SHA256 line ${JSON.stringify(line.slice(0, 100))}`,
      );
    const path = m[3] as string;
    if (path.startsWith('/') || path.split('/').some((s) => s === '..' || s === '.' || s === ''))
      throw new ParseError(
        'PARSE_INVALID',
        structure,
        at('SHA256'),
        `SHA256 path ${JSON.stringify(path)} leaves the suite`,
      );
    if (sha256.has(path))
      throw new ParseError('PARSE_INVALID', structure, at('SHA256'), `SHA256 lists ${path} twice`);
    if (sha256.size >= MAX_FILES)
      throw new ParseError('PARSE_LIMIT', structure, at('SHA256'), `more than ${MAX_FILES} files`);
    sha256.set(path, { path, size: Number(m[2]), sha256: (m[1] as string).toLowerCase() });
  }
  const words = (name: string) => (get(name) ?? '').split(/\s+/).filter((w) => w !== '');
  const opt = (name: string, key: string) => {
    const v = get(name);
    return v === undefined ? {} : { [key]: v };
  };
  return {
    ...opt('Origin', 'origin'),
    ...opt('Label', 'label'),
    ...opt('Suite', 'suite'),
    ...opt('Codename', 'codename'),
    ...opt('Version', 'version'),
    date,
    dateText,
    ...(validUntil === undefined ? {} : { validUntil, validUntilText: validUntilText as string }),
    architectures: words('Architectures'),
    components: words('Components'),
    acquireByHash: (get('Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    sha256,
  };
}
