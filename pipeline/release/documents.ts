// The documents a release signs and publishes next to its artefacts, as values and as the exact
// bytes that get signed (canonical-text.ts):
//   measurements.json  the build's measurements document + `release` (version, ref, stream and the
//                      PCRs a verifier must enforce)
//   info.json          what the release contains: each artefact's store key, format, size, sha256,
//                      and (issue 12) the package provenance document and SBOM with their sha256
//   manifest.json      the build manifest, unchanged (written by `nodeimg build`)
import { NodeimgError } from '../errors.js';
import type { MeasurementsDocument, ReleaseInfo } from '../../measurements/document.js';
import { canonicalText } from './canonical-text.js';
import type { ReleaseCoordinates } from './names.js';

export const INFO_SCHEMA_ID = 'https://nodeimg.dev/schema/release-info/v1.json';

/**
 * PCRs every published document must enforce: the UKI boot chain (PCR 4: what the firmware
 * loaded; 9: kernel command line and initrd as the kernel measured them; 11: the UKI's sections).
 * A document without all of them would let a verifier accept a different kernel or command line.
 */
export const REQUIRED_ENFORCED_PCRS: readonly number[] = [4, 9, 11];

/** Which PCRs of a document a release enforces: every PCR the document predicts (origin image or image+platform). */
export function enforcedPcrs(doc: MeasurementsDocument): number[] {
  return Object.entries(doc.pcrs)
    .filter(([, p]) => p.origin !== 'platform')
    .map(([k]) => Number(k))
    .sort((a, b) => a - b);
}

/**
 * Refuses a document whose enforced set is empty or partial: a required PCR missing, or an
 * enforced PCR without an expected value in every bank the document declares. Used by release
 * (before signing) and by the verifier (after verifying the signature).
 */
export function checkEnforcedSet(doc: MeasurementsDocument, release: ReleaseInfo): void {
  const missing = REQUIRED_ENFORCED_PCRS.filter((p) => !release.enforced.includes(p));
  if (release.enforced.length === 0 || missing.length > 0)
    throw new NodeimgError(
      'VERIFY_ENFORCED_SET',
      release.enforced.length === 0
        ? 'the measurements document enforces no PCR at all: it would accept any machine'
        : `the measurements document does not enforce PCR ${missing.join(', ')} (required: ${REQUIRED_ENFORCED_PCRS.join(', ')})`,
    );
  for (const pcr of release.enforced) {
    const p = doc.pcrs[String(pcr)];
    const banks = doc.banks.filter((b) => p?.expected[b] === undefined);
    if (p === undefined || banks.length > 0)
      throw new NodeimgError(
        'VERIFY_ENFORCED_SET',
        p === undefined
          ? `PCR ${pcr} is enforced but the document has no expected value for it`
          : `PCR ${pcr} is enforced but has no expected value in the ${banks.join(', ')} bank`,
      );
  }
}

export function releaseMeasurements(doc: MeasurementsDocument, c: ReleaseCoordinates): MeasurementsDocument {
  const release: ReleaseInfo = {
    version: c.version,
    ref: c.ref,
    stream: c.stream,
    enforced: enforcedPcrs(doc),
  };
  const out = { ...doc, release };
  checkEnforcedSet(out, release);
  return out;
}

export interface ReleaseArtefact {
  /** File name in the build output (disk.raw, disk.qcow2, ...). */
  readonly name: string;
  /** Store key relative to the store prefix. */
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
}

/** A release's package documents (issue 12): packages.json and sbom.spdx.json, next to info.json. */
export interface ReleasePackagesInfo {
  /** Number of locked packages the provenance document traces. */
  readonly count: number;
  readonly provenance: ReleaseArtefact;
  readonly sbom: ReleaseArtefact;
}

export interface ReleaseInfoDocument {
  readonly $schema: typeof INFO_SCHEMA_ID;
  readonly version: string;
  readonly ref: string;
  readonly stream: string;
  /** The recipe's name. */
  readonly name: string;
  readonly artefacts: readonly ReleaseArtefact[];
  /** Absent when the release archived no package provenance (a lock without it, --no-package-archive). */
  readonly packages?: ReleasePackagesInfo;
}

export function releaseInfo(
  c: ReleaseCoordinates,
  name: string,
  artefacts: readonly ReleaseArtefact[],
  packages?: ReleasePackagesInfo,
): ReleaseInfoDocument {
  return {
    $schema: INFO_SCHEMA_ID,
    version: c.version,
    ref: c.ref,
    stream: c.stream,
    name,
    artefacts: [...artefacts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...(packages === undefined ? {} : { packages }),
  };
}

export const documentText = canonicalText;
