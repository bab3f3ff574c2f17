// Release coordinates (version, ref, stream) and where a release's objects live in a store. The
// layout follows Constellation's CDN (constellation.md §3.3: `<prefix>/v2/ref/<ref>/stream/<stream>/
// <version>/image/...`) so their tooling can read ours; the version index differs on purpose:
// Constellation's version lists are unsigned and overwritten in place, ours are immutable signed
// documents with a sequence number, reached through one small pointer object (version-index.ts).
import { UsageError } from '../errors.js';

export interface ReleaseCoordinates {
  /** Canonical semver with a leading v: v1.2.3, v1.2.3-rc.1, v1.2.3+build.5. */
  readonly version: string;
  /** `-` for release builds, else a branch-like name (Constellation: `-` or e.g. `main`). */
  readonly ref: string;
  /** stable, nightly, debug, console, ... */
  readonly stream: string;
}

// semver.org 2.0.0's regular expression, with the leading v Constellation's versionsapi requires.
const SEMVER =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function checkVersion(version: string): string {
  if (!SEMVER.test(version) || version.length > 128)
    throw new UsageError(
      `version ${JSON.stringify(version)} is not canonical semver with a leading v (vX.Y.Z)`,
    );
  return version;
}

export function checkRef(ref: string): string {
  if (ref !== '-' && !NAME.test(ref))
    throw new UsageError(`ref ${JSON.stringify(ref)} must be "-" or lower-case letters, digits and "-"`);
  return ref;
}

export function checkStream(stream: string): string {
  if (!NAME.test(stream))
    throw new UsageError(`stream ${JSON.stringify(stream)} must be lower-case letters, digits and "-"`);
  return stream;
}

export function coordinates(version: string, ref = '-', stream = 'stable'): ReleaseCoordinates {
  return { version: checkVersion(version), ref: checkRef(ref), stream: checkStream(stream) };
}

/** `v2/ref/<ref>/stream/<stream>`: everything of one ref and stream. */
export function streamPrefix(c: Pick<ReleaseCoordinates, 'ref' | 'stream'>): string {
  return `v2/ref/${checkRef(c.ref)}/stream/${checkStream(c.stream)}`;
}

/** `.../<version>/image/`: the folder of one release. */
export function imagePrefix(c: ReleaseCoordinates): string {
  return `${streamPrefix(c)}/${checkVersion(c.version)}/image/`;
}

/** The signed documents of a release; each has `<name>.sigstore.json` and `<name>.sig` beside it. */
export const SIGNED_DOCUMENTS = ['manifest.json', 'measurements.json', 'info.json'] as const;
export type SignedDocument = (typeof SIGNED_DOCUMENTS)[number];

export const BUNDLE_SUFFIX = '.sigstore.json';
export const SIG_SUFFIX = '.sig';

/** Where a release's disk artefact named `name` (a file name from the build output) lives. */
export function artefactKey(c: ReleaseCoordinates, name: string): string {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(name) || name.startsWith('.'))
    throw new UsageError(`artefact name ${JSON.stringify(name)} is not a plain file name`);
  return `${imagePrefix(c)}artefacts/${name}`;
}

/** Immutable, signed version index number `sequence` of a ref/stream. */
export function versionIndexKey(c: Pick<ReleaseCoordinates, 'ref' | 'stream'>, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1)
    throw new UsageError(`version index sequence ${sequence} must be a positive integer`);
  return `${streamPrefix(c)}/versions/index-${String(sequence).padStart(12, '0')}.json`;
}

/** The one mutable object of a ref/stream: which signed index is current (compare-and-swap). */
export function versionPointerKey(c: Pick<ReleaseCoordinates, 'ref' | 'stream'>): string {
  return `${streamPrefix(c)}/versions/current.json`;
}

/** Store keys are joined under the store's own prefix by the adapter; this joins for display. */
export function describeKey(storeRef: string, key: string): string {
  return `${storeRef.replace(/\/+$/, '')}/${key}`;
}

/** Compares two canonical semver versions (semver.org §11); build metadata is ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(checkVersion(a));
  const pb = SEMVER.exec(checkVersion(b));
  if (!pa || !pb) return 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  const [xa, xb] = [pa[4], pb[4]];
  if (xa === undefined || xb === undefined) return xa === xb ? 0 : xa === undefined ? 1 : -1;
  const ia = xa.split('.');
  const ib = xb.split('.');
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const [u, v] = [ia[i], ib[i]];
    if (u === undefined) return -1;
    if (v === undefined) return 1;
    const [nu, nv] = [/^\d+$/.test(u), /^\d+$/.test(v)];
    if (nu && nv) {
      const d = Number(u) - Number(v);
      if (d !== 0) return Math.sign(d);
    } else if (nu !== nv) return nu ? -1 : 1;
    else if (u !== v) return u < v ? -1 : 1;
  }
  return 0;
}
