// `nodeimg verify`: checks what a machine measured against a measurements document, fail-closed:
// the machine's event log must replay to the PCRs read from its TPM (so a forged log is caught), the
// replay must equal every predicted PCR, and an SEV-SNP report's MEASUREMENT must be one of the
// predicted launch values. On a mismatch it names the first differing event and its likely cause.
import type { Command, CommandIo } from '../command.js';
import { writeJson } from '../command.js';
import { CheckFailedError, NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { assertMeasurementsDocument } from '../schema/validate.js';
import { toHex } from '../../image/formats/reader.js';
import { expectedFromDocument, type MeasurementsDocument } from '../../measurements/document.js';
import { diffEvents } from '../../measurements/eventlog/diff.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { decodeSnpReport } from '../../measurements/cvm/snp/report.js';
import { likelyCause } from '../../measurements/diagnose.js';
import type { HashAlg } from '../../measurements/hash.js';
import { checkReplay, failureLines } from './eventlog-check.js';
import { loadLog, readSmallFile } from './eventlog-input.js';
import { readQuotedPcrs } from './eventlog-quoted.js';

const MAX_DOC = 16 * 1024 * 1024;
const SNP_REPORT_MAX = 64 * 1024;

interface Finding {
  readonly check: 'log-vs-tpm' | 'pcr' | 'snp-report';
  readonly pcr: number | null;
  readonly message: string;
  readonly likelyCause: string | null;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary:
    'Check what a machine measured (event log + TPM PCRs, SEV-SNP report) against a measurements document.',
  usage:
    'nodeimg verify --against measurements.json (--eventlog LOG [--pcrs values.json] | --snp-report report.bin) [--json]',
  help: `options:
  --against FILE      the measurements document (nodeimg measure), already verified or trusted
  --eventlog FILE     the machine's firmware event log (/sys/kernel/security/tpm0/binary_bios_measurements)
  --pcrs FILE         the PCR values read from the machine's TPM ({"sha256": {"0": "hex", ...}} or the
                      lab's {"pcrs": {"sha256": [...]}}): the log must replay to them, or it is forged
                      or incomplete. Without it the log is trusted as is (a warning says so)
  --snp-report FILE   an SEV-SNP attestation report: its MEASUREMENT must be one of the document's
                      launch values (nodeimg measure --platform ...)
  --report-offset N   byte offset of the report in the file (default 0)
  --json              the verdict as JSON on stdout
  -h, --help          show this help

Fail-closed: every PCR the document predicts must be in the log and equal, in every bank both
have; a document without predicted PCRs (or launch values, with --snp-report) is refused. On a
mismatch the first differing event of each PCR is named with its most likely cause. Exit 0 when
everything matches, 1 when a check fails.`,
  options: {
    against: { type: 'string' },
    eventlog: { type: 'string' },
    pcrs: { type: 'string' },
    'snp-report': { type: 'string' },
    'report-offset': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const s = (k: string) => (typeof args.values[k] === 'string' ? (args.values[k] as string) : undefined);
    const docPath = s('against');
    if (!docPath) throw new UsageError('--against measurements.json is required');
    const logPath = s('eventlog');
    const reportPath = s('snp-report');
    if (!logPath && !reportPath) throw new UsageError('give --eventlog (with --pcrs) and/or --snp-report');
    if (s('pcrs') && !logPath) throw new UsageError('--pcrs goes with --eventlog');
    const doc = await readDocument(docPath);
    const findings: Finding[] = [];
    const checked: string[] = [];
    if (logPath) await verifyLog(doc, logPath, s('pcrs'), io, findings, checked);
    if (reportPath) await verifySnpReport(doc, reportPath, s('report-offset'), findings, checked);
    const ok = findings.length === 0;
    if (args.values['json'] === true) writeJson(io, { ok, checked, findings });
    else {
      for (const c of checked) io.stdout.write(`ok: ${c}\n`);
      for (const f of findings)
        io.stdout.write(
          `MISMATCH${f.pcr === null ? '' : ` PCR ${f.pcr}`}: ${f.message}${f.likelyCause ? `\n  most likely: ${f.likelyCause}` : ''}\n`,
        );
    }
    if (!ok) {
      const pcrs = [...new Set(findings.filter((f) => f.pcr !== null).map((f) => f.pcr))];
      throw new CheckFailedError(
        pcrs.length
          ? `the machine's measurements differ from the document on PCR ${pcrs.join(', ')}`
          : (findings[0]?.message ?? 'verification failed'),
        { hint: findings.find((f) => f.likelyCause)?.likelyCause ?? 'see the findings on stdout' },
      );
    }
    return EXIT.ok;
  },
};

async function readDocument(path: string): Promise<MeasurementsDocument> {
  const bytes = await readSmallFile(path, MAX_DOC, 'a measurements document');
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `${path} is not JSON: ${(err as Error).message}`);
  }
  assertMeasurementsDocument(doc);
  return doc;
}

