// Event-by-event comparison of an expected measurement sequence (a reference log, or later a predicted
// measurements document) with an actual log. A PCR's value depends only on the events extended into
// that PCR, in order (measured-boot.md §0.1), so the lists are compared per PCR as subsequences and
// the first event where they part is named in words. EV_NO_ACTION events are never extended (§2.1) and
// are skipped, except StartupLocality, which sets PCR 0's reset value.
import { ALL_HASH_ALGS, type HashAlg } from '../hash.js';
import { equalBytes } from './data-digest.js';
import type { DescribeOptions } from './describe.js';
import { extraMessage, mismatchMessage, missingMessage, preferred } from './diff-format.js';
import { asExpected, changesPcr, type AnyEvent, type ExpectedEvent } from './expected-event.js';
import type { TcgEvent } from './types.js';

export type DiffReason = 'digest' | 'type' | 'data' | 'missing' | 'extra';

export interface EventMismatch {
  /** 1-based position among the compared events of this PCR. */
  readonly position: number;
  readonly reason: DiffReason;
  /** The expected event at `position` (absent for 'extra'). */
  readonly expected?: ExpectedEvent;
  /** The actual event at `position` (absent for 'missing'); index = its log-wide index. */
  readonly actual?: ExpectedEvent;
  /** 'digest': the bank named in the message; 'data': the first differing byte. */
  readonly bank?: HashAlg;
  readonly dataOffset?: number;
  /** 'missing' / 'extra': how many events are missing / extra from `position` on. */
  readonly count?: number;
  readonly message: string;
}

export interface PcrDiff {
  readonly pcr: number;
  readonly ok: boolean;
  readonly expectedEvents: number;
  readonly actualEvents: number;
  readonly firstMismatch?: EventMismatch;
}

export interface EventDiff {
  readonly ok: boolean;
  /** Ascending by PCR. */
  readonly pcrs: readonly PcrDiff[];
}

export interface DiffOptions {
  /** PCRs to compare; default every PCR that an event of either side extends. */
  readonly pcrs?: readonly number[];
  /** Banks to compare; default all. Only banks present in both events are compared. */
  readonly banks?: readonly HashAlg[];
  /** For describing actual log events in messages (Spec ID uintnSize). */
  readonly describe?: DescribeOptions;
}

function byPcr<T extends AnyEvent>(events: readonly T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const e of events) {
    if (!changesPcr(e)) continue;
    const list = out.get(e.pcr);
    if (list) list.push(e);
    else out.set(e.pcr, [e]);
  }
  return out;
}

/** Compares, PCR by PCR, the events expected with those a log (or another expectation) has. */
export function diffEvents(
  expected: readonly ExpectedEvent[],
  actual: readonly TcgEvent[] | readonly ExpectedEvent[],
  opts: DiffOptions = {},
): EventDiff {
  const exp = byPcr(expected);
  const act = byPcr<AnyEvent>(actual);
  const selected = opts.pcrs ?? [...exp.keys(), ...act.keys()];
  const pcrs = [...new Set(selected)].sort((a, b) => a - b);
  const banks = opts.banks ?? ALL_HASH_ALGS;
  const describe = opts.describe ?? {};
  const results = pcrs.map((pcr): PcrDiff => {
    const e = exp.get(pcr) ?? [];
    const a = act.get(pcr) ?? [];
    const firstMismatch = firstDifference(pcr, e, a, banks, describe);
    const base = { pcr, ok: firstMismatch === undefined, expectedEvents: e.length, actualEvents: a.length };
    return firstMismatch === undefined ? base : { ...base, firstMismatch };
  });
  return { ok: results.every((r) => r.ok), pcrs: results };
}

function firstDifference(
  pcr: number,
  e: readonly ExpectedEvent[],
  a: readonly AnyEvent[],
  banks: readonly HashAlg[],
  describe: DescribeOptions,
): EventMismatch | undefined {
  const n = Math.min(e.length, a.length);
  for (let i = 0; i < n; i++) {
    const x = e[i] as ExpectedEvent;
    const y = asExpected(a[i] as AnyEvent, describe);
    const m = compare(x, y, banks);
    if (m !== undefined)
      return { position: i + 1, expected: x, actual: y, ...m, message: mismatchMessage(pcr, i + 1, x, y, m) };
  }
  if (e.length > n) {
    const x = e[n] as ExpectedEvent;
    const count = e.length - n;
    return {
      position: n + 1,
      reason: 'missing',
      expected: x,
      count,
      message: missingMessage(pcr, n + 1, e.length, x, a.length),
    };
  }
  if (a.length > n) {
    const y = asExpected(a[n] as AnyEvent, describe);
    const count = a.length - n;
    return {
      position: n + 1,
      reason: 'extra',
      actual: y,
      count,
      message: extraMessage(pcr, n + 1, e.length, y, count),
    };
  }
  return undefined;
}

/** What makes two events differ, in the order a reader cares: type, then digest, then data. */
export interface Difference {
  readonly reason: 'type' | 'digest' | 'data';
  readonly bank?: HashAlg;
  readonly dataOffset?: number;
}

function compare(x: ExpectedEvent, y: ExpectedEvent, banks: readonly HashAlg[]): Difference | undefined {
  if (x.type !== y.type) return { reason: 'type' };
  const wanted = preferred(banks.filter((b) => x.digests[b] !== undefined));
  const common = wanted.filter((b) => y.digests[b] !== undefined);
  // Expected digests in none of the actual event's banks cannot be confirmed: that is a difference.
  if (wanted.length > 0 && common.length === 0) return { reason: 'digest' };
  const bad = common.find((b) => !equalBytes(x.digests[b] as Uint8Array, y.digests[b] as Uint8Array));
  if (bad !== undefined) return { reason: 'digest', bank: bad };
  if (x.data !== undefined) {
    const yd = y.data ?? new Uint8Array(0);
    const at = firstByteDiff(x.data, yd);
    if (at !== undefined) return { reason: 'data', dataOffset: at };
  }
  return undefined;
}

function firstByteDiff(a: Uint8Array, b: Uint8Array): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? undefined : n;
}
