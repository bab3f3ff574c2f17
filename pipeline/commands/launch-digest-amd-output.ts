// Output of `nodeimg launch-digest` for the AMD modes: the digest line(s) as sev-snp-measure prints
// them, the JSON document (schema: pipeline/schema/launch-digest.schema.json), and the --report
// comparison with an attestation report's MEASUREMENT.
import type { CommandIo } from '../command.js';
import { UsageError } from '../errors.js';
import { toHex } from '../../image/formats/reader.js';
import type { AmdSevMode } from '../../measurements/cvm/snp/index.js';
import { LAUNCH_DIGEST_SCHEMA_ID } from '../schema/cvm.js';
import type { AmdRun } from './launch-digest-amd.js';
import { loadSnpReport } from './snp-report.js';

/** sev-snp-measure's `--verbose` names (sev_mode.py SevMode). */
const MODE_NAMES: Record<AmdSevMode | 'snp:ovmf-hash', string> = {
  snp: 'SEV_SNP',
  'snp:svsm': 'SEV_SNP_SVSM',
  'snp:ovmf-hash': 'SEV_SNP',
  seves: 'SEV_ES',
  sev: 'SEV',
};

function fmt(d: Uint8Array, format: 'hex' | 'base64'): string {
  return format === 'hex' ? toHex(d) : Buffer.from(d).toString('base64');
}

const hx = (n: number): string => `0x${n.toString(16)}`;

export function amdDocument(
  run: AmdRun,
  report: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const r = run.result;
  const opt = (d: Uint8Array | undefined) => (d ? toHex(d) : null);
  const k = run.kernel;
  return {
    $schema: LAUNCH_DIGEST_SCHEMA_ID,
    mode: run.mode,
    hash: r.hash,
    parameters: {
      firmware: { ...run.firmware, gpa: hx(run.firmware.gpa) },
      vcpus: run.vcpus,
      vmmType: run.vmmType,
      vcpuSig: run.vcpuSig.sig === undefined ? null : hx(run.vcpuSig.sig),
      vcpuType: run.vcpuSig.vcpuType ?? null,
      guestFeatures: run.guestFeatures === null ? null : hx(run.guestFeatures),
      kernel: k
        ? {
            path: k.path,
            initrd: k.initrd,
            append: k.append,
            kernelSha256: toHex(k.hashes.kernel),
            initrdSha256: toHex(k.hashes.initrd),
            cmdlineSha256: toHex(k.hashes.cmdline),
          }
        : null,
      svsm: run.svsm,
      ovmfHashSeed: run.ovmfHashSeed,
    },
    intermediate: {
      ovmfHash: opt(r.ovmfHash),
      sevHashTable: opt(r.sevHashTable),
      vmsaBspSha384: opt(r.vmsaBspSha384),
      vmsaApSha384: opt(r.vmsaApSha384),
      pages: r.pages ? r.pages.map((p) => ({ type: p.type, gpa: hx(p.gpa), pages: p.pages })) : null,
    },
    digests:
      run.mode === 'snp:ovmf-hash'
        ? [{ vcpus: null, digest: opt(r.ovmfHash) }]
        : r.digests.map((d) => ({ vcpus: d.vcpus, digest: toHex(d.digest) })),
    ...(report ? { report } : {}),
  };
}

/** --report: which vCPU count (if any) predicts the report's MEASUREMENT. */
export async function checkReport(
  run: AmdRun,
  path: string,
  offset: number,
): Promise<{ json: Record<string, unknown>; match: number | null }> {
  if (!run.mode.startsWith('snp') || run.mode === 'snp:ovmf-hash')
    throw new UsageError('--report compares an SEV-SNP report: use it with --mode snp or snp:svsm');
  const report = await loadSnpReport(path, offset);
  const m = toHex(report.measurement);
  const match = run.result.digests.find((d) => toHex(d.digest) === m)?.vcpus ?? null;
  return { json: { path, offset, measurement: m, matchingVcpus: match }, match };
}

export function amdText(run: AmdRun, format: 'hex' | 'base64', verbose: boolean, io: CommandIo): void {
  const r = run.result;
  const one = (d: Uint8Array) =>
    verbose ? `Calculated ${MODE_NAMES[run.mode]} guest measurement: ${fmt(d, format)}` : fmt(d, format);
  if (run.mode === 'snp:ovmf-hash') io.stdout.write(`${one(r.ovmfHash as Uint8Array)}\n`);
  else if (r.digests.length === 1)
    io.stdout.write(`${one((r.digests[0] as { digest: Uint8Array }).digest)}\n`);
  else for (const d of r.digests) io.stdout.write(`vcpus=${d.vcpus} ${fmt(d.digest, format)}\n`);
}
