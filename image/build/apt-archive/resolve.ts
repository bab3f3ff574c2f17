// Resolving a recipe's package names against authenticated suites (suite.ts): `name` takes the
// highest version (Debian order, version.ts) offered for the architecture (or "all") by any of the
// suites, as apt does with equal pin priorities (bookworm + bookworm-security: the security update
// wins); `name=version` takes exactly that version. A linux-image-<flavour> metapackage resolves to
// the linux-image-<abi>-<flavour> package that holds the kernel, at the version it depends on
// (image/build/stages/apt.ts kernelPackageOf). Pure apart from its inputs; no network.
//
// Every result carries its provenance: the suite whose signed InRelease (sha256, Date) lists the
// Packages index (path, sha256) that holds the stanza (exact text) that names the .deb (size,
// sha256). That is what the lock records and the release archives.
import { compareDebianVersions } from '../../formats/apt/version.js';
import { stanzaText, type PackageStanza } from '../../formats/apt/packages.js';
import { NodeimgError } from '../../formats/errors.js';
import { kernelPackageOf } from '../stages/apt.js';
import { ProvenanceError } from './errors.js';
import type { AuthenticatedIndex, AuthenticatedSuite } from './suite.js';

export interface ResolvedPackage {
  /** The name the recipe asked for (linux-image-amd64 for linux-image-6.1.0-56-amd64). */
  readonly requested: string;
  readonly stanza: PackageStanza;
  readonly suite: AuthenticatedSuite;
  readonly index: AuthenticatedIndex;
  /** Where the mirror serves the .deb. */
  readonly url: string;
}

/** What the lock records of where a package comes from (next to name, version, sha256, ...). */
export interface LockedRelease {
  readonly suite: string;
  /** sha256 of the InRelease file that vouches for the package. */
  readonly inRelease: string;
  /** The Release's Date, ISO 8601 UTC. */
  readonly date: string;
}

/** A locked package with its provenance (the lock's package entry plus `release`). */
export interface PackageProvenance {
  readonly requested?: string;
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  readonly size: number;
  readonly filename: string;
  readonly url: string;
  readonly section: string;
  readonly priority: string;
  readonly release: LockedRelease;
}

interface Candidate {
  readonly stanza: PackageStanza;
  readonly suite: AuthenticatedSuite;
  readonly index: AuthenticatedIndex;
}

function candidates(suites: readonly AuthenticatedSuite[], name: string): Candidate[] {
  const out: Candidate[] = [];
  for (const suite of suites)
    for (const index of suite.indexes)
      for (const stanza of index.stanzas)
        if (
          stanza.package === name &&
          (stanza.architecture === suite.architecture || stanza.architecture === 'all')
        )
          out.push({ stanza, suite, index });
  return out;
}

function pick(all: Candidate[], name: string, version: string | undefined, spec: string): Candidate {
  const matching = version === undefined ? all : all.filter((c) => c.stanza.version === version);
  if (matching.length === 0) {
    const offered = [...new Set(all.map((c) => c.stanza.version))].sort(compareDebianVersions);
    throw new NodeimgError(
      'IO_NOT_FOUND',
      offered.length === 0
        ? `no authenticated suite offers a package ${name}`
        : `no authenticated suite offers ${spec}; they offer ${name} ${offered.join(', ')}`,
      { hint: 'check the package name, the suites and the architecture' },
    );
  }
  // highest version first; the first suite listed wins a tie (stable sort)
  return [...matching].sort((a, b) =>
    compareDebianVersions(b.stanza.version, a.stanza.version),
  )[0] as Candidate;
}

/** Resolves `name` / `name=version` specs to exact, authenticated packages. */
export function resolvePackages(
  suites: readonly AuthenticatedSuite[],
  specs: readonly string[],
): ResolvedPackage[] {
  const out: ResolvedPackage[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const version = eq < 0 ? undefined : spec.slice(eq + 1);
    let c = pick(candidates(suites, name), name, version, spec);
    const depends = c.stanza.depends;
    const kernel = kernelPackageOf(
      new Map([
        ['Package', c.stanza.package],
        ...(depends === undefined ? [] : [['Depends', depends] as [string, string]]),
      ]),
    );
    if (kernel !== undefined)
      c = pick(
        candidates(suites, kernel.name),
        kernel.name,
        kernel.version,
        kernel.version ? `${kernel.name}=${kernel.version}` : kernel.name,
      );
    out.push({
      requested: name,
      stanza: c.stanza,
      suite: c.suite,
      index: c.index,
      url: `${c.suite.mirror}/${c.stanza.filename.split('/').map(encodeURIComponent).join('/')}`,
    });
  }
  return out;
}

function required(value: string | undefined, field: string, s: PackageStanza): string {
  if (value === undefined || value === '')
    throw new NodeimgError(
      'PARSE_INVALID',
      `${s.package}=${s.version}: its Packages stanza has no ${field} (a flat rebuild repository needs the archive's value)`,
    );
  return value;
}

/** The lock entry of a resolved package, with the Release that vouches for it. Pure. */
export function provenanceOf(r: ResolvedPackage): PackageProvenance {
  const s = r.stanza;
  return {
    requested: r.requested,
    name: s.package,
    version: s.version,
    architecture: s.architecture,
    sha256: s.sha256,
    size: s.size,
    filename: s.filename,
    url: r.url,
    section: required(s.section, 'Section', s),
    priority: required(s.priority, 'Priority', s),
    release: {
      suite: r.suite.suite,
      inRelease: r.suite.inRelease.sha256,
      date: new Date(r.suite.release.date).toISOString(),
    },
  };
}

/** The exact text of the package's stanza in its signed index ("Packages snippet"). */
export function stanzaOf(r: Pick<ResolvedPackage, 'stanza' | 'index'>): string {
  return stanzaText(r.index.packages, r.stanza);
}

/**
 * The authenticated stanza of a package already pinned elsewhere (e.g. the root file system's
 * dependency closure that mmdebstrap resolved): same name, version and architecture in one of the
 * suites, and the same sha256 and size, else PROVENANCE_INDEX_MISMATCH / PROVENANCE_DEB_MISMATCH.
 */
export function locatePackage(
  suites: readonly AuthenticatedSuite[],
  p: {
    readonly name: string;
    readonly version: string;
    readonly architecture: string;
    readonly sha256: string;
    readonly size: number;
  },
  requested?: string,
): ResolvedPackage {
  const label = `${p.name}=${p.version} (${p.architecture})`;
  const all = candidates(suites, p.name).filter(
    (c) => c.stanza.version === p.version && c.stanza.architecture === p.architecture,
  );
  if (all.length === 0)
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      label,
      `no authenticated suite (${suites.map((s) => s.suite).join(', ')}) lists it`,
    );
  const c = all.find((x) => x.stanza.sha256 === p.sha256 && x.stanza.size === p.size);
  if (c === undefined) {
    const s = (all[0] as Candidate).stanza;
    throw new ProvenanceError(
      'PROVENANCE_DEB_MISMATCH',
      label,
      `pinned as ${p.size} bytes with sha256 ${p.sha256}; the signed index lists ${s.size} bytes with sha256 ${s.sha256}`,
    );
  }
  return {
    requested: requested ?? p.name,
    stanza: c.stanza,
    suite: c.suite,
    index: c.index,
    url: `${c.suite.mirror}/${c.stanza.filename.split('/').map(encodeURIComponent).join('/')}`,
  };
}
