// The provenance of a release's packages, traced through the signed chain and written down so that
// anyone can re-check it offline (issue 12):
//
//   keyring --gpgv--> InRelease --sha256/size--> Packages index --stanza--> .deb (sha256/size)
//
// traceProvenance takes the locked packages (each naming the sha256 of the InRelease that vouched
// for it) and a source of the InRelease and index bytes (the lock's metadata cache, or a release
// store), checks every link again, and returns the provenance document (packages.json): per
// InRelease its suite, Date, signers and the indexes used; per package its lock fields, the index
// that lists it and the exact text of its Packages stanza. The document is a pure function of the
// locked packages and those bytes, so verifyPackageArchive re-derives it from what the store holds
// and requires the same text. Any broken link throws its PROVENANCE_* code.
import { decompressIndex } from '../../image/build/apt-archive/index-file.js';
import { ProvenanceError } from '../../image/build/apt-archive/errors.js';
import { sha256Hex } from '../../image/build/apt-archive/files.js';
import { verifyClearsigned, type Keyring } from '../../image/build/apt-archive/gpgv.js';
import type { PackageProvenance } from '../../image/build/apt-archive/resolve.js';
import { parsePackages, stanzaText, type PackageStanza } from '../../image/formats/apt/packages.js';
import { parseRelease, type ReleaseFileEntry } from '../../image/formats/apt/release.js';
import { NodeimgError } from '../errors.js';
import { canonicalText } from '../release/canonical-text.js';
import { assertValid } from '../schema/validate.js';
import provenanceSchema from '../schema/package-provenance.schema.json' with { type: 'json' };
import { debKey, indexKey, inReleaseKey } from './keys.js';

/** The lock fields provenance needs (a lock entry with `release`, or a provenance document entry). */
export type TracedPackage = Pick<
  PackageProvenance,
  'name' | 'version' | 'architecture' | 'sha256' | 'size' | 'filename' | 'section' | 'priority' | 'release'
>;

/** Where the InRelease and index bytes come from; undefined when the source lacks them. */
export type MetaSource = (kind: 'inrelease' | 'index', sha256: string) => Promise<Uint8Array | undefined>;

export interface ProvenanceIndex {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly key: string;
}

export interface ProvenanceRelease {
  readonly inRelease: { readonly sha256: string; readonly size: number; readonly key: string };
  readonly suite: string;
  readonly origin?: string;
  readonly codename?: string;
  readonly date: string;
  readonly validUntil?: string;
  /** Primary-key fingerprints of the trusted signatures. */
  readonly signers: readonly string[];
  readonly indexes: readonly ProvenanceIndex[];
}

export interface ProvenancePackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  readonly size: number;
  readonly filename: string;
  readonly section: string;
  readonly priority: string;
  readonly key: string;
  readonly release: PackageProvenance['release'];
  /** Path of the index (relative to dists/<suite>/) whose stanza names the .deb. */
  readonly index: string;
  /** That stanza, exactly as the signed index has it. */
  readonly stanza: string;
}

export interface ProvenanceDocument {
  readonly provenance: 1;
  readonly architecture: string;
  readonly releases: readonly ProvenanceRelease[];
  readonly packages: readonly ProvenancePackage[];
}

export interface TracedProvenance {
  readonly document: ProvenanceDocument;
  /** Canonical text (what is signed and published). */
  readonly text: string;
  /** The InRelease and index files the document names, for archiving. */
  readonly files: readonly {
    readonly kind: 'inrelease' | 'index';
    readonly sha256: string;
    readonly bytes: Uint8Array;
  }[];
}

export interface TraceOptions {
  readonly keyring: Keyring;
  readonly trustedFingerprints?: readonly string[];
  /** The lock's architecture (which binary-<arch> indexes to read). */
  readonly architecture: string;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const iso = (ms: number) => new Date(ms).toISOString();

async function need(
  source: MetaSource,
  kind: 'inrelease' | 'index',
  sha256: string,
  why: string,
): Promise<Uint8Array> {
  const bytes = await source(kind, sha256);
  if (bytes === undefined)
    throw new NodeimgError(
      'IO_NOT_FOUND',
      `the ${kind === 'inrelease' ? 'InRelease' : 'Packages index'} with sha256 ${sha256} (${why}) is not available`,
      {
        hint: 'the lock metadata cache (or the release store) lacks it: run `nodeimg lock` again on a machine that reaches the mirror',
      },
    );
  if (sha256Hex(bytes) !== sha256)
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      `${kind} ${sha256}`,
      'the stored bytes do not have this sha256',
    );
  return bytes;
}

interface LoadedIndex {
  readonly entry: ReleaseFileEntry;
  readonly bytes: Uint8Array;
  readonly packages: Uint8Array;
  readonly byId: ReadonlyMap<string, PackageStanza>;
}

const idOf = (name: string, version: string, arch: string) => `${name}\u0000${version}\u0000${arch}`;

