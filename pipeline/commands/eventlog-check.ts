// The verdict of `nodeimg eventlog replay --pcrs`: every quoted (bank, PCR) register is compared with
// the replay by verifyAgainst and classified. The rule for registers no log event extends:
//   reset       value = the reset value: the log rightly claims nothing was measured there (ok);
//   not-in-log  value != reset value: something that keeps its own log extended it (IMA: PCR 10;
//               systemd-pcrextend: 11, 15; DRTM: 17-22). This log cannot verify that value. It fails for
//               PCRs 0-7, which the PFP reserves to the platform firmware and which the firmware's own
//               log must account for entirely (a value there means the log is incomplete), and for
//               every PCR named with --pcr; otherwise it is reported but not a failure.
import { toHex } from '../../image/formats/reader.js';
import type { ReplayResult } from '../../measurements/eventlog/replay.js';
import { verifyAgainst } from '../../measurements/eventlog/verify.js';
import { ALL_HASH_ALGS, type HashAlg } from '../../measurements/hash.js';
import type { PcrValues } from '../../measurements/pcr-banks.js';

/** PCRs the platform firmware owns (TCG PC Client PFP, "PCR usage"): all their events are in its log. */
export const FIRMWARE_PCRS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7];

export type RegisterStatus = 'match' | 'reset' | 'mismatch' | 'not-in-log' | 'bank-not-in-log';

export interface RegisterCheck {
  readonly bank: HashAlg;
  readonly pcr: number;
  readonly status: RegisterStatus;
  readonly quoted: string;
  readonly replayed: string | null;
  readonly fails: boolean;
}

export interface ReplayCheck {
  readonly ok: boolean;
  readonly registers: readonly RegisterCheck[];
  readonly failures: readonly RegisterCheck[];
  /** PCRs with at least one not-in-log register, ascending. */
  readonly notInLog: readonly number[];
}

/**
 * Checks `quoted`, restricted to `banks` (--bank; default every quoted bank) and `pcrs` (--pcr;
 * default every quoted PCR). PCRs named in `pcrs` must be explained by the log, like PCRs 0-7.
 */
export function checkReplay(
  replay: ReplayResult,
  quoted: PcrValues,
  opts: { readonly banks?: readonly HashAlg[] | undefined; readonly pcrs?: readonly number[] | undefined },
): ReplayCheck {
  const selected: Partial<Record<HashAlg, Map<number, Uint8Array>>> = {};
  for (const bank of ALL_HASH_ALGS) {
    const q = quoted[bank];
    if (q === undefined || (opts.banks !== undefined && !opts.banks.includes(bank))) continue;
    const m = new Map([...q].filter(([pcr]) => opts.pcrs === undefined || opts.pcrs.includes(pcr)));
    if (m.size > 0) selected[bank] = m;
  }
  const v = verifyAgainst(replay, selected);
  const bad = new Map(v.mismatches.map((m) => [`${m.alg}/${m.pcr}`, m]));
  const required = new Set([...FIRMWARE_PCRS, ...(opts.pcrs ?? [])]);
  const registers: RegisterCheck[] = [];
  for (const bank of ALL_HASH_ALGS) {
    for (const [pcr, value] of selected[bank] ?? []) {
      const got = replay.pcrs[bank]?.get(pcr);
      const extended = replay.extendedPcrs.includes(pcr);
      const m = bad.get(`${bank}/${pcr}`);
      const status: RegisterStatus =
        m === undefined
          ? extended
            ? 'match'
            : 'reset'
          : got === undefined
            ? 'bank-not-in-log'
            : extended
              ? 'mismatch'
              : 'not-in-log';
      const fails =
        status === 'mismatch' ||
        status === 'bank-not-in-log' ||
        (status === 'not-in-log' && required.has(pcr));
      registers.push({
        bank,
        pcr,
        status,
        quoted: toHex(value),
        replayed: got === undefined ? null : toHex(got),
        fails,
      });
    }
  }
  const failures = registers.filter((r) => r.fails);
  const notInLog = [...new Set(registers.filter((r) => r.status === 'not-in-log').map((r) => r.pcr))].sort(
    (a, b) => a - b,
  );
  return { ok: v.checked > 0 && failures.length === 0, registers, failures, notInLog };
}

/** One line per failing register, full hex (what a CHECK_FAILED message lists). */
export function failureLines(c: ReplayCheck): string[] {
  return c.failures.map((r) => {
    const what =
      r.status === 'bank-not-in-log'
        ? 'the log has no such bank'
        : r.status === 'not-in-log'
          ? `not in the log: no event extends it, but the quoted value is not the reset value ${r.replayed ?? ''}`
          : `replayed ${r.replayed ?? ''}`;
    return `${r.bank} PCR ${r.pcr}: quoted ${r.quoted}, ${what}`;
  });
}
