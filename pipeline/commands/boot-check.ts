// `nodeimg boot-check <disk.raw>`: boots the image under QEMU + OVMF with a fresh swtpm, captures what
// the TPM really received (from swtpm's own log, no guest help), reads the PCRs at the end, and
// compares them with `nodeimg measure`'s prediction (or a measurements document) PCR by PCR and
// extend by extend. Exit 0 only when every predicted PCR equals the real one.
import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from '../command.js';
import { writeJson } from '../command.js';
import { CheckFailedError, NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';

/** Firmware and VM-shape PCRs: never predicted from an image, recorded from a real boot instead. */
const PLATFORM_PCRS = [0, 1, 2, 3, 6];
import { table } from '../render.js';
import { assertBootCheckReport, assertMeasurementsDocument } from '../schema/validate.js';
import { captureBoot, type BootCapture, type EndReason } from '../../image/build/boot-check/capture.js';
import { detectAccel } from '../../image/build/lab/accel.js';
import { OVMF } from '../../image/build/lab/config.js';
import { parseLabConsole } from '../../image/build/lab/console.js';
import { measureFile } from '../../image/measure.js';
import { loadSecureBootPolicy } from '../../image/secure-boot-policy.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { eventTypeName, type DecodedEventLog } from '../../measurements/eventlog/types.js';
import { ALL_HASH_ALGS, type HashAlg } from '../../measurements/hash.js';
import { checkBoot, type BootCheckResult, type CrossCheck } from '../../measurements/tpm/boot-check.js';
import { currentExtends } from '../../measurements/tpm/replay.js';

export const BOOT_CHECK_SCHEMA_ID = 'https://nodeimg.dev/schema/boot-check/v1.json';

const FIRMWARE = {
  ovmf: { code: OVMF.code, vars: OVMF.vars, secureBoot: false },
  'ovmf-secboot': { code: OVMF.codeSecureBoot, vars: OVMF.varsSnakeoil, secureBoot: true },
} as const;
type Firmware = keyof typeof FIRMWARE;

const DEFAULT_BANKS: HashAlg[] = ['sha1', 'sha256', 'sha384'];
const MAX_DOC = 16 * 1024 * 1024;

const END_WORDS: Record<EndReason, string> = {
  marker: 'the marker appeared on the serial console',
  'tpm-quiet': 'the TPM went quiet after ExitBootServices',
  'tpm-shutdown': 'the guest shut the TPM down (TPM2_Shutdown: it is powering off or rebooting)',
  'qemu-exited': 'QEMU exited',
  timeout: 'the timeout ran out',
};

export const bootCheckCommand: Command = {
  name: 'boot-check',
  summary:
    'Boot a disk image under QEMU + OVMF + swtpm and check the predicted PCRs against what the TPM really received.',
  usage:
    'nodeimg boot-check <disk.raw> [--firmware ovmf|ovmf-secboot] [--vars FILE] [--memory MiB] [--smp N] [--timeout S] [--quiet S] [--marker TEXT] [--against measurements.json] [--logs DIR] [--json]',
  help: `arguments:
  <disk.raw>            a raw GPT disk image; QEMU opens it as a snapshot, it is never written

options:
  --firmware F          ovmf (default: OVMF_CODE_4M.fd) or ovmf-secboot (OVMF_CODE_4M.secboot.fd, q35
                        with SMM; Secure Boot is enforced when the variable store enrols a PK)
  --vars FILE           the variable store template the VM starts from (a private copy is used);
                        default OVMF_VARS_4M.fd, with ovmf-secboot OVMF_VARS_4M.snakeoil.fd. The
                        prediction reads PCR 7 from the same file
  --memory MiB          guest memory (default 1024); --smp N  CPUs (default 1). Both change PCR 0/1
  --timeout S           longest boot, in seconds (default 300); when it runs out, what the TPM got
                        so far is compared
  --quiet S             the boot is far enough when no PCR changed for S seconds after OVMF measured
                        "Exit Boot Services Returned with Success" into PCR 5 (default 10)
  --marker TEXT         the boot is far enough when TEXT appears on the serial console
  --against FILE        compare with this measurements document (nodeimg measure -o) instead of
                        predicting the image here
  --logs DIR            also write swtpm's command logs (swtpm.log: the boot, swtpm-read.log: the
                        read afterwards) and the serial console (console.log) into DIR
  --platform-out FILE   write the platform PCRs this boot observed (0-3 and 6, every bank) as a
                        reference file for \`nodeimg measure --platform-values\`
  --json                one JSON document on stdout (schema: pipeline/schema/boot-check.schema.json)
  -h, --help            show this help

The boot also ends when the guest sends TPM2_Shutdown (it powers off or reboots). What the TPM
received is taken from swtpm's log of every command (--log level=20): each successful
TPM2_PCR_Extend, TPM2_PCR_Event and TPM2_EventSequenceComplete, per PCR and bank, since the last
TPM2_Startup(CLEAR). The PCRs are then read from the TPM itself (swtpm restarted on its saved
state) and must equal the replay of that log. KVM is used when it can run OVMF on this host,
else TCG (NODEIMG_ACCEL=kvm|tcg forces one). Exit 0 when every predicted PCR equals the real one
in every bank, 1 otherwise (the first differing extend of each PCR is named); 130 on Ctrl-C.`,
  options: {
    firmware: { type: 'string' },
    vars: { type: 'string' },
    memory: { type: 'string' },
    smp: { type: 'string' },
    timeout: { type: 'string' },
    quiet: { type: 'string' },
    marker: { type: 'string' },
    against: { type: 'string' },
    logs: { type: 'string' },
    'platform-out': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const v = args.values;
    const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
    const disk = args.positionals[0] as string;
    const fw = str('firmware') ?? 'ovmf';
    if (!Object.hasOwn(FIRMWARE, fw))
      throw new UsageError(`--firmware must be ovmf or ovmf-secboot, not '${fw}'`);
    const firmware = FIRMWARE[fw as Firmware];
    const varsTemplate = str('vars') ?? firmware.vars;
    const memory = intOption('memory', str('memory'), 1024, 64, 65536);
    const smp = intOption('smp', str('smp'), 1, 1, 64);
    const timeoutS = intOption('timeout', str('timeout'), 300, 1, 24 * 3600);
    const quietS = intOption('quiet', str('quiet'), 10, 1, 3600);
    const marker = str('marker');
    if (marker === '') throw new UsageError('--marker needs a non-empty text');
    for (const [what, p] of [
      ['the disk', disk],
      ['--vars', varsTemplate],
    ] as const) {
      if (p.includes(','))
        throw new UsageError(`${what} path holds a comma, which QEMU options cannot carry: ${p}`);
    }
    await mustRead(disk);
    await mustRead(varsTemplate);
    await mustRead(firmware.code);
    const json = v['json'] === true;

    const interrupt = onInterrupt(
      io.stderr,
      'boot-check',
      'stopping QEMU and swtpm, removing temporary files',
    );
    try {
      // the prediction first: an image nodeimg cannot read fails before anything boots
      const policy = await loadSecureBootPolicy(varsTemplate);
      const secureBoot = firmware.secureBoot && policy.enforced;
      let doc: MeasurementsDocument;
      let source: { kind: 'measure' } | { kind: 'document'; path: string };
      const against = str('against');
      if (against !== undefined) {
        doc = await loadDocument(against);
        source = { kind: 'document', path: against };
        if (doc.boot.secureBoot !== secureBoot) {
          io.stderr.write(
            `warning: ${against} was predicted with Secure Boot ${doc.boot.secureBoot ? 'on' : 'off'}; this boot has it ${secureBoot ? 'on' : 'off'}\n`,
          );
        }
      } else {
        ({ document: doc } = await measureFile(disk, {
          banks: DEFAULT_BANKS,
          secureBoot,
          secureBootPolicy: policy,
        }));
        assertMeasurementsDocument(doc);
        source = { kind: 'measure' };
        for (const w of doc.warnings) io.stderr.write(`warning: ${w}\n`);
      }
      const banks = ALL_HASH_ALGS.filter((b) => doc.banks.includes(b));
      if (banks.length === 0) throw new UsageError('the measurements document names no PCR bank');
      interrupt.signal.throwIfAborted();

      const accel = await detectAccel();
      io.stderr.write(`boot-check: ${await accelWords(accel, io.env)}\n`);
      io.stderr.write(
        `boot-check: booting ${basename(disk)} (${fw}, ${basename(varsTemplate)}, Secure Boot ${secureBoot ? 'on' : 'off'}, ${memory} MiB, ${smp} CPU), timeout ${timeoutS} s\n`,
      );
      const capture = await captureBoot({
        disk,
        secureBootFirmware: firmware.secureBoot,
        varsTemplate,
        banks,
        accel,
        memoryMiB: memory,
        smp,
        timeoutMs: timeoutS * 1000,
        quietMs: quietS * 1000,
        ...(marker === undefined ? {} : { marker }),
        ...(str('logs') === undefined ? {} : { keepLogsIn: str('logs') as string }),
        signal: interrupt.signal,
        progress: (line) => io.stderr.write(`boot-check: ${line}\n`),
      });
      io.stderr.write(
        `boot-check: boot far enough after ${(capture.elapsedMs / 1000).toFixed(1)} s: ${END_WORDS[capture.endReason]}\n`,
      );
      if (capture.finalRead.why !== undefined)
        io.stderr.write(
          `warning: no read of the PCRs after the boot (${capture.finalRead.why}); the replay of swtpm's log stands for them\n`,
        );

      // what the guest printed, where it did (the lab images): its event log and PCRs
      const guest = parseLabConsole(capture.console);
      let eventLog: DecodedEventLog | undefined;
      if (guest.complete && guest.eventLog !== undefined && guest.eventLog.length > 0) {
        try {
          eventLog = decodeEventLog(guest.eventLog);
        } catch (err) {
          io.stderr.write(
            `warning: the event log the guest printed does not decode: ${(err as Error).message}\n`,
          );
        }
      }
      const result = checkBoot({
        document: doc,
        replay: capture.replay,
        ...(capture.finalRead.values === undefined ? {} : { read: capture.finalRead.values }),
        ...(eventLog === undefined ? {} : { eventLog }),
        ...(guest.complete && Object.keys(guest.pcrs).length > 0 ? { guestPcrs: guest.pcrs } : {}),
      });
      const platformOut = str('platform-out');
      if (platformOut !== undefined) {
        // the platform PCRs this boot observed, in the form `nodeimg measure --platform-values` reads
        const values = Object.fromEntries(
          Object.entries(result.real).map(([bank, vals]) => [
            bank,
            Object.fromEntries(PLATFORM_PCRS.map((p) => [String(p), vals?.[p]])),
          ]),
        );
        await writeFile(platformOut, `${JSON.stringify(values, null, 2)}\n`);
      }
      const report = reportJson({
        disk,
        fw,
        varsTemplate,
        secureBoot,
        memory,
        smp,
        source,
        capture,
        result,
        doc,
      });
      if (json) {
        assertBootCheckReport(report);
        writeJson(io, report);
      } else {
        io.stdout.write(humanReport(capture, result, doc));
      }
      if (result.captureMismatches.length > 0) {
        throw new CheckFailedError(
          'the PCRs read from the TPM differ from the replay of the commands it logged: the capture cannot be trusted',
          {
            hint: result.captureMismatches[0] ?? '',
          },
        );
      }
      if (!result.ok) {
        const bad = [...new Set(result.verdicts.filter((x) => !x.ok).map((x) => x.pcr))];
        throw new CheckFailedError(
          bad.length > 0
            ? `the predicted PCRs differ from the booted ones: PCR ${bad.join(', ')}`
            : 'no predicted PCR could be compared',
          {
            hint:
              capture.replay.exitBootServices === undefined
                ? 'the boot never reached ExitBootServices (see the end reason on stderr)'
                : `the first differing extend of each PCR is listed ${json ? 'in departures' : 'on stdout'}`,
          },
        );
      }
      return EXIT.ok;
    } catch (err) {
      if (interrupt.signal.aborted) {
        io.stderr.write(
          'boot-check: interrupted; QEMU and swtpm are stopped and the temporary files removed\n',
        );
        return 130;
      }
      throw err;
    } finally {
      interrupt.dispose();
    }
  },
};

function intOption(name: string, s: string | undefined, dflt: number, min: number, max: number): number {
  if (s === undefined) return dflt;
  if (!/^\d{1,6}$/.test(s) || Number(s) < min || Number(s) > max)
    throw new UsageError(`--${name} takes a whole number from ${min} to ${max}, not '${s}'`);
  return Number(s);
}

async function mustRead(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new NodeimgError('IO_FAILED', `${path} is not a file`);
    await access(path, constants.R_OK);
  } catch (err) {
    if (err instanceof NodeimgError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new NodeimgError(
      e.code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED',
      `cannot read ${path}: ${e.message}`,
      { cause: err },
    );
  }
}

async function loadDocument(path: string): Promise<MeasurementsDocument> {
  await mustRead(path);
  if ((await stat(path)).size > MAX_DOC)
    throw new NodeimgError('PARSE_LIMIT', `${path} is larger than ${MAX_DOC} bytes`);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new NodeimgError('IO_FAILED', `cannot read ${path}: ${err.message}`, { cause: err });
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `${path} is not JSON: ${(err as Error).message}`);
  }
  assertMeasurementsDocument(doc);
  return doc;
}

