// Authenticating one suite of a Debian mirror, the way apt does before it trusts an index
// (apt-pkg/acquire-item.cc, methods/gpgv.cc), so that `nodeimg lock` only ever pins packages a
// signed chain vouches for:
//   1. fetch dists/<suite>/InRelease;
//   2. gpgv against the distribution keyring (gpgv.ts): PROVENANCE_SIGNATURE unless a trusted key
//      signed exactly the text that is parsed;
//   3. parse the Release; it must be the suite asked for (Suite or Codename) and list the
//      architecture and components (PROVENANCE_INDEX_MISMATCH);
//   4. Date not in the future, Valid-Until not passed, optionally not older than maxAgeSeconds,
//      judged against the injected clock (PROVENANCE_EXPIRED);
//   5. for each component, the Packages index checked against the Release's sha256 and size
//      (index-file.ts; PROVENANCE_INDEX_MISMATCH), then parsed.
// Each .deb is later checked against its Packages entry (deb.ts). The InRelease and index bytes are
// kept (and, with metaDir, cached by sha256) so that the release can archive them and anyone can
// re-check the chain offline (pipeline/packages/provenance.ts).
import type { Clock } from '../../../pipeline/ports.js';
import { parsePackages, type PackageStanza } from '../../formats/apt/packages.js';
import { parseRelease, type ReleaseInfo } from '../../formats/apt/release.js';
import type { GpgSignature } from '../../formats/apt/gpg-status.js';
import { ProvenanceError } from './errors.js';
import { putMeta, sha256Hex } from './files.js';
import { verifyClearsigned, type Keyring } from './gpgv.js';
import { fetchAtMost, type Fetch, type HttpOptions } from './http.js';
import { fetchIndex } from './index-file.js';
import { NodeimgError } from '../../formats/errors.js';

const MAX_INRELEASE = 16 * 1024 * 1024;

export interface SuiteRequest {
  /** Mirror root, e.g. http://deb.debian.org/debian (dists/ and pool/ are below it). */
  readonly mirror: string;
  readonly suite: string;
  /** Default ["main"]. */
  readonly components?: readonly string[];
  readonly architecture: string;
  readonly keyring: Keyring;
  /** Primary-key fingerprints allowed to sign (default: every key of the keyring). */
  readonly trustedFingerprints?: readonly string[];
  readonly clock: Clock;
  /** Refuse a Release whose Date is older than this many seconds (apt's Max-ValidTime). */
  readonly maxAgeSeconds?: number;
  /** Keep the InRelease and index files here by sha256 (files.ts metaPath). */
  readonly metaDir?: string;
  readonly fetch?: Fetch;
  readonly signal?: AbortSignal;
}

export interface AuthenticatedIndex {
  readonly component: string;
  /** Path relative to dists/<suite>/ as the Release lists it, e.g. main/binary-amd64/Packages.xz. */
  readonly path: string;
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
  /** As fetched (what the Release's digest covers). */
  readonly raw: Uint8Array;
  /** Decompressed. */
  readonly packages: Uint8Array;
  readonly stanzas: readonly PackageStanza[];
}

export interface AuthenticatedSuite {
  readonly mirror: string;
  readonly suite: string;
  readonly architecture: string;
  readonly inRelease: { readonly bytes: Uint8Array; readonly sha256: string; readonly url: string };
  readonly release: ReleaseInfo;
  readonly signers: readonly GpgSignature[];
  readonly indexes: readonly AuthenticatedIndex[];
}

