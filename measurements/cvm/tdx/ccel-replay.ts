// Replay of a TDX CC event log (the ACPI CCEL table's log area; Linux
// /sys/firmware/acpi/tables/data/CCEL) into RTMR0-3 (measured-boot.md §9.2). The log has the
// crypto-agile TCG format, so decodeEventLog reads it; its PCRIndex field holds the CC MR index
// (1..4 = RTMR0..3) and events carry a SHA-384 digest. The Spec ID header's index (edk2 writes 1)
// is ignored. As with the TPM replay, the result is what the RTMRs hold *if* the log is honest:
// compare it with the RTMRs of a verified TD quote.
import { ParseError } from '../../../image/formats/errors.js';
import { EV, type SpecIdEvent, type TcgEvent } from '../../eventlog/types.js';
import { RtmrBank, rtmrIndexForMrIndex } from '../../rtmr.js';

export interface CcelReplayedEvent {
  readonly index: number;
  readonly offset: number;
  readonly mrIndex: number;
  readonly rtmr: number;
  readonly untrustedType: number;
  readonly typeName: string;
  readonly digest: Uint8Array;
  readonly data: Uint8Array;
}

export interface CcelReplay {
  /** RTMR0-3 after the replay (untouched ones stay zero). */
  readonly rtmrs: readonly Uint8Array[];
  readonly events: readonly CcelReplayedEvent[];
}

export function replayCcel(log: {
  readonly specId: SpecIdEvent;
  readonly events: readonly TcgEvent[];
}): CcelReplay {
  if (!log.specId.algorithms.some((a) => a.alg === 'sha384')) {
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      'CC event log',
      0,
      `the Spec ID event declares ${log.specId.algorithms.map((a) => a.alg).join(', ')}, not sha384: not a TDX CCEL`,
    );
  }
  const bank = new RtmrBank();
  const events: CcelReplayedEvent[] = [];
  for (const ev of log.events) {
    // EV_NO_ACTION is logged but never extended (PFP; TdTcg2Dxe.c TdxDxeHashLogExtendEvent).
    if (ev.untrustedType === EV.NO_ACTION) continue;
    const rtmr = rtmrIndexForMrIndex(ev.pcr);
    if (rtmr === undefined) {
      throw new ParseError(
        'PARSE_INVALID',
        `CCEL event #${ev.index}`,
        ev.offset,
        `MR index ${ev.pcr} is not an RTMR (1-4; 0 is MRTD, which is never extended at runtime)`,
      );
    }
    const digest = ev.claimedDigests.sha384;
    if (digest === undefined)
      throw new ParseError(
        'PARSE_INVALID',
        `CCEL event #${ev.index}`,
        ev.offset,
        `${ev.typeName} has no sha384 digest`,
      );
    bank.extendDigest(rtmr, digest);
    events.push({
      index: ev.index,
      offset: ev.offset,
      mrIndex: ev.pcr,
      rtmr,
      untrustedType: ev.untrustedType,
      typeName: ev.typeName,
      digest,
      data: ev.data,
    });
  }
  return { rtmrs: bank.values(), events };
}
