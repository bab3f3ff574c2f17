// `nodeimg verify`: checks what a machine measured against a measurements document, fail-closed:
// the machine's event log must replay to the PCRs read from its TPM (so a forged log is caught), the
// replay must equal every predicted PCR, and an SEV-SNP report's MEASUREMENT must be one of the
// predicted launch values; a TDX CC event log (CCEL) must replay to the RTMRs of the TD quote and
// equal the predicted RTMRs. On a mismatch it names the first differing event and its likely cause.
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
import { replayCcel } from '../../measurements/cvm/tdx/ccel-replay.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { likelyCause } from '../../measurements/diagnose.js';
import type { HashAlg } from '../../measurements/hash.js';
import { checkReplay, failureLines } from './eventlog-check.js';
import { loadLog, readSmallFile } from './eventlog-input.js';
import { readQuotedPcrs } from './eventlog-quoted.js';

const MAX_DOC = 16 * 1024 * 1024;
const SNP_REPORT_MAX = 64 * 1024;

interface Finding {
  readonly check: 'log-vs-tpm' | 'pcr' | 'snp-report' | 'ccel-vs-quote' | 'rtmr';
  readonly pcr: number | null;
  readonly message: string;
  readonly likelyCause: string | null;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary:
    'Check what a machine measured (event log + TPM PCRs, SEV-SNP report) against a measurements document.',
  usage:
    'nodeimg verify --against measurements.json (--eventlog LOG [--pcrs values.json] | --snp-report report.bin | --ccel CCEL [--rtmrs quote.json]) [--json]',
  help: `options:
  --against FILE      the measurements document (nodeimg measure), already verified or trusted
  --eventlog FILE     the machine's firmware event log (/sys/kernel/security/tpm0/binary_bios_measurements)
  --pcrs FILE         the PCR values read from the machine's TPM ({"sha256": {"0": "hex", ...}} or the
                      lab's {"pcrs": {"sha256": [...]}}): the log must replay to them, or it is forged
                      or incomplete. Without it the log is trusted as is (a warning says so)
  --snp-report FILE   an SEV-SNP attestation report: its MEASUREMENT must be one of the document's
                      launch values (nodeimg measure --platform ...)
  --report-offset N   byte offset of the report in the file (default 0)
  --ccel FILE         a TDX TD's CC event log (/sys/firmware/acpi/tables/data/CCEL): its replay must
                      equal every RTMR the document predicts (nodeimg measure --platform qemu-tdx)
  --rtmrs FILE        MRTD and RTMR0-3 from the TD's verified quote ({"MRTD": "hex", "RTMR0": ...}):
                      the CCEL must replay to them, or it is forged or incomplete; MRTD must be one
                      of the document's values. Without it the CCEL is trusted as is (a warning says so)
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
    ccel: { type: 'string' },
    rtmrs: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const s = (k: string) => (typeof args.values[k] === 'string' ? (args.values[k] as string) : undefined);
    const docPath = s('against');
    if (!docPath) throw new UsageError('--against measurements.json is required');
    const logPath = s('eventlog');
    const reportPath = s('snp-report');
    const ccelPath = s('ccel');
    if (!logPath && !reportPath && !ccelPath)
      throw new UsageError('give --eventlog (with --pcrs), --snp-report and/or --ccel (with --rtmrs)');
    if (s('rtmrs') && !ccelPath) throw new UsageError('--rtmrs goes with --ccel');
    if (s('pcrs') && !logPath) throw new UsageError('--pcrs goes with --eventlog');
    const doc = await readDocument(docPath);
    const findings: Finding[] = [];
    const checked: string[] = [];
    if (logPath) await verifyLog(doc, logPath, s('pcrs'), io, findings, checked);
    if (reportPath) await verifySnpReport(doc, reportPath, s('report-offset'), findings, checked);
    if (ccelPath) await verifyCcel(doc, ccelPath, s('rtmrs'), io, findings, checked);
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

/** What a differing RTMR most likely means (RTMR layout: measured-boot.md §9.2). */
const RTMR_CAUSE: readonly string[] = [
  'the platform: TDVF build, TD memory size, ACPI tables, Secure Boot variables or boot variables differ from the reference the document used',
  'the boot chain: another UKI or boot loader was started (its Authenticode differs), or option ROMs ran',
  'the kernel command line, the initrd or the UKI sections differ (what systemd-stub and the kernel measure)',
  'events after boot (RTMR3 is for the running system; the document does not predict them)',
];

async function verifyCcel(
  doc: MeasurementsDocument,
  path: string,
  rtmrsPath: string | undefined,
  io: CommandIo,
  findings: Finding[],
  checked: string[],
) {
  const launch = doc.launch;
  const predicted = (launch?.values ?? []).filter((v) => /^RTMR[0-3]$/.test(v.name));
  if (!launch || predicted.length === 0)
    throw new CheckFailedError(
      'the document predicts no RTMR: measure with --platform qemu-tdx (RTMR0 also needs --platform-ccel or the platform inputs)',
    );
  const replay = replayCcel(decodeEventLog(await readSmallFile(path, MAX_DOC, 'a CC event log')));
  const got = replay.rtmrs.map(toHex);
  if (rtmrsPath === undefined) {
    io.stderr.write(
      'warning: no --rtmrs: the CCEL is not checked against the TD quote, so a forged log would not be noticed\n',
    );
  } else {
    const quote = JSON.parse(
      new TextDecoder().decode(await readSmallFile(rtmrsPath, SNP_REPORT_MAX, 'TD quote values')),
    ) as Record<string, unknown>;
    const hex96 = (k: string): string | undefined => {
      const v = quote[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{96}$/.test(v))
        throw new UsageError(`${rtmrsPath}: ${k} must be 96 hex digits`);
      return v.toLowerCase();
    };
    for (let i = 0; i < 4; i++) {
      const q = hex96(`RTMR${i}`);
      if (q === undefined) throw new UsageError(`${rtmrsPath} has no RTMR${i}`);
      if (q !== got[i])
        findings.push({
          check: 'ccel-vs-quote',
          pcr: null,
          message: `the CCEL replays RTMR${i} to ${got[i] ?? '?'} but the TD quote holds ${q}`,
          likelyCause:
            'the event log is forged or incomplete: do not trust it (nor its comparison with the document)',
        });
    }
    const mrtd = hex96('MRTD');
    if (mrtd !== undefined) {
      const want = launch.values.filter((v) => v.name === 'MRTD');
      if (want.length > 0 && !want.some((v) => v.value === mrtd))
        findings.push({
          check: 'rtmr',
          pcr: null,
          message: `the quote's MRTD ${mrtd} is none of the document's (${want.map((v) => v.order ?? '?').join(', ')} order)`,
          likelyCause: 'another TDVF/OVMF build than the document was measured with',
        });
      else if (want.length > 0) checked.push("the quote's MRTD is the predicted firmware");
    }
    if (!findings.some((f) => f.check === 'ccel-vs-quote'))
      checked.push(`the CCEL (${replay.events.length} events) replays to the TD quote's RTMR0-3`);
  }
  for (const v of predicted) {
    const i = Number(v.name.slice(4));
    if (got[i] === v.value) continue;
    const events = replay.events.filter((e) => e.rtmr === i).length;
    findings.push({
      check: 'rtmr',
      pcr: null,
      message: `${v.name}: the CCEL replays to ${got[i] ?? '?'} (${events} events), the document predicts ${v.value}`,
      likelyCause: RTMR_CAUSE[i] ?? null,
    });
  }
  if (!findings.some((f) => f.check === 'rtmr'))
    checked.push(`${predicted.map((v) => v.name).join(', ')} equal the prediction (${doc.image.name})`);
}
