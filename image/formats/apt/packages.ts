// A binary Packages index (Debian wiki "DebianRepository/Format" §Packages Indices): one deb822
// stanza per .deb, with the fields a lock needs: Package, Version, Architecture, Filename (pool
// path), Size and SHA256 of the .deb, and the archive's Section and Priority (its overrides, which a
// flat rebuild repository needs: reproducible-build.md §2). Pure.
//
// A stanza without SHA256 is refused (it cannot authenticate its .deb), as is a Filename that could
// leave the mirror (absolute, "..", "."), since the URL of the download is built from it.
import { ParseError } from '../errors.js';
import { parseDeb822, type Deb822Stanza } from './deb822.js';

export interface PackageStanza {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  /** Pool path relative to the mirror root, e.g. pool/main/a/adduser/adduser_3.134_all.deb. */
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  readonly section?: string;
  readonly priority?: string;
  readonly source?: string;
  readonly depends?: string;
  readonly preDepends?: string;
  readonly multiArch?: string;
  readonly essential?: boolean;
  /** Absolute byte range of the stanza in the index (what provenance quotes). */
  readonly offset: number;
  readonly end: number;
}

// Debian Policy §5.6.1 (package names) and §5.6.12 (versions).
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
export const PACKAGE_VERSION = /^(?:\d+:)?[A-Za-z0-9][A-Za-z0-9.+~-]*(?::[A-Za-z0-9.+~-]+)*$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;

const KEEP = new Set([
  'package',
  'version',
  'architecture',
  'filename',
  'size',
  'sha256',
  'section',
  'priority',
  'source',
  'depends',
  'pre-depends',
  'multi-arch',
  'essential',
]);

/** Whether a pool path stays inside the mirror. Pure. */
export function isSafePoolPath(path: string): boolean {
  return (
    path.length > 0 &&
    path.length <= 4096 &&
    !path.startsWith('/') &&
    !/[\s\\?#%]/.test(path) &&
    path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

function stanzaOf(st: Deb822Stanza, structure: string): PackageStanza {
  const req = (name: string): string => {
    const v = st.fields.get(name.toLowerCase())?.value;
    if (v === undefined || v === '')
      throw new ParseError('PARSE_INVALID', structure, st.offset, `a stanza without ${name}`);
    return v;
  };
  const at = (name: string) => st.fields.get(name)?.offset ?? st.offset;
  const bad = (name: string, what: string): never => {
    throw new ParseError('PARSE_INVALID', structure, at(name), what);
  };
  const pkg = req('Package');
  if (!PACKAGE_NAME.test(pkg)) bad('package', `package name ${JSON.stringify(pkg.slice(0, 80))}`);
  const version = req('Version');
  if (!PACKAGE_VERSION.test(version))
    bad('version', `${pkg}: version ${JSON.stringify(version.slice(0, 80))}`);
  const architecture = req('Architecture');
  if (!ARCH.test(architecture)) bad('architecture', `${pkg}: architecture ${JSON.stringify(architecture)}`);
  const filename = req('Filename');
  if (!isSafePoolPath(filename))
    bad('filename', `${pkg}: Filename ${JSON.stringify(filename.slice(0, 120))} leaves the mirror`);
  const sizeText = req('Size');
  const size = /^\d{1,15}$/.test(sizeText) ? Number(sizeText) : -1;
  if (size < 0) bad('size', `${pkg}: Size ${JSON.stringify(sizeText.slice(0, 40))}`);
  const sha256 = req('SHA256').toLowerCase();
  if (!SHA256.test(sha256)) bad('sha256', `${pkg}: SHA256 is not 64 hex digits`);
  const opt = (name: string, key: keyof PackageStanza) => {
    const v = st.fields.get(name)?.value;
    return v === undefined ? {} : { [key]: v };
  };
  const essential = st.fields.get('essential')?.value;
  return {
    package: pkg,
    version,
    architecture,
    filename,
    size,
    sha256,
    ...opt('section', 'section'),
    ...opt('priority', 'priority'),
    ...opt('source', 'source'),
    ...opt('depends', 'depends'),
    ...opt('pre-depends', 'preDepends'),
    ...opt('multi-arch', 'multiArch'),
    ...(essential === undefined ? {} : { essential: essential.toLowerCase() === 'yes' }),
    offset: st.offset,
    end: st.end,
  };
}

/** Every stanza of an uncompressed Packages index. */
export function parsePackages(bytes: Uint8Array, base = 0, structure = 'Packages index'): PackageStanza[] {
  return parseDeb822(bytes, { structure, base, keep: KEEP, maxStanzas: 500_000 }).map((st) =>
    stanzaOf(st, structure),
  );
}

/** The stanza's text exactly as the index has it (the "Packages snippet"), without the blank line. */
export function stanzaText(
  index: Uint8Array,
  stanza: Pick<PackageStanza, 'offset' | 'end'>,
  base = 0,
): string {
  return new TextDecoder('utf-8').decode(index.subarray(stanza.offset - base, stanza.end - base));
}