/** Mirror root without a trailing slash. Pure. */
export function mirrorRoot(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    throw new NodeimgError('USAGE', `mirror ${JSON.stringify(mirror)} is not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol) || url.search || url.hash || url.username)
    throw new NodeimgError(
      'USAGE',
      `mirror ${mirror}: only http(s):// or file:// URLs without query or credentials`,
    );
  return url.href.replace(/\/+$/, '');
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Throws PROVENANCE_EXPIRED unless `now` is inside the Release's validity window. Pure. */
export function checkValidity(
  release: ReleaseInfo,
  now: number,
  subject: string,
  maxAgeSeconds?: number,
): void {
  if (release.date > now)
    throw new ProvenanceError(
      'PROVENANCE_EXPIRED',
      subject,
      `the Release is dated ${release.dateText}, in the future (now ${iso(now)}): not valid yet`,
      {
        hint: "check this machine's clock",
      },
    );
  if (release.validUntil !== undefined && release.validUntil < now)
    throw new ProvenanceError(
      'PROVENANCE_EXPIRED',
      subject,
      `the Release expired at ${release.validUntilText ?? iso(release.validUntil)} (now ${iso(now)})`,
      { hint: 'the mirror serves a stale (or replayed) Release: use an up-to-date mirror' },
    );
  if (maxAgeSeconds !== undefined && release.date + maxAgeSeconds * 1000 < now)
    throw new ProvenanceError(
      'PROVENANCE_EXPIRED',
      subject,
      `the Release is dated ${release.dateText}, older than the allowed ${maxAgeSeconds} s`,
      { hint: 'the mirror may be stale' },
    );
}

/** Throws PROVENANCE_INDEX_MISMATCH unless the Release is the suite/architecture/components asked. Pure. */
export function checkReleaseMatches(
  release: ReleaseInfo,
  suite: string,
  architecture: string,
  components: readonly string[],
  subject: string,
): void {
  if (release.suite !== suite && release.codename !== suite)
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      subject,
      `the signed Release is for suite ${release.suite ?? '?'} (codename ${release.codename ?? '?'}), not ${suite}`,
      { hint: 'a Release of another suite was served in its place' },
    );
  if (release.architectures.length > 0 && !release.architectures.includes(architecture))
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      subject,
      `the signed Release has no architecture ${architecture} (it has ${release.architectures.join(', ')})`,
    );
  for (const c of components)
    if (
      release.components.length > 0 &&
      !release.components.includes(c) &&
      !release.components.some((x) => x.endsWith(`/${c}`))
    )
      throw new ProvenanceError(
        'PROVENANCE_INDEX_MISMATCH',
        subject,
        `the signed Release has no component ${c} (it has ${release.components.join(', ')})`,
      );
}

export async function authenticateSuite(req: SuiteRequest): Promise<AuthenticatedSuite> {
  const root = mirrorRoot(req.mirror);
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(req.suite) || req.suite.includes('..'))
    throw new NodeimgError('USAGE', `suite ${JSON.stringify(req.suite)} is not a suite name`);
  const components = req.components ?? ['main'];
  const http: HttpOptions = {
    ...(req.fetch === undefined ? {} : { fetch: req.fetch }),
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  };
  const distsUrl = `${root}/dists/${req.suite}/`;
  const url = `${distsUrl}InRelease`;
  const bytes = await fetchAtMost(url, MAX_INRELEASE, http);
  if (bytes === undefined)
    throw new NodeimgError('IO_NOT_FOUND', `${url}: the mirror has no InRelease for suite ${req.suite}`, {
      hint: 'check the mirror URL and the suite name (nodeimg needs the signed InRelease, not Release + Release.gpg)',
    });
  if (bytes.length > MAX_INRELEASE)
    throw new NodeimgError('PARSE_LIMIT', `${url}: larger than ${MAX_INRELEASE} bytes`);
  const verified = await verifyClearsigned(bytes, req.keyring, url, req.trustedFingerprints);
  const release = parseRelease(verified.text);
  checkReleaseMatches(release, req.suite, req.architecture, components, url);
  checkValidity(release, req.clock.now(), url, req.maxAgeSeconds);
  if (req.metaDir !== undefined) await putMeta(req.metaDir, bytes);
  const indexes: AuthenticatedIndex[] = [];
  for (const component of components) {
    const f = await fetchIndex(distsUrl, release, component, req.architecture, http);
    const stanzas = parsePackages(f.packages, 0, `${f.url} (decompressed)`);
    if (req.metaDir !== undefined) await putMeta(req.metaDir, f.raw);
    indexes.push({
      component,
      path: f.entry.path,
      url: f.url,
      size: f.entry.size,
      sha256: f.entry.sha256,
      raw: f.raw,
      packages: f.packages,
      stanzas,
    });
  }
  return {
    mirror: root,
    suite: req.suite,
    architecture: req.architecture,
    inRelease: { bytes, sha256: sha256Hex(bytes), url },
    release,
    signers: verified.signers,
    indexes,
  };
}