async function verifyLog(
  doc: MeasurementsDocument,
  logPath: string,
  pcrsPath: string | undefined,
  io: CommandIo,
  findings: Finding[],
  checked: string[],
) {
  const predicted = Object.keys(doc.pcrs).map(Number);
  if (predicted.length === 0)
    throw new CheckFailedError('the document predicts no PCR: refusing to accept anything');
  const loaded = await loadLog(logPath, io);
  const replay = replayEventLog(loaded.log);
  if (pcrsPath) {
    // the log must account for the TPM's values, or nothing it says can be trusted
    const c = checkReplay(replay, await readQuotedPcrs(pcrsPath), {});
    if (!c.ok) {
      for (const line of failureLines(c))
        findings.push({
          check: 'log-vs-tpm',
          pcr: null,
          message: `the event log does not replay to the TPM's PCRs: ${line}`,
          likelyCause: 'a forged, truncated or foreign event log',
        });
      return;
    }
    checked.push(`the event log replays to the TPM's PCRs (${c.registers.length} registers)`);
  } else {
    io.stderr.write(
      'warning: no --pcrs: the event log is not checked against the TPM, a forged log would not be caught\n',
    );
  }
  const diff = diffEvents(expectedFromDocument(doc), loaded.log.events, { pcrs: predicted });
  for (const pcr of predicted) {
    const p = doc.pcrs[String(pcr)];
    if (!p) continue;
    const bad = Object.entries(p.expected).filter(([alg, want]) => {
      const got = replay.pcrs[alg as HashAlg]?.get(pcr);
      return got === undefined || toHex(got) !== want;
    });
    const banks = Object.keys(p.expected).filter((a) => replay.pcrs[a as HashAlg] !== undefined);
    if (banks.length === 0) {
      findings.push({
        check: 'pcr',
        pcr,
        message: `the log has none of the banks the document predicts (${Object.keys(p.expected).join(', ')})`,
        likelyCause: null,
      });
      continue;
    }
    if (bad.length === 0) continue;
    const d = diff.pcrs.find((x) => x.pcr === pcr);
    const first = d?.firstMismatch;
    findings.push({
      check: 'pcr',
      pcr,
      message: first
        ? first.message
        : `expected ${bad.map(([a, w]) => `${a}:${w}`).join(' ')}, the log replays to another value`,
      likelyCause: likelyCause(pcr, first),
    });
  }
  if (findings.length === 0)
    checked.push(`PCRs ${predicted.join(', ')} equal the prediction (${doc.image.name})`);
}

async function verifySnpReport(
  doc: MeasurementsDocument,
  path: string,
  offsetArg: string | undefined,
  findings: Finding[],
  checked: string[],
) {
  const launch = doc.launch;
  const expected = launch?.values.filter((v) => v.name === 'MEASUREMENT') ?? [];
  if (!launch || expected.length === 0) {
    throw new CheckFailedError(
      'the document has no SEV-SNP launch values: measure with --platform qemu-snp|aws-sev-snp|gcp-sev-snp',
    );
  }
  const offset = offsetArg === undefined ? 0 : Number(offsetArg);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new UsageError(`--report-offset takes a byte offset, not '${offsetArg}'`);
  const report = decodeSnpReport(await readSmallFile(path, SNP_REPORT_MAX, 'an SEV-SNP report'), offset);
  const got = toHex(report.measurement);
  const hit = expected.find((v) => v.value === got);
  if (hit)
    checked.push(
      `the SEV-SNP report's MEASUREMENT is the ${launch.platform} launch value for ${hit.vcpus ?? '?'} vCPU(s)`,
    );
  else {
    findings.push({
      check: 'snp-report',
      pcr: null,
      message: `the report's MEASUREMENT ${got} is none of the ${expected.length} predicted ${launch.platform} values (vCPUs ${expected.map((v) => v.vcpus).join(', ')})`,
      likelyCause:
        'another firmware build, vCPU count or CPU type than the document assumes, or a modified launch',
    });
  }
}
