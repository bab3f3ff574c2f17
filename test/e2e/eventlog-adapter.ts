// Loads measurements/eventlog (written in parallel; imported by path at run time so this suite
// type-checks before it exists) and turns its replay result into lower-case hex per bank.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PcrBank } from '../../image/build/lab/index.js';

export interface EventlogModule {
  decodeEventLog(bytes: Uint8Array): unknown;
  replayEventLog(log: unknown): unknown;
}

const DIR = join(import.meta.dirname, '..', '..', 'measurements', 'eventlog');

function isFn(v: unknown): v is (...a: unknown[]) => unknown {
  return typeof v === 'function';
}

export async function loadEventlogModule(): Promise<EventlogModule> {
  const files = existsSync(join(DIR, 'index.ts')) ? ['index.ts', 'index.ts'] : ['decode.ts', 'replay.ts'];
  const [dec, rep] = await Promise.all(
    files.map(
      (f) => import(/* @vite-ignore */ pathToFileURL(join(DIR, f)).href) as Promise<Record<string, unknown>>,
    ),
  );
  const decodeEventLog = dec?.['decodeEventLog'];
  const replayEventLog = rep?.['replayEventLog'];
  if (!isFn(decodeEventLog) || !isFn(replayEventLog)) {
    throw new Error('measurements/eventlog exports no decodeEventLog/replayEventLog');
  }
  return { decodeEventLog: (b) => decodeEventLog(b), replayEventLog: (l) => replayEventLog(l) };
}

function hex(v: unknown): string {
  if (typeof v === 'string') return v.toLowerCase();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  throw new Error(`unexpected PCR value ${String(v)}`);
}

/** result.pcrs[bank] as Map<number, bytes|hex>, array or record -> hex strings indexed by PCR. */
export function replayedHex(result: unknown): Partial<Record<PcrBank, string[]>> {
  const pcrs = (result as { pcrs?: unknown } | undefined)?.pcrs;
  if (typeof pcrs !== 'object' || pcrs === null) throw new Error('replayEventLog returned no pcrs');
  const out: Partial<Record<PcrBank, string[]>> = {};
  for (const [bank, values] of Object.entries(pcrs)) {
    const entries: [number, unknown][] =
      values instanceof Map
        ? [...(values as Map<number, unknown>).entries()]
        : Array.isArray(values)
          ? values.map((x, i): [number, unknown] => [i, x])
          : Object.entries(values as Record<string, unknown>).map(([k, x]): [number, unknown] => [
              Number(k),
              x,
            ]);
    const arr: string[] = [];
    for (const [i, x] of entries) arr[i] = hex(x);
    out[bank as PcrBank] = arr;
  }
  return out;
}
