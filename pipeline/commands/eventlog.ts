// `nodeimg eventlog <show|replay|diff>`: list, replay and compare TCG (TPM 2.0 crypto-agile) event logs.
import type { Command, ParsedArgs } from '../command.js';
import { UsageError } from '../errors.js';
import { runDiff, runDiffAgainst } from './eventlog-diff.js';
import { MAX_LOG_BYTES } from './eventlog-input.js';
import { runReplay } from './eventlog-replay.js';
import { runShow } from './eventlog-show.js';

const USAGE = {
  show: 'nodeimg eventlog show <binary_bios_measurements> [--json] [--pcr N,...] [--bank ALG,...]',
  replay: 'nodeimg eventlog replay <log> [--pcrs values.json] [--pcr N,...] [--bank ALG,...] [--json]',
  diff: 'nodeimg eventlog diff <expected.bin> <actual.bin> | --against measurements.json <actual.bin> [--pcr N,...] [--bank ALG,...] [--strict-data] [--json]',
} as const;
type Sub = keyof typeof USAGE;

/** Options each subcommand accepts (parseArgs knows the union; the rest is refused here). */
const ACCEPTS: Record<Sub, readonly string[]> = {
  show: ['json', 'pcr', 'bank'],
  replay: ['json', 'pcr', 'bank', 'pcrs'],
  diff: ['json', 'pcr', 'bank', 'strict-data', 'against'],
};
const ARITY: Record<Sub, number> = { show: 1, replay: 1, diff: 2 };

const isSub = (s: string | undefined): s is Sub => s !== undefined && Object.hasOwn(USAGE, s);

export const eventlogCommand: Command = {
  name: 'eventlog',
  summary: 'Show, replay (and check against read PCR values) or compare TPM 2.0 event logs.',
  usage: 'nodeimg eventlog <show|replay|diff> <log>... [options]',
  help: `subcommands:
  ${USAGE.show}
      one line per event: number (0 is the Spec ID header, so events start at 1), PCR, type,
      digest (sha256 unless --bank), and what the event data says.
  ${USAGE.replay}
      recompute every PCR of every bank from the digests the log claims, and print them.
      With --pcrs, check them against the values a machine read (exit 1 on any failure; every
      failing bank/PCR is named).
  ${USAGE.diff}
      compare two logs PCR by PCR: for each PCR, the events extended into it, in order (events of
      other PCRs do not change its value). The first event where they part is named, with its
      number among that PCR's events and its number in the actual log. Exit 1 if they part.

arguments:
  <log>            a TCG PC Client crypto-agile event log, e.g. a copy of
                   /sys/kernel/security/tpm0/binary_bios_measurements (at most ${MAX_LOG_BYTES / 1024 / 1024} MiB)

options:
  --json           write one JSON document to stdout (schema: pipeline/schema/eventlog.schema.json;
                   digests and event data as lower-case hex); warnings go to stderr
  --pcr N,...      only these PCRs (repeatable; ranges like 0-7). replay: also the PCRs to check,
                   and each one named must be explained by the log (see below)
  --bank ALG,...   sha1, sha256, sha384, sha512. show: digest columns (default sha256; all in JSON).
                   replay: banks to replay and check (default all the log has). diff: banks to compare
                   (default all both events have)
  --pcrs FILE      (replay) PCR values to check the replay against, JSON in either form:
                     {"sha256": {"0": "<hex>", "7": "<hex>"}, "sha384": {...}}
                     {..., "pcrs": {"sha1": ["<hex PCR 0>", ..., "<hex PCR 23>"], "sha256": [...]}}
                   (the second is the lab record of test/fixtures/eventlogs/*.pcrs.json; null in an
                   array = no value). Hex in either case, 0x optional.
  --strict-data    (diff) also compare the data of EV_EFI_BOOT_SERVICES_APPLICATION/_DRIVER and
                   EV_EFI_RUNTIME_SERVICES_DRIVER events; it holds memory addresses that change from
                   boot to boot, so by default only their digests (Authenticode) are compared
  --against FILE   (diff) compare the log with a measurements document written by
                   \`nodeimg measure\`: its predicted events PCR by PCR, and its expected values
                   against the log's replay, for the PCRs it predicts (or --pcr)
  -h, --help       show this help

replay --pcrs, registers no log event extends:
  at the reset value        fine: the log rightly says nothing was measured there.
  not at the reset value    "not in the log": something that keeps its own log extended it (PCR 10:
                            the kernel's IMA; 15: systemd-pcrextend; 17-22: DRTM), so this log
                            cannot verify the value. Reported, not a failure, except for PCRs 0-7
                            (the PC Client PFP gives them to the firmware, whose log must explain
                            them: a value there means the log is incomplete) and PCRs named with
                            --pcr. A verifier must not trust a "not in the log" PCR from this log.
  Extends after boot into a PCR the log does touch (systemd-pcrextend's phases into PCR 11) are
  mismatches: this log alone cannot explain them. A quoted bank the log does not have fails. EV_NO_ACTION events are never extended; a
  StartupLocality event sets PCR 0's reset value. diff skips EV_NO_ACTION events, except
  StartupLocality.

exit codes: 0 ok / logs agree, 1 replay check failed or logs part, 2 usage, 3 malformed log or
values file (the message names the byte offset or JSON path), 4 file not readable.`,
  options: {
    json: { type: 'boolean' },
    pcr: { type: 'string', multiple: true },
    bank: { type: 'string', multiple: true },
    pcrs: { type: 'string' },
    'strict-data': { type: 'boolean' },
    against: { type: 'string' },
  },
  positionals: { min: 1, max: 3 },
  async run(args, io) {
    const [sub, ...files] = args.positionals;
    if (!isSub(sub))
      throw new UsageError(`unknown subcommand '${sub ?? ''}': expected show, replay or diff`, {
        hint: 'usage: nodeimg eventlog <show|replay|diff> <log>... [options]',
      });
    checkArgs(sub, args, files.length);
    if (sub === 'show') return runShow(files[0] as string, args, io);
    if (sub === 'replay') return runReplay(files[0] as string, args, io);
    const against = args.values['against'];
    if (typeof against === 'string') return runDiffAgainst(against, files[0] as string, args, io);
    return runDiff(files[0] as string, files[1] as string, args, io);
  },
};

function checkArgs(sub: Sub, args: ParsedArgs, n: number): void {
  const hint = `usage: ${USAGE[sub]}`;
  for (const [k, v] of Object.entries(args.values)) {
    if (v !== undefined && !ACCEPTS[sub].includes(k))
      throw new UsageError(`--${k} is not an option of eventlog ${sub}`, { hint });
  }
  const arity = sub === 'diff' && args.values['against'] !== undefined ? 1 : ARITY[sub];
  if (n !== arity)
    throw new UsageError(`eventlog ${sub} takes ${arity} file argument(s), got ${n}`, { hint });
}
