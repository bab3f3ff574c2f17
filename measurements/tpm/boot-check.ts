// The verdict of `nodeimg boot-check`: a measurements document (the prediction) against what the TPM
// really received during a boot (the replay of swtpm's log) and the PCR values read from it at the
// end. Also cross-checks the TPM side with the firmware event log and the PCRs the guest read, when
// the guest printed them. Pure.
import { toHex } from '../../image/formats/reader.js';
import type { MeasurementsDocument } from '../document.js';
import { expectedFromDocument } from '../document.js';
import { asExpected } from '../eventlog/expected-event.js';
import { startupLocalityOf } from '../eventlog/no-action.js';
import { EV, type DecodedEventLog } from '../eventlog/types.js';
import { ALL_HASH_ALGS, isHashAlg, type HashAlg } from '../hash.js';
import { PCR_COUNT } from '../register.js';
import { diffExtends, type ExtendDiff } from './extend-diff.js';
import { currentExtends, type TpmReplay } from './replay.js';

export type PcrHex = Partial<Record<HashAlg, readonly string[]>>;

export interface PcrVerdict {
  readonly pcr: number;
  readonly bank: HashAlg;
  readonly predicted: string;
  readonly real: string;
  readonly ok: boolean;
}

export interface BootCheckInput {
  readonly document: MeasurementsDocument;
  readonly replay: TpmReplay;
  /** PCR 0-23 read from the TPM after the boot, per bank, when that was possible. */
  readonly read?: Partial<Record<HashAlg, readonly Uint8Array[]>>;
  /** The firmware event log as the guest exposed it (the lab images print it on the console). */
  readonly eventLog?: DecodedEventLog;
  /** PCR values the guest read (lower-case hex per bank), likewise. */
  readonly guestPcrs?: Readonly<Record<string, readonly string[] | undefined>>;
}

