// `nodeimg snp-report show <report.bin> [--offset N] [--json]`: decodes an SEV-SNP attestation
// report (the 1184-byte ATTESTATION_REPORT, possibly inside a larger blob) so that its MEASUREMENT
// can be compared with `nodeimg launch-digest`. The signature is shown, not verified.
import type { Command, CommandIo } from '../command.js';
import { writeJson } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { toHex } from '../../image/formats/reader.js';
import { decodeSnpReport, type SnpReport, type TcbVersion } from '../../measurements/cvm/snp/index.js';
import { assertSnpReportDocument, SNP_REPORT_SCHEMA_ID } from '../schema/cvm.js';
import { readSmallFile } from './eventlog-input.js';
import { autoInt } from './launch-digest-args.js';

/** Reports come alone (1184 bytes) or wrapped (dstack's VersionedAttestation, a quote file). */
export const MAX_REPORT_FILE = 1024 * 1024;

const hx = (n: bigint | number): string => `0x${n.toString(16)}`;

/** Reads and decodes a report file; errors name the file. */
export async function loadSnpReport(path: string, offset: number): Promise<SnpReport> {
  const bytes = await readSmallFile(path, MAX_REPORT_FILE, 'an SEV-SNP attestation report');
  try {
    return decodeSnpReport(bytes, offset);
  } catch (err) {
    if (err instanceof NodeimgError)
      throw new NodeimgError(err.code, `${path}: ${err.message}`, {
        cause: err,
        hint: 'a raw ATTESTATION_REPORT, or a file holding one at --offset N',
      });
    throw err;
  }
}

function tcbJson(t: TcbVersion): Record<string, string | number> {
  return {
    raw: hx(t.raw),
    ...(t.fmc === undefined ? {} : { fmc: t.fmc }),
    bootLoader: t.bootLoader,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
  };
}

/** Bit-field objects with their raw word as hex. */
function flags<T extends { raw: bigint | number }>(f: T): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(f))
    out[k] = k === 'raw' ? hx(v as bigint | number) : (v as string | number | boolean);
  return out;
}

export function snpReportJson(r: SnpReport): Record<string, unknown> {
  return {
    version: r.version,
    guestSvn: r.guestSvn,
    policy: flags(r.policy),
    familyId: toHex(r.familyId),
    imageId: toHex(r.imageId),
    vmpl: r.vmpl,
    signatureAlgo: r.signatureAlgo,
    currentTcb: tcbJson(r.currentTcb),
    platformInfo: flags(r.platformInfo),
    keyInfo: flags(r.keyInfo),
    reportData: toHex(r.reportData),
    measurement: toHex(r.measurement),
    hostData: toHex(r.hostData),
    idKeyDigest: toHex(r.idKeyDigest),
    authorKeyDigest: toHex(r.authorKeyDigest),
    reportId: toHex(r.reportId),
    reportIdMa: toHex(r.reportIdMa),
    reportedTcb: tcbJson(r.reportedTcb),
    cpuid: r.cpuid
      ? { family: hx(r.cpuid.family), model: hx(r.cpuid.model), stepping: hx(r.cpuid.stepping) }
      : null,
    chipId: toHex(r.chipId),
    committedTcb: tcbJson(r.committedTcb),
    currentVersion: r.currentVersion,
    committedVersion: r.committedVersion,
    launchTcb: tcbJson(r.launchTcb),
    launchMitVector: r.launchMitVector === undefined ? null : hx(r.launchMitVector),
    currentMitVector: r.currentMitVector === undefined ? null : hx(r.currentMitVector),
    signature: r.signature ? { r: toHex(r.signature.r), s: toHex(r.signature.s) } : null,
  };
}

