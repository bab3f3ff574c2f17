// Machine-readable debian/copyright files (DEP-5, "copyright-format 1.0",
// https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/): a header stanza with
// Format, then Files stanzas and stand-alone License stanzas. What an SBOM needs from it: the
// licence short names the Files stanzas (and the header) declare, i.e. the first line of each
// License field. A file whose first stanza has no DEP-5 Format URL is not machine-readable, and
// nothing is claimed about it. Pure.
import { NodeimgError } from '../errors.js';
import { deb822Field, parseDeb822 } from './deb822.js';

export interface DebianCopyright {
  readonly machineReadable: boolean;
  /** Distinct License short-name expressions of the header and Files stanzas, sorted. */
  readonly licences: readonly string[];
  /** Stand-alone License stanzas: short name -> licence text (for extracted licensing info). */
  readonly texts: ReadonlyMap<string, string>;
}

// Format URLs seen in the archive: the final 1.0 URL (http or https, with or without the trailing
// slash) and the DEP-5 drafts' URLs.
const FORMAT =
  /^(?:https?:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/?|https?:\/\/dep\.debian\.net\/deps\/dep5\/?(?:\?.*)?|https?:\/\/svn\.debian\.org\/wsvn\/dep\/web\/deps\/dep5\.mdwn.*)$/;

const NOT_MACHINE_READABLE: DebianCopyright = { machineReadable: false, licences: [], texts: new Map() };

export function parseDebianCopyright(bytes: Uint8Array): DebianCopyright {
  let stanzas;
  try {
    stanzas = parseDeb822(bytes, {
      structure: 'debian/copyright',
      comments: true,
      maxBytes: 8 * 1024 * 1024,
      maxStanzas: 100_000,
    });
  } catch (err) {
    if (err instanceof NodeimgError) return NOT_MACHINE_READABLE; // free-form text
    throw err;
  }
  const header = stanzas[0];
  const format = header === undefined ? undefined : deb822Field(header, 'Format');
  if (format === undefined || !FORMAT.test(format.trim())) return NOT_MACHINE_READABLE;
  const licences = new Set<string>();
  const texts = new Map<string, string>();
  stanzas.forEach((st, i) => {
    const licence = deb822Field(st, 'License');
    if (licence === undefined) return;
    const [first = '', ...rest] = licence.split('\n');
    const name = first.trim().replace(/\s+/g, ' ');
    if (name === '') return;
    if (i === 0 || deb822Field(st, 'Files') !== undefined) licences.add(name);
    else if (rest.length > 0 && !texts.has(name))
      texts.set(name, rest.map((l) => (l === '.' ? '' : l)).join('\n'));
  });
  return { machineReadable: true, licences: [...licences].sort(), texts };
}