export async function traceProvenance(
  packages: readonly TracedPackage[],
  source: MetaSource,
  opts: TraceOptions,
): Promise<TracedProvenance> {
  const groups = new Map<string, TracedPackage[]>();
  for (const p of packages) {
    const g = groups.get(p.release.inRelease) ?? [];
    g.push(p);
    groups.set(p.release.inRelease, g);
  }
  const releases: ProvenanceRelease[] = [];
  const out: ProvenancePackage[] = [];
  const files: { kind: 'inrelease' | 'index'; sha256: string; bytes: Uint8Array }[] = [];
  const indexPath = new RegExp(
    `^(?:[A-Za-z0-9._-]+/)+binary-${opts.architecture.replace(/[^a-z0-9-]/g, '')}/Packages(?:\\.xz|\\.gz)?$`,
  );
  for (const [sha, group] of [...groups].sort((a, b) => cmp(a[0], b[0]))) {
    const first = group[0] as TracedPackage;
    const subject = `InRelease ${sha} (${first.release.suite})`;
    const bytes = await need(source, 'inrelease', sha, `suite ${first.release.suite}`);
    const verified = await verifyClearsigned(bytes, opts.keyring, subject, opts.trustedFingerprints);
    const release = parseRelease(verified.text);
    files.push({ kind: 'inrelease', sha256: sha, bytes });
    for (const p of group) {
      if (release.suite !== p.release.suite && release.codename !== p.release.suite)
        throw new ProvenanceError(
          'PROVENANCE_INDEX_MISMATCH',
          `${p.name}=${p.version}`,
          `locked from suite ${p.release.suite}, but ${subject} is suite ${release.suite ?? '?'} (codename ${release.codename ?? '?'})`,
        );
      if (iso(release.date) !== p.release.date)
        throw new ProvenanceError(
          'PROVENANCE_INDEX_MISMATCH',
          `${p.name}=${p.version}`,
          `locked with a Release dated ${p.release.date}, but ${subject} is dated ${iso(release.date)}`,
        );
    }
    // the indexes of this Release that the source holds (the lock fetched one variant per component)
    const loaded: LoadedIndex[] = [];
    for (const entry of [...release.sha256.values()]
      .filter((e) => indexPath.test(e.path))
      .sort((a, b) => cmp(a.path, b.path))) {
      const raw = await source('index', entry.sha256);
      if (raw === undefined) continue;
      if (raw.length !== entry.size || sha256Hex(raw) !== entry.sha256)
        throw new ProvenanceError(
          'PROVENANCE_INDEX_MISMATCH',
          `${subject} ${entry.path}`,
          'the stored index does not match the signed Release',
        );
      const plain = await decompressIndex(raw, entry.path);
      const byId = new Map<string, PackageStanza>();
      for (const s of parsePackages(plain, 0, `${entry.path} of ${subject}`))
        byId.set(idOf(s.package, s.version, s.architecture), s);
      loaded.push({ entry, bytes: raw, packages: plain, byId });
    }
    const used = new Map<string, LoadedIndex>();
    for (const p of group) {
      const label = `${p.name}=${p.version} (${p.architecture})`;
      const hit = loaded
        .map((l) => ({ l, s: l.byId.get(idOf(p.name, p.version, p.architecture)) }))
        .find((x) => x.s !== undefined);
      if (hit === undefined || hit.s === undefined)
        throw new ProvenanceError(
          'PROVENANCE_INDEX_MISMATCH',
          label,
          loaded.length === 0
            ? `no Packages index of ${subject} is available to vouch for it`
            : `not listed in the signed index${loaded.length > 1 ? 'es' : ''} ${loaded.map((l) => l.entry.path).join(', ')} of ${subject}`,
        );
      const s = hit.s;
      if (s.sha256 !== p.sha256 || s.size !== p.size || s.filename !== p.filename)
        throw new ProvenanceError(
          'PROVENANCE_DEB_MISMATCH',
          label,
          `the lock names ${p.filename} (${p.size} bytes, sha256 ${p.sha256}); the signed index names ${s.filename} (${s.size} bytes, sha256 ${s.sha256})`,
        );
      if ((s.section ?? '') !== p.section || (s.priority ?? '') !== p.priority)
        throw new ProvenanceError(
          'PROVENANCE_INDEX_MISMATCH',
          label,
          `the lock has Section ${p.section} / Priority ${p.priority}; the signed index has ${s.section ?? '-'} / ${s.priority ?? '-'}`,
        );
      used.set(hit.l.entry.path, hit.l);
      out.push({
        name: p.name,
        version: p.version,
        architecture: p.architecture,
        sha256: p.sha256,
        size: p.size,
        filename: p.filename,
        section: p.section,
        priority: p.priority,
        key: debKey(p.sha256),
        release: { suite: p.release.suite, inRelease: p.release.inRelease, date: p.release.date },
        index: hit.l.entry.path,
        stanza: stanzaText(hit.l.packages, s),
      });
    }
    const indexes = [...used.values()].sort((a, b) => cmp(a.entry.path, b.entry.path));
    for (const l of indexes) files.push({ kind: 'index', sha256: l.entry.sha256, bytes: l.bytes });
    releases.push({
      inRelease: { sha256: sha, size: bytes.length, key: inReleaseKey(sha) },
      suite: first.release.suite,
      ...(release.origin === undefined ? {} : { origin: release.origin }),
      ...(release.codename === undefined ? {} : { codename: release.codename }),
      date: iso(release.date),
      ...(release.validUntil === undefined ? {} : { validUntil: iso(release.validUntil) }),
      signers: [...new Set(verified.signers.map((s) => s.primaryFingerprint ?? ''))]
        .filter((f) => f !== '')
        .sort(),
      indexes: indexes.map((l) => ({
        path: l.entry.path,
        sha256: l.entry.sha256,
        size: l.entry.size,
        key: indexKey(l.entry.sha256),
      })),
    });
  }
  out.sort((a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture) || cmp(a.version, b.version));
  const document: ProvenanceDocument = {
    provenance: 1,
    architecture: opts.architecture,
    releases,
    packages: out,
  };
  assertValid('package provenance document', provenanceSchema, document);
  return { document, text: canonicalText(document), files };
}

/** Parses and schema-checks a provenance document's text. */
export function parseProvenanceDocument(text: string): ProvenanceDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new NodeimgError(
      'PARSE_INVALID',
      `the package provenance document is not JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
  assertValid('package provenance document', provenanceSchema, doc);
  return doc as ProvenanceDocument;
}
