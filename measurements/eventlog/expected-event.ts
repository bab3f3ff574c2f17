// ExpectedEvent: one measurement as a prediction states it (what diffEvents compares a log with), and
// the conversions from log events: a reference log read as expectations leaves out the data of image
// load events, whose UEFI_IMAGE_LOAD_EVENT holds memory addresses that change from boot to boot
// (measured-boot.md §2.2). A predicted measurements document is converted to ExpectedEvent the same way.
import type { HashAlg } from '../hash.js';
import { describeEvent, type DescribeOptions } from './describe.js';
import { startupLocalityOf } from './no-action.js';
import { EV, type TcgEvent } from './types.js';

/** One event as a prediction states it; also what an actual log event is normalised to. */
export interface ExpectedEvent {
  readonly pcr: number;
  /** EventType value (EV.*). */
  readonly type: number;
  /** Digests per bank; banks absent here are not compared. */
  readonly digests: Partial<Record<HashAlg, Uint8Array>>;
  /** The event data, or undefined if it is not predictable (e.g. an image load event's memory address). */
  readonly data?: Uint8Array | undefined;
  /** What it is, e.g. "Authenticode of EFI/BOOT/BOOTX64.EFI". */
  readonly description: string;
  /** Log-wide position (TcgEvent.index) or document position; only used in messages. */
  readonly index?: number | undefined;
}

/** A log event or an expectation: diffEvents takes either as the actual side. */
export type AnyEvent = TcgEvent | ExpectedEvent;

const isLogEvent = (e: AnyEvent): e is TcgEvent => 'untrustedType' in e;
const typeOf = (e: AnyEvent): number => (isLogEvent(e) ? e.untrustedType : e.type);
const dataOf = (e: AnyEvent): Uint8Array | undefined => e.data;

/** Whether an event changes a PCR (or, for StartupLocality, its reset value) and so is compared. */
export function changesPcr(e: AnyEvent): boolean {
  if (typeOf(e) !== EV.NO_ACTION) return true;
  const d = dataOf(e);
  return d !== undefined && startupLocalityOf(d) !== undefined;
}

/** An actual (or expected) event in ExpectedEvent form, with the log's description and index. */
export function asExpected(e: AnyEvent, describe: DescribeOptions = {}): ExpectedEvent {
  if (!isLogEvent(e)) return e;
  return {
    pcr: e.pcr,
    type: e.untrustedType,
    digests: e.claimedDigests,
    data: e.data,
    description: describeEvent(e, describe),
    index: e.index,
  };
}

export interface FromLogOptions {
  /** Keep the data of image load events (memory addresses); default false: data undefined. */
  readonly strictData?: boolean;
  readonly describe?: DescribeOptions;
}

/** Event types whose data is a UEFI_IMAGE_LOAD_EVENT (memory addresses that vary between boots). */
export const IMAGE_LOAD_TYPES: ReadonlySet<number> = new Set([
  EV.EFI_BOOT_SERVICES_APPLICATION,
  EV.EFI_BOOT_SERVICES_DRIVER,
  EV.EFI_RUNTIME_SERVICES_DRIVER,
]);

/** A reference log's events as expectations (for `nodeimg eventlog diff <expected.bin> <actual.bin>`). */
export function expectedFromLog(events: readonly TcgEvent[], opts: FromLogOptions = {}): ExpectedEvent[] {
  return events.map((e) => {
    const x = asExpected(e, opts.describe);
    return opts.strictData !== true && IMAGE_LOAD_TYPES.has(e.untrustedType) ? { ...x, data: undefined } : x;
  });
}
