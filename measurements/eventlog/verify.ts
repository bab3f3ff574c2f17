// Comparison of a replay with PCR values a TPM quoted (go-eventlog EventLog.Verify / ReplayError):
// every mismatching (bank, PCR) is reported at once, and only events of PCRs that matched in every
// quoted bank come back as VerifiedEvent.
import { NodeimgError } from '../../image/formats/errors.js';
import { toHex } from '../../image/formats/reader.js';
import { ALL_HASH_ALGS, type HashAlg } from '../hash.js';
import type { PcrValues } from '../pcr-banks.js';
import { equalBytes } from './data-digest.js';
import type { ReplayResult, ReplayedEvent } from './replay.js';

export interface PcrMismatch {
  readonly pcr: number;
  readonly alg: HashAlg;
  /** The quoted (TPM) value. */
  readonly expected: Uint8Array;
  /** The replayed value; undefined if the log does not have that bank. */
  readonly got: Uint8Array | undefined;
}

/** An event whose PCR matched the quote in every quoted bank. */
export type VerifiedEvent = ReplayedEvent & { readonly verifiedBanks: readonly HashAlg[] };

export interface VerifyResult {
  /** True if at least one register was compared and none mismatched. */
  readonly ok: boolean;
  /** Number of (bank, PCR) pairs compared. */
  readonly checked: number;
  /** Sorted by bank (TPM_ALG_ID order), then PCR. */
  readonly mismatches: readonly PcrMismatch[];
  readonly verifiedEvents: readonly VerifiedEvent[];
}

/** Compares every quoted PCR with the replay. Quoted PCRs absent from the log must be at reset value. */
export function verifyAgainst(replayed: ReplayResult, quoted: PcrValues): VerifyResult {
  const mismatches: PcrMismatch[] = [];
  const goodBanks = new Map<number, HashAlg[]>();
  const badPcrs = new Set<number>();
  let checked = 0;
  for (const alg of ALL_HASH_ALGS) {
    const q = quoted[alg];
    if (q === undefined) continue;
    for (const pcr of [...q.keys()].sort((a, b) => a - b)) {
      const expected = q.get(pcr) as Uint8Array;
      const got = replayed.pcrs[alg]?.get(pcr);
      checked++;
      if (got !== undefined && equalBytes(got, expected)) {
        goodBanks.set(pcr, [...(goodBanks.get(pcr) ?? []), alg]);
      } else {
        mismatches.push({ pcr, alg, expected, got });
        badPcrs.add(pcr);
      }
    }
  }
  const verifiedEvents = replayed.events
    .filter((ev) => !badPcrs.has(ev.pcr) && goodBanks.has(ev.pcr))
    .map((ev) => ({ ...ev, verifiedBanks: goodBanks.get(ev.pcr) as HashAlg[] }));
  return { ok: checked > 0 && mismatches.length === 0, checked, mismatches, verifiedEvents };
}

/** Thrown by assertReplayMatches: lists every register that failed, like go-eventlog's ReplayError. */
export class ReplayError extends NodeimgError<'CHECK_FAILED'> {
  readonly mismatches: readonly PcrMismatch[];
  constructor(mismatches: readonly PcrMismatch[], message: string) {
    super('CHECK_FAILED', message);
    this.mismatches = mismatches;
  }
}
Object.defineProperty(ReplayError.prototype, 'name', { value: 'ReplayError', enumerable: false });

/** verifyAgainst, throwing ReplayError (all failing registers in one message) unless ok. */
export function assertReplayMatches(replayed: ReplayResult, quoted: PcrValues): readonly VerifiedEvent[] {
  const res = verifyAgainst(replayed, quoted);
  if (res.ok) return res.verifiedEvents;
  if (res.checked === 0) throw new ReplayError([], 'no quoted PCR values to verify the event log against');
  const lines = res.mismatches.map(
    (m) =>
      `  ${m.alg} PCR ${m.pcr}: quoted ${toHex(m.expected)}, replayed ${m.got === undefined ? '(bank not in log)' : toHex(m.got)}`,
  );
  throw new ReplayError(
    res.mismatches,
    `event log replay does not match ${res.mismatches.length} quoted register(s):\n${lines.join('\n')}`,
  );
}
