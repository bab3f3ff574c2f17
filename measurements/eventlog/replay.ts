// Event-log replay: recompute every PCR of every bank from the digests the log claims (TCG PC Client
// PFP; measured-boot.md §0.1, §2.1). The result says what the TPM's PCRs hold *if* the log is honest;
// verify.ts compares it with quoted PCRs, which is what makes events trustworthy.
import { NodeimgError, ParseError } from '../../image/formats/errors.js';
import type { HashAlg } from '../hash.js';
import { PcrBanks, type BankDigests, type PcrValues } from '../pcr-banks.js';
import { PCR_COUNT, isStartupLocality } from '../register.js';
import { dataDigestMatches } from './data-digest.js';
import { startupLocalityOf } from './no-action.js';
import { EV, type SpecIdEvent, type TcgEvent } from './types.js';

export interface ReplayOptions {
  /** Banks to replay; default every bank the Spec ID event declares. */
  readonly banks?: readonly HashAlg[];
}

/** An event that was extended during replay. Its digests are still the log's claims until verified. */
export interface ReplayedEvent {
  readonly index: number;
  readonly offset: number;
  readonly pcr: number;
  readonly untrustedType: number;
  readonly typeName: string;
  readonly data: Uint8Array;
  /** The digest extended into each replayed bank. */
  readonly digests: BankDigests;
  /** Informational: whether the digest is H(data) for types where it should be (data-digest.ts). */
  readonly dataDigestMatches: boolean | undefined;
}

export interface ReplayResult {
  readonly banks: readonly HashAlg[];
  /** Every replayed bank, PCR 0-23 in order (untouched PCRs keep their reset value). */
  readonly pcrs: PcrValues;
  /** PCRs at least one event extended, ascending. */
  readonly extendedPcrs: readonly number[];
  readonly startupLocality: number;
  readonly events: readonly ReplayedEvent[];
  readonly warnings: readonly string[];
}

export function replayEventLog(
  log: { readonly specId: SpecIdEvent; readonly events: readonly TcgEvent[] },
  opts: ReplayOptions = {},
): ReplayResult {
  const declared = log.specId.algorithms.map((a) => a.alg);
  const banks = opts.banks ?? declared;
  for (const b of banks) {
    if (!declared.includes(b))
      throw new NodeimgError('USAGE', `bank ${b} is not in the log's Spec ID event (${declared.join(', ')})`);
  }
  const pcrs = new PcrBanks(banks);
  const events: ReplayedEvent[] = [];
  const warnings: string[] = [];
  let startupLocality = 0;
  for (const ev of log.events) {
    const fail: (detail: string) => never = (detail) => {
      throw new ParseError('PARSE_INVALID', `TCG_PCR_EVENT2 #${ev.index}`, ev.offset, detail);
    };
    if (ev.untrustedType === EV.NO_ACTION) {
      // PFP: EV_NO_ACTION is never extended (tpm2-tools #3224, fwupd #9940). The one that matters is
      // StartupLocality: it sets PCR 0's reset value (go-eventlog replayPCR; tpm2-tools #3242).
      const locality = startupLocalityOf(ev.data);
      if (locality === undefined) continue;
      if (!isStartupLocality(locality)) fail(`StartupLocality ${locality} is not 0-4`);
      if (ev.pcr !== 0)
        warnings.push(`event ${ev.index}: StartupLocality logged for PCR ${ev.pcr}, not 0; ignored`);
      else if (pcrs.isExtended(0))
        warnings.push(`event ${ev.index}: StartupLocality after PCR 0 was extended; ignored`);
      else {
        pcrs.setStartupLocality(locality);
        startupLocality = locality;
      }
      continue;
    }
    if (!Number.isInteger(ev.pcr) || ev.pcr < 0 || ev.pcr >= PCR_COUNT)
      fail(`PCR index ${ev.pcr} is out of range 0-${PCR_COUNT - 1}`);
    const digests: BankDigests = {};
    for (const b of banks) {
      const d = ev.claimedDigests[b];
      if (d === undefined)
        fail(`${ev.typeName} for PCR ${ev.pcr} has no ${b} digest although the Spec ID event declares ${b}`);
      digests[b] = d;
    }
    // PCR[bank][pcr] = H_bank(PCR[bank][pcr] ‖ claimed digest_bank), every bank (measured-boot.md §0.1).
    pcrs.extendDigests(ev.pcr, digests);
    events.push({
      index: ev.index,
      offset: ev.offset,
      pcr: ev.pcr,
      untrustedType: ev.untrustedType,
      typeName: ev.typeName,
      data: ev.data,
      digests,
      dataDigestMatches: dataDigestMatches(ev),
    });
  }
  const extendedPcrs = Array.from({ length: PCR_COUNT }, (_, i) => i).filter((i) => pcrs.isExtended(i));
  return { banks: pcrs.banks, pcrs: pcrs.values(), extendedPcrs, startupLocality, events, warnings };
}
