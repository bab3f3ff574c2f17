// Compares `nodeimg measure`'s prediction for a lab disk with what a real boot measured: the PCR
// values in every bank and, PCR by PCR, the event sequence of the firmware log.
import { measureFile } from '../../image/measure.js';
import { loadSecureBootPolicy } from '../../image/secure-boot-policy.js';
import { decodeEventLog } from '../../measurements/index.js';
import { diffEvents } from '../../measurements/eventlog/diff.js';
import { formatDiff } from '../../measurements/eventlog/diff-format.js';
import { expectedFromDocument, type MeasurementsDocument } from '../../measurements/document.js';
import { assertMeasurementsDocument } from '../../pipeline/schema/validate.js';

export const PREDICTED_PCRS = [4, 5, 7, 8, 9, 11, 12, 13];
export const BANKS = ['sha1', 'sha256', 'sha384'] as const;
const VARS = { off: '/usr/share/OVMF/OVMF_VARS_4M.fd', on: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd' };

export async function predictLab(disk: string, secureBoot: boolean): Promise<MeasurementsDocument> {
  const policy = await loadSecureBootPolicy(secureBoot ? VARS.on : VARS.off);
  const { document } = await measureFile(disk, { banks: BANKS, secureBoot, secureBootPolicy: policy });
  assertMeasurementsDocument(document);
  return document;
}

/** Every way the prediction departs from the boot; [] when it is exact. */
export function departures(
  doc: MeasurementsDocument,
  eventLog: Uint8Array,
  pcrs: Readonly<Record<string, readonly string[]>>,
): string[] {
  const out: string[] = [];
  for (const pcr of PREDICTED_PCRS) {
    const p = doc.pcrs[String(pcr)];
    if (!p) {
      out.push(`PCR ${pcr} was not predicted`);
      continue;
    }
    for (const bank of BANKS) {
      if (p.expected[bank] !== pcrs[bank]?.[pcr])
        out.push(`PCR ${pcr} ${bank}: predicted ${p.expected[bank]}, booted ${pcrs[bank]?.[pcr]}`);
    }
  }
  const diff = diffEvents(expectedFromDocument(doc, PREDICTED_PCRS), decodeEventLog(eventLog).events, {
    pcrs: PREDICTED_PCRS,
  });
  if (!diff.ok) out.push(formatDiff(diff));
  return out;
}
