// One predicted TDX runtime measurement (an entry of the CC event log, measured-boot.md §9.2) and
// the RTMR layout variants. Digests are SHA-384 (TDG.MR.RTMR.EXTEND; measured-boot.md §0.2).
//
// RTMR LAYOUT. Tools disagree about one event: the separator OVMF measures at ReadyToBoot, right
// after "Calling EFI Application from Boot Option" (launch-measurements.md §2.3, "Disagreement"):
//   'dstack'  it goes to RTMR1: dstack-mr src/kernel.rs rtmr1_log and virtee/tdx-measure, whose
//             values dstack compares with quotes of real TDs; measured-boot.md §9.2 ("one separator
//             in RTMR1"). This is the default.
//   'quex'    it goes to RTMR0: quex-tech/td-report-web reproduce.mjs (the source of the TDX
//             vectors). Upstream edk2 SecurityPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c OnReadyToBoot, read
//             literally, agrees: it calls MeasureSeparatorEvent (1), and TdxDxeHashLogExtendEvent
//             extends RTMR[MrIndex - 1] = RTMR0 (tianocore/edk2 at e3bc2ff2 and 10586c39).
// Which one a given OVMF build produces must be settled by one real TD quote (or CCEL); both are
// offered. Every other event lands in the same register in both layouts. Producers emit events in
// chronological order with the 'dstack' register and flag the ReadyToBoot separator;
// withLayout() moves it.
import { NodeimgError } from '../../../image/formats/errors.js';
import { digest } from '../../hash.js';
import { RTMR_COUNT, RtmrBank } from '../../rtmr.js';

export type RtmrLayout = 'dstack' | 'quex';
export const RTMR_LAYOUTS: readonly RtmrLayout[] = ['dstack', 'quex'];

export interface CcEvent {
  /** RTMR index 0-3 (the CCEL's MR index is this + 1). */
  readonly rtmr: number;
  /** TCG event type (EV.*). */
  readonly type: number;
  /** What was measured, in words (the names quex's tool and the TDX vectors use where they exist). */
  readonly name: string;
  /** SHA-384 digest extended into the RTMR. */
  readonly digest: Uint8Array;
  /** The event data written to the log, where it can be predicted. */
  readonly data?: Uint8Array | undefined;
  /** The separator measured at ReadyToBoot, whose register depends on the layout. */
  readonly readyToBootSeparator?: boolean;
}

/** An event measuring `preimage`: digest = SHA-384(preimage). */
export function ccEvent(
  rtmr: number,
  type: number,
  name: string,
  preimage: Uint8Array,
  data?: Uint8Array,
): CcEvent {
  return { rtmr, type, name, digest: digest('sha384', preimage), data: data ?? preimage };
}

/** The events with the ReadyToBoot separator placed as `layout` says. */
export function withLayout(events: readonly CcEvent[], layout: RtmrLayout): CcEvent[] {
  return events.map((e) => (e.readyToBootSeparator ? { ...e, rtmr: layout === 'quex' ? 0 : 1 } : e));
}

/** RTMR0-3 after extending every event in order (RTMR = SHA-384(RTMR || digest), from zeros). */
export function composeRtmrs(events: readonly CcEvent[]): Uint8Array[] {
  const bank = new RtmrBank();
  for (const e of events) {
    if (!Number.isInteger(e.rtmr) || e.rtmr < 0 || e.rtmr >= RTMR_COUNT)
      throw new NodeimgError('INTERNAL', `event "${e.name}" targets RTMR ${e.rtmr}`);
    bank.extendDigest(e.rtmr, e.digest);
  }
  return [...bank.values()];
}

/** UTF-16LE without a terminator. */
export function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    out[2 * i] = s.charCodeAt(i) & 0xff;
    out[2 * i + 1] = s.charCodeAt(i) >> 8;
  }
  return out;
}

export function asciiBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}
