// `nodeimg eventlog replay <log> [--pcrs values.json] [--pcr N,...] [--bank alg,...] [--json]`.
import { toHex } from '../../image/formats/reader.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { PCR_COUNT } from '../../measurements/register.js';
import type { CommandIo, ParsedArgs } from '../command.js';
import { writeJson } from '../command.js';
import { CheckFailedError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../render.js';
import {
  checkReplay,
  failureLines,
  FIRMWARE_PCRS,
  type RegisterCheck,
  type ReplayCheck,
} from './eventlog-check.js';
import { loadLog, logBanks, parseBankList, parsePcrList } from './eventlog-input.js';
import { EVENTLOG_SCHEMA_ID, assertEventlogJson, warningsJson } from './eventlog-json.js';
import { readQuotedPcrs } from './eventlog-quoted.js';

export async function runReplay(path: string, args: ParsedArgs, io: CommandIo): Promise<number> {
  const pcrs = parsePcrList(args.values['pcr']);
  const bankOpt = parseBankList(args.values['bank']);
  const quotedPath = typeof args.values['pcrs'] === 'string' ? args.values['pcrs'] : undefined;
  const loaded = await loadLog(path, io);
  const banks = logBanks(loaded, bankOpt);
  const replay = replayEventLog(loaded.log, { banks });
  for (const w of replay.warnings) io.stderr.write(`warning: ${path}: ${w}\n`);
  let check: ReplayCheck | undefined;
  if (quotedPath !== undefined) {
    check = checkReplay(replay, await readQuotedPcrs(quotedPath), { banks: bankOpt, pcrs });
    if (check.registers.length === 0)
      throw new UsageError(`${quotedPath} has no value for the selected PCRs and banks`);
  }
  const shown = pcrs ?? Array.from({ length: PCR_COUNT }, (_, i) => i);
  const counts = new Map<number, number>();
  for (const e of replay.events) counts.set(e.pcr, (counts.get(e.pcr) ?? 0) + 1);

  if (args.values['json'] === true) {
    const doc = {
      $schema: EVENTLOG_SCHEMA_ID,
      command: 'replay',
      input: { path, size: loaded.size },
      banks: replay.banks,
      startupLocality: replay.startupLocality,
      eventCount: loaded.log.events.length,
      extendedPcrs: replay.extendedPcrs,
      pcrs: shown.map((pcr) => ({
        pcr,
        events: counts.get(pcr) ?? 0,
        values: Object.fromEntries(
          replay.banks.map((b) => [b, toHex(replay.pcrs[b]?.get(pcr) ?? new Uint8Array(0))]),
        ),
      })),
      warnings: warningsJson(loaded.log.warnings),
      replayWarnings: replay.warnings,
      check:
        check === undefined
          ? null
          : { path: quotedPath, ok: check.ok, notInLog: check.notInLog, registers: check.registers },
    };
    assertEventlogJson('eventlog replay output', doc);
    writeJson(io, doc);
  } else {
    const out = [
      `${path}: ${replay.events.length} extending events replayed into ${replay.banks.join(', ')} (startup locality ${replay.startupLocality})`,
    ];
    if (quotedPath !== undefined) out.push(`checked against ${quotedPath}`);
    const byKey = new Map((check?.registers ?? []).map((r) => [`${r.bank}/${r.pcr}`, r]));
    for (const bank of replay.banks) {
      const rows = shown.map((pcr) => {
        const value = toHex(replay.pcrs[bank]?.get(pcr) ?? new Uint8Array(0));
        const row = [String(pcr), String(counts.get(pcr) ?? 0), value];
        return check === undefined ? row : [...row, verdict(byKey.get(`${bank}/${pcr}`))];
      });
      out.push(
        '',
        `${bank}:`,
        table(['PCR', 'events', 'value', ...(check === undefined ? [] : ['check'])], rows, '  '),
      );
    }
    if (check !== undefined) out.push('', ...summary(check));
    io.stdout.write(`${out.join('\n')}\n`);
  }
  if (check !== undefined && !check.ok) {
    throw new CheckFailedError(
      `the replay of ${path} does not match ${check.failures.length} register(s) of ${quotedPath ?? ''}:\n  ${failureLines(check).join('\n  ')}`,
    );
  }
  return EXIT.ok;
}

function verdict(r: RegisterCheck | undefined): string {
  if (r === undefined) return 'not quoted';
  switch (r.status) {
    case 'match':
      return 'match';
    case 'reset':
      return 'reset value, no event (ok)';
    case 'mismatch':
      return `MISMATCH: quoted ${r.quoted}`;
    case 'bank-not-in-log':
      return 'MISMATCH: the log has no such bank';
    case 'not-in-log':
      return `${r.fails ? 'FAILS: ' : ''}not in the log: quoted ${r.quoted}`;
  }
}

function summary(c: ReplayCheck): string[] {
  const n = (s: RegisterCheck['status']): number => c.registers.filter((r) => r.status === s).length;
  const lines: string[] = [];
  for (const pcr of c.notInLog) {
    const head = `not in the log: PCR ${pcr}: no event of this log extends it, yet its value is not the reset value`;
    if (FIRMWARE_PCRS.includes(pcr)) {
      lines.push(
        `${head}: the log is incomplete (PCRs 0-7 belong to the firmware, whose log must explain them): FAILED.`,
      );
      continue;
    }
    const who = pcr === 10 ? 'IMA, with its own log,' : 'something that keeps its own log';
    const named = c.failures.some((r) => r.pcr === pcr) ? ' It was named with --pcr: FAILED.' : '';
    lines.push(`${head}; ${who} extended it. This log does not verify it.${named}`);
  }
  const counts = `${n('match')} match, ${n('reset')} at reset value with no event, ${n('not-in-log')} not in the log, ${n('mismatch') + n('bank-not-in-log')} mismatch`;
  lines.push(
    c.ok
      ? `OK: ${c.registers.length} quoted register(s) checked: ${counts}`
      : `FAILED: ${c.failures.length} of ${c.registers.length} quoted register(s) fail: ${counts}`,
  );
  return lines;
}
