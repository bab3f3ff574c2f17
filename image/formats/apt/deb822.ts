// deb822 control data (deb822(5); Debian Policy §5.1): paragraphs ("stanzas") of `Name: value`
// fields separated by blank lines, a value continued on lines that start with a space or a tab.
// Release/InRelease bodies, Packages indexes and machine-readable copyright files are all deb822.
// Pure: parses bytes, keeps the absolute byte range of each stanza (so a Packages stanza can be
// quoted exactly as the signed index has it) and throws ParseError with the byte offset.
//
// The input is decoded once as windows-1252 (TextDecoder 'latin1': one UTF-16 unit per byte, so
// string offsets are byte offsets); a line holding bytes >= 0x80 is decoded again as UTF-8.
import { ParseError } from '../errors.js';

export interface Deb822Field {
  /** The name as written (field names compare case-insensitively). */
  readonly name: string;
  /** First-line value, then each continuation line (trimmed), joined with "\n". */
  readonly value: string;
  /** Absolute byte offset of the field's first line. */
  readonly offset: number;
}

export interface Deb822Stanza {
  /** Absolute byte offset of the stanza's first line. */
  readonly offset: number;
  /** Absolute byte offset just past the stanza's last line (its newline included). */
  readonly end: number;
  /** Keyed by the lower-case field name. */
  readonly fields: ReadonlyMap<string, Deb822Field>;
}

export interface Deb822Options {
  /** For messages: "Packages index", "Release file", ... */
  readonly structure?: string;
  /** Absolute offset of byte 0 of the input. */
  readonly base?: number;
  readonly maxBytes?: number;
  readonly maxStanzas?: number;
  readonly maxFieldsPerStanza?: number;
  readonly maxValueLength?: number;
  /** Keep only these fields (lower-case names); the stanza ranges are kept either way. */
  readonly keep?: ReadonlySet<string>;
  /** Skip lines starting with '#' (debian/control style); otherwise they are an error. */
  readonly comments?: boolean;
}

export const DEB822_LIMITS = {
  maxBytes: 512 * 1024 * 1024,
  maxStanzas: 1_000_000,
  maxFieldsPerStanza: 512,
  maxValueLength: 16 * 1024 * 1024,
} as const;

// Policy §5.1: a field name is US-ASCII printable except ':', not starting with '#' or '-'.
const FIELD = /^([!-9;-~][!-9;-~]*):(.*)$/;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Value of a field by case-insensitive name. */
export function deb822Field(stanza: Deb822Stanza, name: string): string | undefined {
  return stanza.fields.get(name.toLowerCase())?.value;
}

function hasHighBytes(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) >= 0x80) return true;
  return false;
}

/** Every stanza of `bytes`, in order. */
export function parseDeb822(bytes: Uint8Array, options: Deb822Options = {}): Deb822Stanza[] {
  const structure = options.structure ?? 'deb822 data';
  const base = options.base ?? 0;
  const maxBytes = options.maxBytes ?? DEB822_LIMITS.maxBytes;
  const maxStanzas = options.maxStanzas ?? DEB822_LIMITS.maxStanzas;
  const maxFields = options.maxFieldsPerStanza ?? DEB822_LIMITS.maxFieldsPerStanza;
  const maxValue = options.maxValueLength ?? DEB822_LIMITS.maxValueLength;
  const fail = (pos: number, detail: string, code: 'PARSE_INVALID' | 'PARSE_LIMIT' = 'PARSE_INVALID') => {
    throw new ParseError(code, structure, base + pos, detail);
  };
  if (bytes.length > maxBytes)
    fail(0, `${bytes.length} bytes is more than the limit of ${maxBytes}`, 'PARSE_LIMIT');
  const text = latin1.decode(bytes);
  const stanzas: Deb822Stanza[] = [];
  let fields = new Map<string, Deb822Field>();
  let start = -1;
  let last: { key: string; name: string; parts: string[]; offset: number; length: number } | undefined;
  let count = 0;
  const flushField = () => {
    if (last === undefined) return;
    if (options.keep === undefined || options.keep.has(last.key))
      fields.set(last.key, { name: last.name, value: last.parts.join('\n'), offset: base + last.offset });
    last = undefined;
  };
  const flushStanza = (end: number) => {
    flushField();
    if (start >= 0) {
      if (stanzas.length >= maxStanzas) fail(start, `more than ${maxStanzas} stanzas`, 'PARSE_LIMIT');
      stanzas.push({ offset: base + start, end: base + end, fields });
    }
    fields = new Map();
    start = -1;
    count = 0;
  };
  let pos = 0;
  const seen = new Set<string>();
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    const lineEnd = nl < 0 ? text.length : nl;
    nl = nl < 0 ? text.length : nl + 1;
    let line = text.slice(pos, lineEnd);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (hasHighBytes(line)) line = utf8.decode(bytes.subarray(pos, pos + line.length));
    if (/^[ \t]*$/.test(line)) {
      // Policy §5.1: parsers may accept lines of only spaces and tabs as separators
      flushStanza(pos);
      seen.clear();
    } else if (line.startsWith('#') && options.comments === true) {
      // a comment line (debian/control), neither a field nor a separator
    } else if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) fail(pos, 'a continuation line without a field before it');
      const l = last as NonNullable<typeof last>;
      const part = line.trim();
      l.length += part.length + 1;
      if (l.length > maxValue) fail(pos, `the value of ${l.name} is longer than ${maxValue}`, 'PARSE_LIMIT');
      l.parts.push(part);
    } else {
      const m = FIELD.exec(line);
      if (m === null || line.startsWith('#') || line.startsWith('-'))
        fail(pos, `not a field line: ${JSON.stringify(line.slice(0, 60))}`);
      const name = (m as RegExpExecArray)[1] as string;
      const key = name.toLowerCase();
      flushField();
      if (start < 0) start = pos;
      if (seen.has(key)) fail(pos, `field ${name} appears twice in one stanza`);
      seen.add(key);
      if (++count > maxFields) fail(pos, `more than ${maxFields} fields in one stanza`, 'PARSE_LIMIT');
      const first = ((m as RegExpExecArray)[2] as string).trim();
      if (first.length > maxValue)
        fail(pos, `the value of ${name} is longer than ${maxValue}`, 'PARSE_LIMIT');
      last = { key, name, parts: [first], offset: pos, length: first.length };
    }
    pos = nl;
  }
  flushStanza(text.length);
  return stanzas;
}

/** Lines of a multi-line value (the first, usually empty, line dropped when empty). */
export function deb822Lines(value: string): string[] {
  return value.split('\n').filter((l) => l !== '');
}