async function accelWords(accel: 'kvm' | 'tcg', env: NodeJS.ProcessEnv): Promise<string> {
  const forced = env['NODEIMG_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return `accelerator ${accel.toUpperCase()} (NODEIMG_ACCEL)`;
  if (accel === 'kvm') return 'accelerator KVM';
  const kvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  return kvm
    ? 'accelerator TCG (software emulation): /dev/kvm is there but cannot run OVMF on this host'
    : 'accelerator TCG (software emulation): no usable /dev/kvm';
}

const short = (h: string) => (h.length > 16 ? `${h.slice(0, 16)}…` : h);

function crossCheckText(title: string, c: CrossCheck | undefined): string[] {
  if (c === undefined) return [];
  return [`${title}: ${c.ok ? 'agree' : 'DISAGREE'}`, ...c.lines.map((l) => `  ${l}`)];
}

function humanReport(capture: BootCapture, result: BootCheckResult, doc: MeasurementsDocument): string {
  const r = capture.replay;
  const startup = r.startups.at(-1);
  const extendsNow = currentExtends(r);
  const lines: string[] = [];
  lines.push(
    `TPM side: ${r.commands} TPM commands (${r.failed} failed), ${extendsNow.length} PCR extends since TPM2_Startup(CLEAR)${startup ? ` at locality ${startup.locality}` : ' (none seen)'}; ExitBootServices ${r.exitBootServices ? `at swtpm log line ${r.exitBootServices.line}` : 'NOT reached'}`,
  );
  lines.push(
    r.reads.length === 0
      ? 'no TPM2_PCR_Read in the log besides ours'
      : result.readMismatches.length === 0
        ? `${r.reads.length} TPM2_PCR_Read responses in the log agree with the replay`
        : `${result.readMismatches.length} values of the TPM2_PCR_Read responses in the log differ from the replay:`,
  );
  for (const m of result.readMismatches) lines.push(`  ${m}`);
  lines.push(
    result.realSource === 'tpm-read'
      ? result.captureMismatches.length === 0
        ? 'real PCRs: read from the TPM after the boot; they equal the replay of its log'
        : 'real PCRs: read from the TPM after the boot; they DIFFER from the replay of its log:'
      : 'real PCRs: the replay of the TPM log (no read after the boot was possible)',
  );
  for (const m of result.captureMismatches) lines.push(`  ${m}`);
  lines.push('');
  lines.push(
    table(
      ['PCR', 'bank', 'predicted', 'real', 'verdict'],
      result.verdicts.map((x) => [
        String(x.pcr),
        x.bank,
        short(x.predicted),
        short(x.real),
        x.ok ? 'ok' : 'DIFFERS',
      ]),
    ),
  );
  for (const n of result.notCompared) lines.push(`not compared: ${n}`);
  for (const n of doc.notPredicted) lines.push(`not predicted: PCR ${n.pcr} (${n.reason})`);
  const bad = result.extendDiff.pcrs.filter((p) => !p.ok);
  if (bad.length > 0) {
    lines.push('', 'first departure of each PCR (predicted events against the extends the TPM received):');
    for (const p of bad) if (p.first) lines.push(`  ${p.first.message}`);
  }
  const crossChecks = [
    ...crossCheckText('cross-check with the firmware event log the guest printed', result.eventLogCheck),
    ...crossCheckText('cross-check with the PCRs the guest read', result.guestPcrCheck),
  ];
  if (crossChecks.length > 0) lines.push('', ...crossChecks);
  const pcrs = [...new Set(result.verdicts.map((x) => x.pcr))];
  const banks = [...new Set(result.verdicts.map((x) => x.bank))];
  const failed = [...new Set(result.verdicts.filter((x) => !x.ok).map((x) => x.pcr))];
  lines.push(
    '',
    result.ok
      ? `result: all ${pcrs.length} predicted PCRs (${pcrs.join(', ')}) equal the booted ones in ${banks.join(', ')}`
      : `result: PCR ${failed.join(', ') || '(none compared)'} differ from the prediction`,
  );
  return `${lines.join('\n')}\n`;
}

interface ReportInput {
  disk: string;
  fw: string;
  varsTemplate: string;
  secureBoot: boolean;
  memory: number;
  smp: number;
  source: { kind: 'measure' } | { kind: 'document'; path: string };
  capture: BootCapture;
  result: BootCheckResult;
  doc: MeasurementsDocument;
}

function reportJson(x: ReportInput): Record<string, unknown> {
  const r = x.capture.replay;
  const startup = r.startups.at(-1);
  const extendsNow = currentExtends(r);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const cross = (c: CrossCheck | undefined) => (c === undefined ? null : { ok: c.ok, lines: [...c.lines] });
  return {
    $schema: BOOT_CHECK_SCHEMA_ID,
    ok: x.result.ok && x.result.captureMismatches.length === 0,
    image: { path: x.disk },
    platform: {
      firmware: x.fw,
      vars: x.varsTemplate,
      secureBoot: x.secureBoot,
      accel: x.capture.accel,
      memoryMiB: x.memory,
      smp: x.smp,
    },
    prediction:
      x.source.kind === 'measure'
        ? { source: 'measure', path: null }
        : { source: 'document', path: x.source.path },
    boot: {
      endReason: x.capture.endReason,
      elapsedMs: x.capture.elapsedMs,
      exitBootServices: r.exitBootServices !== undefined,
    },
    tpm: {
      banks: [...r.banks],
      logLines: x.capture.log.lines,
      logBytes: x.capture.logBytes,
      commands: r.commands,
      failedCommands: r.failed,
      startupLocality: startup?.locality ?? null,
      pcrReadsInLog: r.reads.length,
      readMismatches: [...x.result.readMismatches],
      realSource: x.result.realSource,
      finalReadError: x.capture.finalRead.why ?? null,
      captureMismatches: [...x.result.captureMismatches],
      extends: extendsNow.map((e) => ({
        pcr: e.pcr,
        via: e.via,
        command: e.command,
        line: e.line,
        digests: Object.fromEntries(Object.entries(e.digests).map(([b, d]) => [b, hex(d)])),
      })),
    },
    pcrs: x.result.verdicts.map((v) => ({
      pcr: v.pcr,
      bank: v.bank,
      predicted: v.predicted,
      real: v.real,
      ok: v.ok,
    })),
    notCompared: [...x.result.notCompared],
    notPredicted: x.doc.notPredicted.map((n) => ({ pcr: n.pcr, reason: n.reason })),
    departures: x.result.extendDiff.pcrs.map((p) => ({
      pcr: p.pcr,
      ok: p.ok,
      predictedExtends: p.expectedCount,
      tpmExtends: p.actualCount,
      first:
        p.first === undefined
          ? null
          : {
              position: p.first.position,
              reason: p.first.reason,
              bank: p.first.bank ?? null,
              expected:
                p.first.expected === undefined
                  ? null
                  : { type: eventTypeName(p.first.expected.type), description: p.first.expected.description },
              command: p.first.actual?.command ?? null,
              line: p.first.actual?.line ?? null,
              message: p.first.message,
            },
    })),
    real: Object.fromEntries(Object.entries(x.result.real).map(([b, vals]) => [b, [...(vals ?? [])]])),
    crossCheck: { eventLog: cross(x.result.eventLogCheck), guestPcrs: cross(x.result.guestPcrCheck) },
  };
}