export interface CrossCheck {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

export interface BootCheckResult {
  /** Every predicted PCR equals the real one in every bank both have (and at least one was compared). */
  readonly ok: boolean;
  /** Where `real` comes from: a read of the TPM after the boot, or (when impossible) the replay of its log. */
  readonly realSource: 'tpm-read' | 'replay';
  readonly real: PcrHex;
  readonly verdicts: readonly PcrVerdict[];
  /** Predicted values that could not be compared, in words. */
  readonly notCompared: readonly string[];
  /** Predicted events against the TPM-side extends, per predicted PCR. */
  readonly extendDiff: ExtendDiff;
  /** The replay of the log and the final read disagree (the capture cannot be trusted); in words. */
  readonly captureMismatches: readonly string[];
  /** TPM2_PCR_Read responses in the log that disagree with the replay at that point; in words. */
  readonly readMismatches: readonly string[];
  readonly readsChecked: number;
  readonly eventLogCheck?: CrossCheck;
  readonly guestPcrCheck?: CrossCheck;
}

const MAX_LISTED = 20;

function hexBanks(v: Partial<Record<HashAlg, readonly Uint8Array[]>>): PcrHex {
  const out: PcrHex = {};
  for (const b of ALL_HASH_ALGS) {
    const vals = v[b];
    if (vals !== undefined) out[b] = vals.map((x) => toHex(x));
  }
  return out;
}

function capped(lines: string[]): string[] {
  return lines.length > MAX_LISTED
    ? [...lines.slice(0, MAX_LISTED), `... and ${lines.length - MAX_LISTED} more`]
    : lines;
}

export function checkBoot(input: BootCheckInput): BootCheckResult {
  const { document: doc, replay } = input;
  const replayed = hexBanks(replay.pcrs);
  const read = input.read === undefined ? undefined : hexBanks(input.read);
  const real = read ?? replayed;

  // the capture itself: the final read against the replay of everything the TPM logged
  const captureMismatches: string[] = [];
  if (read !== undefined) {
    for (const b of replay.banks) {
      for (let i = 0; i < PCR_COUNT; i++) {
        const r = read[b]?.[i];
        const p = replayed[b]?.[i];
        if (r !== p)
          captureMismatches.push(
            `PCR ${i} ${b}: read ${r ?? 'nothing'} from the TPM, the replay of its log gives ${p ?? 'nothing'}`,
          );
      }
    }
  }
  const readMismatches: string[] = [];
  for (const r of replay.reads) {
    for (const m of r.mismatches) {
      readMismatches.push(
        `TPM2_PCR_Read at swtpm log line ${r.line}: PCR ${m.pcr} ${m.bank} was ${toHex(m.read)}, the replay gives ${m.replayed === undefined ? 'no value' : toHex(m.replayed)}`,
      );
    }
  }

  // the verdicts
  const verdicts: PcrVerdict[] = [];
  const notCompared: string[] = [];
  const predictedPcrs = Object.keys(doc.pcrs)
    .map(Number)
    .sort((a, b) => a - b);
  for (const pcr of predictedPcrs) {
    const p = doc.pcrs[String(pcr)];
    if (p === undefined) continue;
    for (const [bank, predicted] of Object.entries(p.expected)) {
      if (!isHashAlg(bank) || predicted === undefined) continue;
      const value = real[bank]?.[pcr];
      if (value === undefined) {
        notCompared.push(`PCR ${pcr} ${bank}: the TPM has no ${bank} bank`);
        continue;
      }
      verdicts.push({ pcr, bank, predicted, real: value, ok: predicted === value });
    }
  }

  // predicted events against the TPM-side extends (digests and order only)
  const extendDiff = diffExtends(expectedFromDocument(doc, predictedPcrs), currentExtends(replay), {
    pcrs: predictedPcrs,
    banks: replay.banks,
  });

  const result: BootCheckResult = {
    ok: verdicts.length > 0 && verdicts.every((v) => v.ok),
    realSource: read === undefined ? 'replay' : 'tpm-read',
    real,
    verdicts,
    notCompared,
    extendDiff,
    captureMismatches: capped(captureMismatches),
    readMismatches: capped(readMismatches),
    readsChecked: replay.reads.length,
    ...(input.eventLog === undefined ? {} : { eventLogCheck: checkEventLog(input.eventLog, replay) }),
    ...(input.guestPcrs === undefined
      ? {}
      : { guestPcrCheck: checkGuestPcrs(input.guestPcrs, real, replay.banks) }),
  };
  return result;
}

/** The firmware event log against the TPM-side extends, for every PCR the log extends. */
export function checkEventLog(log: DecodedEventLog, replay: TpmReplay): CrossCheck {
  const uintnSize = log.specId.uintnSize;
  const events = log.events.map((e) => asExpected(e, { uintnSize }));
  const extendsNow = currentExtends(replay);
  const logPcrs = [...new Set(events.filter((e) => e.type !== EV.NO_ACTION).map((e) => e.pcr))].sort(
    (a, b) => a - b,
  );
  const diff = diffExtends(events, extendsNow, { pcrs: logPcrs, banks: replay.banks, expectedAs: 'logged' });
  const lines: string[] = [];
  for (const p of diff.pcrs) if (p.first !== undefined) lines.push(p.first.message);
  const locality =
    log.events
      .map((e) => (e.untrustedType === EV.NO_ACTION ? startupLocalityOf(e.data) : undefined))
      .find((x) => x !== undefined) ?? 0;
  const startup = replay.startups.at(-1);
  const localityOk = startup === undefined || startup.locality === locality;
  if (!localityOk)
    lines.push(
      `the event log states startup locality ${locality}, TPM2_Startup came at locality ${startup?.locality}`,
    );
  const tpmOnly = [...new Set(extendsNow.map((e) => e.pcr))]
    .filter((p) => !logPcrs.includes(p))
    .sort((a, b) => a - b);
  const agree = diff.pcrs.filter((p) => p.ok);
  lines.push(
    diff.ok
      ? `the firmware event log (${events.length} events) and the TPM agree on every extend of PCR ${logPcrs.join(', ')}`
      : `the firmware event log and the TPM agree on PCR ${agree.map((p) => p.pcr).join(', ') || 'none'}`,
  );
  if (tpmOnly.length > 0)
    lines.push(
      `extended by the TPM but not in the firmware log (the OS's own measurements): PCR ${tpmOnly.join(', ')}`,
    );
  return { ok: diff.ok && localityOk, lines };
}

function checkGuestPcrs(
  guest: Readonly<Record<string, readonly string[] | undefined>>,
  real: PcrHex,
  banks: readonly HashAlg[],
): CrossCheck {
  const lines: string[] = [];
  let compared = 0;
  for (const b of banks) {
    const g = guest[b];
    if (g === undefined) continue;
    for (let i = 0; i < PCR_COUNT; i++) {
      const gv = g[i]?.toLowerCase();
      if (gv === undefined) continue;
      compared++;
      if (gv !== real[b]?.[i])
        lines.push(`PCR ${i} ${b}: the guest read ${gv}, the TPM has ${real[b]?.[i] ?? 'nothing'}`);
    }
  }
  const ok = lines.length === 0 && compared > 0;
  const out = capped(lines);
  out.push(
    ok
      ? `the ${compared} PCR values the guest read equal the TPM's`
      : compared === 0
        ? 'the guest printed no PCR of an allocated bank'
        : `${lines.length} of ${compared} PCR values the guest read differ`,
  );
  return { ok, lines: out };
}
