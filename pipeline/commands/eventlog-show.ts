// `nodeimg eventlog show <log> [--json] [--pcr N,...] [--bank alg,...]`: one line per event.
import { toHex } from '../../image/formats/reader.js';
import { describeEvent } from '../../measurements/eventlog/describe.js';
import type { ParsedArgs, CommandIo } from '../command.js';
import { writeJson } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../render.js';
import { loadLog, logBanks, parseBankList, parsePcrList } from './eventlog-input.js';
import {
  EVENTLOG_SCHEMA_ID,
  assertEventlogJson,
  eventJson,
  specIdJson,
  warningsJson,
} from './eventlog-json.js';

export async function runShow(path: string, args: ParsedArgs, io: CommandIo): Promise<number> {
  const pcrs = parsePcrList(args.values['pcr']);
  const wanted = parseBankList(args.values['bank']);
  const loaded = await loadLog(path, io);
  const { log } = loaded;
  const json = args.values['json'] === true;
  // Text shows sha256 unless --bank says otherwise; JSON has every bank unless --bank says otherwise.
  const declared = logBanks(loaded, undefined);
  const banks =
    wanted !== undefined
      ? logBanks(loaded, wanted)
      : json
        ? declared
        : declared.includes('sha256')
          ? ['sha256' as const]
          : declared.slice(0, 1);
  const describe = { uintnSize: log.specId.uintnSize };
  const events = log.events.filter((e) => pcrs === undefined || pcrs.includes(e.pcr));

  if (json) {
    const doc = {
      $schema: EVENTLOG_SCHEMA_ID,
      command: 'show',
      input: { path, size: loaded.size },
      headerPcr: log.headerPcr,
      specId: specIdJson(log.specId),
      pcrFilter: pcrs ?? null,
      events: events.map((e) => eventJson(e, describeEvent(e, describe), banks)),
      trailing:
        log.trailing === undefined ? null : { offset: log.trailing.offset, size: log.trailing.bytes.length },
      warnings: warningsJson(log.warnings),
    };
    assertEventlogJson('eventlog show output', doc);
    writeJson(io, doc);
    return EXIT.ok;
  }

  const s = log.specId;
  const out: string[] = [
    `${path}: ${log.events.length} events, ${loaded.size} bytes; Spec ID Event03 v${s.specVersion.major}.${s.specVersion.minor} errata ${s.errata}, ` +
      `banks ${declared.join(', ')}, UINTN ${s.uintnSize === 1 ? 4 : 8} bytes`,
  ];
  if (pcrs !== undefined) out.push(`showing ${events.length} event(s) of PCR ${pcrs.join(', ')}`);
  out.push(
    table(
      ['#', 'PCR', 'type', ...banks, 'description'],
      events.map((e) => [
        String(e.index),
        String(e.pcr),
        e.typeName,
        ...banks.map((b) => (e.claimedDigests[b] === undefined ? '-' : toHex(e.claimedDigests[b]))),
        describeEvent(e, describe),
      ]),
    ),
  );
  if (log.trailing !== undefined)
    out.push(
      `${log.trailing.bytes.length} bytes after the last event from byte ${log.trailing.offset} (padding)`,
    );
  io.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}
