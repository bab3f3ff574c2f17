// Synthetic CC event logs (CCEL) for the TDX tests: the platform events of a vector of
// ../shared/vectors/tdx/vectors.json (predicted by directBootEvents from the vector's inputs, which
// tdx-vectors.test.ts checks against the vector's digests) arranged as the log of a TD that boots
// from disk: RTMR0 up to the boot variables, "Calling EFI Application from Boot Option", the
// ReadyToBoot separator where the layout puts it, then the recorded image's events. Encoded with the
// event-log codec replayCcel decodes, with edk2's quirks (Spec ID header index 1, 0xFF fill).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBytes } from '../../image/formats/source.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import { encodeEventLog } from '../../measurements/eventlog/encode.js';
import { buildSpecIdEvent } from '../../measurements/eventlog/spec-id.js';
import { EV } from '../../measurements/eventlog/types.js';
import {
  ccEvent,
  directBootEvents,
  modelAcpiBlobs,
  type CcEvent,
  type RtmrLayout,
} from '../../measurements/cvm/tdx/index.js';

export const TDX_VECTORS = fileURLToPath(
  new URL('../../../shared/vectors/tdx/vectors.json', import.meta.url),
);
const ROOT = dirname(TDX_VECTORS);

export interface TdxRtmrVector {
  readonly firmware: string;
  readonly memory_bytes: number;
  readonly acpi_tables: string;
  readonly kernel: string;
  readonly events: readonly { register: number; name: string; type: string; digest: string }[];
  readonly rtmr_quex_layout: readonly string[];
  readonly derived_rtmr0_rtmr1_dstack_layout: { readonly rtmr0: string; readonly rtmr1: string };
}
interface Vectors {
  readonly firmwares: Record<string, { readonly path: string }>;
  readonly rtmr: readonly TdxRtmrVector[];
}

export const tdxVectors = JSON.parse(readFileSync(TDX_VECTORS, 'utf8')) as Vectors;
export const vectorPath = (p: string) => join(ROOT, p);
export const firmwarePath = (name: string) => vectorPath(tdxVectors.firmwares[name]?.path ?? name);

/** The first RTMR vector of `firmware` with `memory` bytes. */
export function rtmrVector(firmware: string, memory: number): TdxRtmrVector {
  const v = tdxVectors.rtmr.find((x) => x.firmware === firmware && x.memory_bytes === memory);
  if (!v) throw new Error(`no RTMR vector for ${firmware} ${memory}`);
  return v;
}

/** The vector's RTMR0 events up to the boot variables, with the event data TDVF logs where known. */
export async function vectorPlatformEvents(v: TdxRtmrVector): Promise<CcEvent[]> {
  const firmware = fromBytes(new Uint8Array(readFileSync(firmwarePath(v.firmware))));
  const r = await directBootEvents({
    firmware,
    metadata: await readTdvfMetadata(firmware),
    memoryBytes: v.memory_bytes,
    acpi: modelAcpiBlobs(new Uint8Array(readFileSync(vectorPath(v.acpi_tables)))),
    kernel: fromBytes(new Uint8Array(readFileSync(vectorPath(v.kernel)))),
  });
  return r.events.filter((e) => e.rtmr === 0);
}

export const calling = (): CcEvent => {
  const text = 'Calling EFI Application from Boot Option';
  return ccEvent(1, EV.EFI_ACTION, text, new TextEncoder().encode(text));
};
export const separator = (rtmr: number): CcEvent =>
  ccEvent(rtmr, EV.SEPARATOR, 'Separator', new Uint8Array(4));

/** The CCEL bytes of `events` (MR index = RTMR + 1), after a Spec ID header with index 1. */
export function encodeCcel(events: readonly CcEvent[]): Uint8Array {
  return encodeEventLog({
    headerPcr: 1,
    specId: buildSpecIdEvent(['sha384']),
    events: events.map((e) => ({
      pcr: e.rtmr + 1,
      untrustedType: e.type,
      claimedDigests: { sha384: e.digest },
      data: e.data ?? new Uint8Array(0),
    })),
    trailing: { bytes: new Uint8Array(256).fill(0xff) },
  });
}

/** A disk boot's log: `platform`, "Calling", the ReadyToBoot separator per `layout`, then `image`. */
export function diskBootCcel(
  platform: readonly CcEvent[],
  layout: RtmrLayout,
  image: readonly CcEvent[] = [],
): Uint8Array {
  return encodeCcel([...platform, calling(), separator(layout === 'quex' ? 0 : 1), ...image]);
}
