// Inputs of `nodeimg eventlog`: reading a binary_bios_measurements file (whole, with a size cap: the
// securityfs file reports size 0, so it is read to EOF), decoding it with the path in error messages,
// and parsing the --pcr / --bank lists.
import { NodeimgError, UsageError } from '../errors.js';
import { ALL_HASH_ALGS, isHashAlg, type HashAlg } from '../../measurements/hash.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import type { DecodedEventLog } from '../../measurements/eventlog/types.js';
import { PCR_COUNT } from '../../measurements/register.js';
import type { CommandIo } from '../command.js';
import { readSmallFile } from './read-small-file.js';

// moved to read-small-file.ts (no event-log decoder for callers that only read a key or root)
export { readSmallFile };

/** Largest event log accepted (real ones are a few KiB; a long dbx list adds tens of KiB). */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

export interface LoadedLog {
  readonly path: string;
  readonly size: number;
  readonly log: DecodedEventLog;
}

/** Reads and decodes a log; decode errors keep their code and name the file; warnings go to stderr. */
export async function loadLog(path: string, io: CommandIo): Promise<LoadedLog> {
  const bytes = await readSmallFile(path, MAX_LOG_BYTES, 'a TCG event log');
  let log: DecodedEventLog;
  try {
    log = decodeEventLog(bytes);
  } catch (err) {
    if (!(err instanceof NodeimgError)) throw err;
    throw new NodeimgError(err.code, `${path}: ${err.message}`, {
      cause: err,
      hint:
        err.hint ??
        'expected a TPM 2.0 crypto-agile log (/sys/kernel/security/tpm0/binary_bios_measurements)',
    });
  }
  for (const w of log.warnings)
    io.stderr.write(`warning: ${path}: ${w.message} (${w.id} at byte ${w.offset})\n`);
  return { path, size: bytes.length, log };
}

function listItems(v: string | boolean | (string | boolean)[] | undefined): string[] {
  const items = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return items
    .flatMap((x) => String(x).split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `--pcr 4,5 --pcr 7` or ranges `--pcr 0-7`: sorted, unique; undefined when not given. */
export function parsePcrList(v: string | boolean | (string | boolean)[] | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const out = new Set<number>();
  for (const item of listItems(v)) {
    const m = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(item);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (m === null || lo > hi || hi >= PCR_COUNT)
      throw new UsageError(`--pcr: '${item}' is not a PCR number or range within 0-${PCR_COUNT - 1}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  if (out.size === 0) throw new UsageError('--pcr needs at least one PCR number');
  return [...out].sort((a, b) => a - b);
}

/** `--bank sha256,sha384`: in TPM_ALG_ID order; undefined when not given. */
export function parseBankList(v: string | boolean | (string | boolean)[] | undefined): HashAlg[] | undefined {
  if (v === undefined) return undefined;
  const items = listItems(v);
  for (const b of items)
    if (!isHashAlg(b))
      throw new UsageError(`--bank: unknown bank '${b}' (known: ${ALL_HASH_ALGS.join(', ')})`);
  if (items.length === 0) throw new UsageError('--bank needs at least one bank');
  return ALL_HASH_ALGS.filter((a) => items.includes(a));
}

/** The banks of `wanted` the log declares; a bank it lacks is a usage error naming what it has. */
export function logBanks(loaded: LoadedLog, wanted: readonly HashAlg[] | undefined): HashAlg[] {
  const declared = loaded.log.specId.algorithms.map((a) => a.alg);
  if (wanted === undefined) return ALL_HASH_ALGS.filter((a) => declared.includes(a));
  const missing = wanted.filter((b) => !declared.includes(b));
  if (missing.length > 0)
    throw new UsageError(`${loaded.path} has no ${missing.join(', ')} bank (it has ${declared.join(', ')})`);
  return [...wanted];
}
