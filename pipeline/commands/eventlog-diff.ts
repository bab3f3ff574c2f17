// `nodeimg eventlog diff <expected.bin> <actual.bin> [--pcr N,...] [--bank alg,...] [--strict-data] [--json]`.
// The expected log becomes a list of ExpectedEvent (the same input a predicted measurements document
// will give diffEvents later), compared PCR by PCR with the actual log.
import { diffEvents, type EventDiff, type EventMismatch } from '../../measurements/eventlog/diff.js';
import { expectedFromLog } from '../../measurements/eventlog/expected-event.js';
import { formatDiff } from '../../measurements/eventlog/diff-format.js';
import type { CommandIo, ParsedArgs } from '../command.js';
import { writeJson } from '../command.js';
import { CheckFailedError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { loadLog, logBanks, parseBankList, parsePcrList, type LoadedLog } from './eventlog-input.js';
import { EVENTLOG_SCHEMA_ID, assertEventlogJson, expectedEventJson, warningsJson } from './eventlog-json.js';

export async function runDiff(
  expectedPath: string,
  actualPath: string,
  args: ParsedArgs,
  io: CommandIo,
): Promise<number> {
  const pcrs = parsePcrList(args.values['pcr']);
  const bankOpt = parseBankList(args.values['bank']);
  const strictData = args.values['strict-data'] === true;
  const expected = await loadLog(expectedPath, io);
  const actual = await loadLog(actualPath, io);
  // --bank must name banks both logs have; by default every bank both have is compared.
  if (bankOpt !== undefined) logBanks(expected, bankOpt);
  const banks = bankOpt === undefined ? undefined : logBanks(actual, bankOpt);
  const result = diffEvents(
    expectedFromLog(expected.log.events, {
      strictData,
      describe: { uintnSize: expected.log.specId.uintnSize },
    }),
    actual.log.events,
    {
      ...(pcrs === undefined ? {} : { pcrs }),
      ...(banks === undefined ? {} : { banks }),
      describe: { uintnSize: actual.log.specId.uintnSize },
    },
  );

  if (args.values['json'] === true) {
    const doc = {
      $schema: EVENTLOG_SCHEMA_ID,
      command: 'diff',
      expected: input(expected),
      actual: input(actual),
      strictData,
      banks: banks ?? null,
      ok: result.ok,
      pcrs: result.pcrs.map((p) => ({
        pcr: p.pcr,
        ok: p.ok,
        expectedEvents: p.expectedEvents,
        actualEvents: p.actualEvents,
        firstMismatch: p.firstMismatch === undefined ? null : mismatchJson(p.firstMismatch),
      })),
      warnings: [...warningsJson(expected.log.warnings), ...warningsJson(actual.log.warnings)],
    };
    assertEventlogJson('eventlog diff output', doc);
    writeJson(io, doc);
  } else {
    const data = strictData
      ? ''
      : ' (image load event data, which holds memory addresses, not compared: --strict-data compares it)';
    io.stdout.write(`expected ${expectedPath}, actual ${actualPath}${data}\n${formatDiff(result)}`);
  }
  if (!result.ok)
    throw new CheckFailedError(`the event logs part on PCR ${differing(result).join(', ')}`, {
      hint: 'the first difference of each PCR is listed on stdout',
    });
  return EXIT.ok;
}

function input(l: LoadedLog): { path: string; size: number } {
  return { path: l.path, size: l.size };
}

function differing(r: EventDiff): number[] {
  return r.pcrs.filter((p) => !p.ok).map((p) => p.pcr);
}

function mismatchJson(m: EventMismatch): Record<string, unknown> {
  return {
    position: m.position,
    reason: m.reason,
    message: m.message,
    bank: m.bank ?? null,
    dataOffset: m.dataOffset ?? null,
    count: m.count ?? null,
    expected: m.expected === undefined ? null : expectedEventJson(m.expected),
    actual: m.actual === undefined ? null : expectedEventJson(m.actual),
  };
}
