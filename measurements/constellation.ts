// Export to Edgeless Constellation's ImageMeasurementsV2 format, so Constellation's verifiers can
// consume nodeimg's measurements (internal/attestation/measurements; specs/constellation.md §2).
import type { MeasurementsDocument } from './document.js';

export interface ConstellationTarget {
  readonly csp: string;
  readonly attestationVariant: string;
  readonly version: string;
  readonly ref: string;
  readonly stream: string;
}

/**
 * Which PCRs each platform enforces (the rest are warnOnly). From Constellation's per-variant policy
 * (measurements_enterprise.go at 7cb5b83b1): the image PCRs 4, 8, 9, 11, 12, 13, 15 are enforced
 * everywhere; firmware PCRs are warn-only where Constellation publishes them at all.
 */
export const ENFORCED_PCRS: Readonly<Record<string, readonly number[]>> = {
  'aws-nitro-tpm': [4, 8, 9, 11, 12, 13, 15],
  'aws-sev-snp': [4, 8, 9, 11, 12, 13, 15],
  'azure-sev-snp': [4, 8, 9, 11, 12, 13, 15],
  'azure-tdx': [4, 8, 9, 11, 12, 13, 15],
  'gcp-sev-es': [4, 8, 9, 11, 12, 13, 15],
  'gcp-sev-snp': [4, 8, 9, 11, 12, 13, 15],
  'qemu-vtpm': [4, 8, 9, 11, 12, 13, 15],
};

const ZERO_SHA256 = '0'.repeat(64);

/** ImageMeasurementsV2 JSON (Go json.Encoder layout: map keys sorted as strings, trailing newline). */
export function toConstellation(doc: MeasurementsDocument, t: ConstellationTarget): string {
  const enforced = ENFORCED_PCRS[t.attestationVariant];
  if (!enforced)
    throw new RangeError(
      `unknown attestation variant ${t.attestationVariant} (known: ${Object.keys(ENFORCED_PCRS).join(', ')})`,
    );
  const m: Record<string, { expected: string; warnOnly: boolean }> = {};
  for (const [pcr, v] of Object.entries(doc.pcrs)) {
    const expected = v.expected.sha256;
    if (expected) m[pcr] = { expected, warnOnly: !enforced.includes(Number(pcr)) };
  }
  // PCR 15 is only ever extended by userspace after boot; Constellation enforces it as zero.
  if (enforced.includes(15) && !m['15']) m['15'] = { expected: ZERO_SHA256, warnOnly: false };
  for (const pcr of enforced) {
    if (!m[String(pcr)])
      throw new RangeError(`PCR ${pcr} is enforced for ${t.attestationVariant} but was not predicted`);
  }
  // JavaScript objects put integer-like keys first in numeric order, so the Go order ("11" < "4")
  // has to be written out by hand.
  const measurements = `{${Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`)
    .join(',')}}`;
  const head = JSON.stringify({ version: t.version, ref: t.ref, stream: t.stream });
  const entry = `{"csp":${JSON.stringify(t.csp)},"attestationVariant":${JSON.stringify(t.attestationVariant)},"measurements":${measurements}}`;
  return `${head.slice(0, -1)},"list":[${entry}]}\n`;
}
