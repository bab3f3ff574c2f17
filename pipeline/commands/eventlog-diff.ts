// `nodeimg eventlog diff <expected.bin> <actual.bin> [--pcr N,...] [--bank alg,...] [--strict-data] [--json]`.
// The expected log becomes a list of ExpectedEvent (the same input a predicted measurements document
// will give diffEvents later), compared PCR by PCR with the actual log.
import { diffEvents, type EventDiff, type EventMismatch } from '../../measurements/eventlog/diff.js';
import { expectedFromLog, type ExpectedEvent } from '../../measurements/eventlog/expected-event.js';
import { readFile } from 'node:fs/promises';
import { toHex } from '../../image/formats/reader.js';
import { expectedFromDocument } from '../../measurements/document.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import type { HashAlg } from '../../measurements/hash.js';
import { assertMeasurementsDocument } from '../schema/validate.js';
import { formatDiff } from '../../measurements/eventlog/diff-format.js';
import type { CommandIo, ParsedArgs } from '../command.js';
import { writeJson } from '../command.js';
import { CheckFailedError, NodeimgError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { loadLog, logBanks, parseBankList, parsePcrList, type LoadedLog } from './eventlog-input.js';
import { EVENTLOG_SCHEMA_ID, assertEventlogJson, expectedEventJson, warningsJson } from './eventlog-json.js';

export async function runDiff(
  expectedPath: string,
  actualPath: string,
  args: ParsedArgs,
  io: CommandIo,
): Promise<number> {
  const strictData = args.values['strict-data'] === true;
  const expected = await loadLog(expectedPath, io);
  const actual = await loadLog(actualPath, io);
  // --bank must name banks both logs have; by default every bank both have is compared.
  const bankOpt = parseBankList(args.values['bank']);
  if (bankOpt !== undefined) logBanks(expected, bankOpt);
  const events = expectedFromLog(expected.log.events, {
    strictData,
    describe: { uintnSize: expected.log.specId.uintnSize },
  });
  return compare({ path: expectedPath, size: expected.size }, events, actual, args, io, strictData, []);
}

/**
 * `--against measurements.json`: the predicted events of a measurements document against a real
 * log, and the document's expected PCR values against the log's replay, for the PCRs it predicts.
 */
export async function runDiffAgainst(
  docPath: string,
  actualPath: string,
  args: ParsedArgs,
  io: CommandIo,
): Promise<number> {
  const text = await readFile(docPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new NodeimgError(
      err.code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED',
      `cannot read ${docPath}: ${err.message}`,
    );
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `${docPath} is not JSON: ${(err as Error).message}`);
  }
  assertMeasurementsDocument(doc);
  const actual = await loadLog(actualPath, io);
  const wanted = parsePcrList(args.values['pcr']) ?? Object.keys(doc.pcrs).map(Number);
  const events = expectedFromDocument(doc, wanted);
  // the values: replay the real log and compare each predicted PCR in every bank both have
  const replay = replayEventLog(actual.log);
  const valueMismatches: string[] = [];
  for (const pcr of wanted) {
    const p = doc.pcrs[String(pcr)];
    if (!p) continue;
    for (const [alg, want] of Object.entries(p.expected)) {
      const got = replay.pcrs[alg as HashAlg]?.get(pcr);
      if (got !== undefined && toHex(got) !== want)
        valueMismatches.push(`PCR ${pcr} ${alg}: predicted ${want}, the log replays to ${toHex(got)}`);
    }
  }
  return compare(
    { path: docPath, size: text.length },
    events,
    actual,
    { ...args, values: { ...args.values, pcr: wanted.map(String) } },
    io,
    false,
    valueMismatches,
  );
}

async function compare(
  expectedInput: { path: string; size: number },
  events: ExpectedEvent[],
  actual: LoadedLog,
  args: ParsedArgs,
  io: CommandIo,
  strictData: boolean,
  valueMismatches: readonly string[],
): Promise<number> {
  const pcrs = parsePcrList(args.values['pcr']);
  const bankOpt = parseBankList(args.values['bank']);
  const banks = bankOpt === undefined ? undefined : logBanks(actual, bankOpt);
  const result = diffEvents(events, actual.log.events, {
    ...(pcrs === undefined ? {} : { pcrs }),
    ...(banks === undefined ? {} : { banks }),
    describe: { uintnSize: actual.log.specId.uintnSize },
  });

  if (args.values['json'] === true) {
    const doc = {
      $schema: EVENTLOG_SCHEMA_ID,
      command: 'diff',
      expected: expectedInput,
      actual: input(actual),
      strictData,
      banks: banks ?? null,
      ok: result.ok && valueMismatches.length === 0,
      pcrs: result.pcrs.map((p) => ({
        pcr: p.pcr,
        ok: p.ok,
        expectedEvents: p.expectedEvents,
        actualEvents: p.actualEvents,
        firstMismatch: p.firstMismatch === undefined ? null : mismatchJson(p.firstMismatch),
      })),
      warnings: [...valueMismatches, ...warningsJson(actual.log.warnings)],
    };
    assertEventlogJson('eventlog diff output', doc);
    writeJson(io, doc);
  } else {
    const data = strictData
      ? ''
      : ' (image load event data, which holds memory addresses, not compared: --strict-data compares it)';
    const values = valueMismatches.map((m) => `${m}\n`).join('');
    io.stdout.write(
      `expected ${expectedInput.path}, actual ${actual.path}${data}\n${formatDiff(result)}${values}`,
    );
  }
  if (!result.ok || valueMismatches.length > 0) {
    const parts = differing(result);
    throw new CheckFailedError(
      parts.length
        ? `the event logs part on PCR ${parts.join(', ')}`
        : `the predicted PCR values differ: ${valueMismatches.join('; ')}`,
      { hint: 'the first difference of each PCR is listed on stdout' },
    );
  }
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
