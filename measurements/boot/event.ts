// The predicted event: what one measurement puts into the TCG event log and into a PCR. Built by
// the per-PCR predictors, extended into PcrBanks by the simulator, and compared with real logs.
import { EV } from '../eventlog/types.js';
import { MultiHash, type HashAlg } from '../hash.js';
import type { BankDigests } from '../pcr-banks.js';

/** Whether a value follows from the image alone or needs the platform (firmware, VM, vars). */
export type Origin = 'image' | 'platform' | 'constant';

export interface PredictedEvent {
  readonly pcr: number;
  readonly type: number;
  readonly digests: BankDigests;
  /**
   * The event data, where it can be predicted. Undefined when it depends on the running machine
   * (an image load event holds the load address and the device path of the disk controller).
   */
  readonly data: Uint8Array | undefined;
  /** What was measured, in words: "Authenticode of EFI/BOOT/BOOTX64.EFI". */
  readonly description: string;
  readonly origin: Origin;
}

const utf16 = (s: string) => {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    b[2 * i] = c & 0xff;
    b[2 * i + 1] = c >> 8;
  }
  return b;
};

/** UTF-16LE with a 2-byte NUL terminator (systemd's strsize16; measured-boot.md §4.1, §4.4). */
export function utf16z(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 2 + 2);
  b.set(utf16(s));
  return b;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

export function hashAll(banks: readonly HashAlg[], ...parts: Uint8Array[]): BankDigests {
  const h = new MultiHash(banks);
  for (const p of parts) h.update(p);
  return h.digests();
}

/** EV_EFI_ACTION: digest = H(ASCII string without NUL) = H(event data) (PFP §10.4.1; edk2 Tcg2Dxe). */
export function efiAction(banks: readonly HashAlg[], pcr: number, text: string): PredictedEvent {
  const data = ascii(text);
  return {
    pcr,
    type: EV.EFI_ACTION,
    digests: hashAll(banks, data),
    data,
    description: `EV_EFI_ACTION "${text}"`,
    origin: 'constant',
  };
}

/** EV_SEPARATOR 00000000 (edk2 Tcg2Dxe MeasureSeparatorEvent: digest = H(event data)). */
export function separator(banks: readonly HashAlg[], pcr: number): PredictedEvent {
  const data = new Uint8Array(4);
  return {
    pcr,
    type: EV.SEPARATOR,
    digests: hashAll(banks, data),
    data,
    description: 'separator',
    origin: 'constant',
  };
}

/** EV_IPL as systemd-stub/-boot log it: digest = H(buffer), data = description in UTF-16LE + NUL. */
export function ipl(
  pcr: number,
  digests: BankDigests,
  text: string,
  description: string,
  origin: Origin = 'image',
): PredictedEvent {
  return { pcr, type: EV.IPL, digests, data: utf16z(text), description, origin };
}

/** EV_EVENT_TAG: data = TCG_PCClientTaggedEvent {u32 id, u32 size, data}; digest = H(buffer). */
export function taggedEvent(
  pcr: number,
  tag: number,
  tagData: Uint8Array,
  digests: BankDigests,
  description: string,
): PredictedEvent {
  const data = new Uint8Array(8 + tagData.length);
  const v = new DataView(data.buffer);
  v.setUint32(0, tag, true);
  v.setUint32(4, tagData.length, true);
  data.set(tagData, 8);
  return { pcr, type: EV.EVENT_TAG, digests, data, description, origin: 'image' };
}

/** EV_EFI_BOOT_SERVICES_APPLICATION: digest = Authenticode of the PE; data holds runtime addresses. */
export function application(digests: BankDigests, what: string): PredictedEvent {
  return {
    pcr: 4,
    type: EV.EFI_BOOT_SERVICES_APPLICATION,
    digests,
    data: undefined,
    description: `Authenticode of ${what}`,
    origin: 'image',
  };
}
