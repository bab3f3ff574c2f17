// EV_NO_ACTION event data: never extended (all-zero digests), identified by a 16-byte signature
// (TCG PC Client PFP "EV_NO_ACTION Event Types"; edk2 UefiTcgPlatform.h; measured-boot.md §2.1).
import { ByteReader } from '../../image/formats/reader.js';
import { guidToString } from './efi-guid.js';
import { startsWith } from './spec-id.js';
import { hexSummary, latin1 } from './text.js';

const sig = (s: string): Uint8Array => new TextEncoder().encode(s);

/** TCG_EfiStartupLocalityEvent {Signature "StartupLocality\0"; u8 StartupLocality}: 17 bytes. */
export const STARTUP_LOCALITY_SIGNATURE = sig('StartupLocality\0');

/** The locality of a StartupLocality event's data, or undefined if the data is something else. */
export function startupLocalityOf(data: Uint8Array): number | undefined {
  if (data.length !== 17 || !startsWith(data, STARTUP_LOCALITY_SIGNATURE)) return undefined;
  return data[16];
}

const SIGNATURES: readonly [string, Uint8Array][] = [
  ['Spec ID Event03', sig('Spec ID Event03\0')],
  ['SP800-155 Event3', sig('SP800-155 Event3')],
  ['SP800-155 Event2', sig('SP800-155 Event2')],
  ['SP800-155 Event', sig('SP800-155 Event\0')],
  ['NvIndexInstance', sig('NvIndexInstance\0')],
  ['NvIndexDynamic', sig('NvIndexDynamic \0')],
];

export function describeNoAction(d: Uint8Array): string {
  const locality = startupLocalityOf(d);
  if (locality !== undefined) return `StartupLocality ${locality}`;
  for (const [name, s] of SIGNATURES) {
    if (!startsWith(d, s)) continue;
    if (name.startsWith('SP800-155')) {
      // TCG_Sp800_155_PlatformId_Event{,2,3}: Signature[16], u32 VendorId, EFI_GUID ReferenceManifestGuid, ...
      const r = new ByteReader(d, 'TCG_Sp800_155_PlatformId_Event');
      r.skip(16);
      const vendor = r.u32();
      return `${name}: vendor ${vendor}, reference manifest ${guidToString(r.read(16))} (${d.length} bytes)`;
    }
    return `${name} (${d.length} bytes)`;
  }
  const head = latin1(d.subarray(0, 16));
  return /^[\x20-\x7e]{4,}\0*$/.test(head)
    ? `"${head.replace(/\0+$/, '')}" ${hexSummary(d.subarray(16))}`
    : hexSummary(d);
}