function text(path: string, r: SnpReport, io: CommandIo): void {
  const tcb = (t: TcbVersion) =>
    `${hx(t.raw)} (${t.fmc === undefined ? '' : `fmc ${t.fmc}, `}bootloader ${t.bootLoader}, tee ${t.tee}, snp ${t.snp}, microcode ${t.microcode})`;
  const ver = (v: SnpReport['currentVersion']) => `${v.major}.${v.minor}.${v.build}`;
  const on = (o: Record<string, unknown>) =>
    Object.entries(o)
      .filter(([, v]) => v === true)
      .map(([k]) => k)
      .join(', ') || 'none';
  const lines = [
    `${path} at byte ${r.offset}: SEV-SNP attestation report version ${r.version}`,
    `measurement        ${toHex(r.measurement)}`,
    `report_data        ${toHex(r.reportData)}`,
    `host_data          ${toHex(r.hostData)}`,
    `policy             ${hx(r.policy.raw)} (ABI >= ${r.policy.abiMajor}.${r.policy.abiMinor}; ${on({ ...r.policy, raw: false })})`,
    `guest_svn / vmpl   ${r.guestSvn} / ${r.vmpl}`,
    `family_id          ${toHex(r.familyId)}`,
    `image_id           ${toHex(r.imageId)}`,
    `id_key_digest      ${toHex(r.idKeyDigest)}`,
    `author_key_digest  ${toHex(r.authorKeyDigest)} (author key ${r.keyInfo.authorKeyEnabled ? 'enabled' : 'not used'})`,
    `report_id          ${toHex(r.reportId)}`,
    `chip_id            ${toHex(r.chipId)}`,
    `cpuid              ${r.cpuid ? `family ${hx(r.cpuid.family)} model ${hx(r.cpuid.model)} stepping ${hx(r.cpuid.stepping)}` : 'not reported (version < 3)'}`,
    `platform_info      ${hx(r.platformInfo.raw)} (${on({ ...r.platformInfo, raw: false })})`,
    `current_tcb        ${tcb(r.currentTcb)}`,
    `reported_tcb       ${tcb(r.reportedTcb)}`,
    `committed_tcb      ${tcb(r.committedTcb)}`,
    `launch_tcb         ${tcb(r.launchTcb)}`,
    `firmware           current ${ver(r.currentVersion)}, committed ${ver(r.committedVersion)}`,
    `signature          algorithm ${r.signatureAlgo}, signed with the ${r.keyInfo.signingKey}${r.signature ? `; r ${toHex(r.signature.r)} s ${toHex(r.signature.s)} (not verified)` : ''}`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

const USAGE = 'nodeimg snp-report show <report.bin> [--offset N] [--json]';

export const snpReportCommand: Command = {
  name: 'snp-report',
  summary: 'Decode an SEV-SNP attestation report (MEASUREMENT, REPORT_DATA, TCB, chip id, ...).',
  usage: USAGE,
  help: `arguments:
  show <report.bin>  a file holding the 1184-byte ATTESTATION_REPORT (AMD SEV-SNP ABI spec 56860,
                     Table 22): /dev/sev-guest output, snpguest's report.bin, or a larger blob with
                     the report at --offset (at most ${MAX_REPORT_FILE / 1024} KiB are read)

options:
  --offset N         byte offset of the report in the file (default 0; decimal or 0x hex)
  --json             one JSON document (schema: pipeline/schema/snp-report.schema.json)
  -h, --help         show this help

The signature (ECDSA P-384 by the VCEK or VLEK) is shown but not verified. Compare MEASUREMENT
with a prediction: nodeimg launch-digest --mode snp ... --report <report.bin> [--report-offset N].`,
  options: { offset: { type: 'string' }, json: { type: 'boolean' } },
  positionals: { min: 2, max: 2 },
  async run(args, io) {
    const [sub, path] = args.positionals as [string, string];
    if (sub !== 'show')
      throw new UsageError(`unknown subcommand '${sub}' (show)`, { hint: `usage: ${USAGE}` });
    const off = args.values['offset'];
    const offset = typeof off === 'string' ? autoInt('offset', off, MAX_REPORT_FILE) : 0;
    const r = await loadSnpReport(path, offset);
    for (const w of r.warnings) io.stderr.write(`warning: ${path}: ${w}\n`);
    if (args.values['json'] === true) {
      const doc = {
        $schema: SNP_REPORT_SCHEMA_ID,
        path,
        offset,
        report: snpReportJson(r),
        warnings: [...r.warnings],
      };
      assertSnpReportDocument(doc);
      writeJson(io, doc);
    } else text(path, r, io);
    return EXIT.ok;
  },
};
