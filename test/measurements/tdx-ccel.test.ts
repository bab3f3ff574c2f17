// CCEL replay: a synthetic CC event log built from a predicted direct boot (the first TDX vector's
// inputs), with edk2's quirks (Spec ID header index 1, an EV_NO_ACTION event, 0xFF fill after the
// last event), decodes with the TCG decoder and replays to the predicted RTMRs in both layouts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromBytes } from '../../image/formats/source.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { encodeEventLog } from '../../measurements/eventlog/encode.js';
import { buildSpecIdEvent } from '../../measurements/eventlog/spec-id.js';
import { EV, type EventRecord } from '../../measurements/eventlog/types.js';
import {
  RTMR_LAYOUTS,
  composeRtmrs,
  directBootEvents,
  modelAcpiBlobs,
  replayCcel,
  withLayout,
  type CcEvent,
} from '../../measurements/cvm/tdx/index.js';

const V = new URL('../../../shared/vectors/tdx/', import.meta.url);
const file = (p: string) => new Uint8Array(readFileSync(new URL(p, V)));
const SID = '../../cvm-measurement-data/firmware/debian-sid-ovmf-inteltdx_2026.08+ds-2/OVMF.inteltdx.ms.fd';

function ccel(events: readonly CcEvent[], records: EventRecord[] = []): Uint8Array {
  const specId = buildSpecIdEvent(['sha384']);
  const body: EventRecord[] = [
    {
      pcr: 1,
      untrustedType: EV.NO_ACTION,
      claimedDigests: { sha384: new Uint8Array(48) },
      data: new TextEncoder().encode('synthetic NO_ACTION'),
    },
    ...events.map((e) => ({
      pcr: e.rtmr + 1,
      untrustedType: e.type,
      claimedDigests: { sha384: e.digest },
      data: e.data ?? new Uint8Array(0),
    })),
    ...records,
  ];
  return encodeEventLog({
    headerPcr: 1,
    specId,
    events: body,
    trailing: { bytes: new Uint8Array(512).fill(0xff) },
  });
}

async function predicted(): Promise<CcEvent[]> {
  const firmware = fromBytes(file(SID));
  const r = await directBootEvents({
    firmware,
    metadata: await readTdvfMetadata(firmware),
    memoryBytes: 2 ** 30,
    acpi: modelAcpiBlobs(file('inputs/acpi_tables_synthetic.bin')),
    kernel: fromBytes(file('inputs/kernel.bin')),
    initrd: fromBytes(file('inputs/initrd.bin')),
    cmdline: 'console=ttyS0 loglevel=7',
  });
  return [...r.events];
}

describe('CCEL replay', () => {
  it.each(RTMR_LAYOUTS)('replays a synthetic CCEL to the predicted RTMRs (%s layout)', async (layout) => {
    const events = withLayout(await predicted(), layout);
    const log = decodeEventLog(ccel(events));
    expect(log.headerPcr).toBe(1);
    expect(log.warnings.map((w) => w.id)).toEqual(['TRAILING_PADDING']);
    const replay = replayCcel(log);
    expect(replay.rtmrs).toEqual(composeRtmrs(events));
    expect(replay.events).toHaveLength(events.length); // EV_NO_ACTION is not extended
    expect(replay.events.map((e) => e.mrIndex)).toEqual(events.map((e) => e.rtmr + 1));
    expect(replay.rtmrs[3]).toEqual(new Uint8Array(48));
  });

  it('extends RTMR3 for MR index 4 and refuses MR index 0 or 5', () => {
    const app = {
      untrustedType: EV.IPL,
      claimedDigests: { sha384: new Uint8Array(48).fill(7) },
      data: new Uint8Array(0),
    };
    const r = replayCcel(decodeEventLog(ccel([], [{ pcr: 4, ...app }])));
    expect(r.rtmrs[3]).not.toEqual(new Uint8Array(48));
    for (const pcr of [0, 5])
      expect(() => replayCcel(decodeEventLog(ccel([], [{ pcr, ...app }])))).toThrow(/MR index/);
  });

  it('refuses a log without a sha384 bank', () => {
    const log = encodeEventLog({ headerPcr: 0, specId: buildSpecIdEvent(['sha256']), events: [] });
    expect(() => replayCcel(decodeEventLog(log))).toThrow(/not a TDX CCEL/);
  });
});
