// RTMR0 of a disk boot from a recorded CCEL (platform-ccel.ts) and from described boot variables
// (boot-order.ts): synthetic CCELs hold the platform events of the TDX vectors (TD HOB, CFV, Secure
// Boot configuration, ACPI blobs, boot variables), whose RTMR0 the vectors give; the image's events
// come from a hand-built prediction whose every event is known.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../image/formats/reader.js';
import {
  application,
  efiAction,
  hashAll,
  separator as predictedSeparator,
  type PredictedEvent,
} from '../../measurements/boot/event.js';
import type { Prediction } from '../../measurements/boot/predict.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { EV } from '../../measurements/eventlog/types.js';
import { digest } from '../../measurements/hash.js';
import {
  ccEvent,
  measuredBootVariables,
  platformFromCcel,
  predictUkiRtmrs,
  type CcEvent,
  type RtmrLayout,
} from '../../measurements/cvm/tdx/index.js';
import {
  calling,
  diskBootCcel,
  encodeCcel,
  rtmrVector,
  separator,
  vectorPlatformEvents,
} from '../helpers/tdx-ccel.js';

const B = ['sha384'] as const;
const d = (s: string) => hashAll(B, new TextEncoder().encode(s));
const chain = (...digests: Uint8Array[]) => {
  let r: Uint8Array = new Uint8Array(48);
  for (const x of digests) r = digest('sha384', r, x);
  return r;
};
const hex = (b: Uint8Array | undefined) => toHex(b ?? new Uint8Array(0));
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

const authorityData = new TextEncoder().encode('UEFI_VARIABLE_DATA of the db entry of the UKI signer');
const authority: PredictedEvent = {
  pcr: 7,
  type: EV.EFI_VARIABLE_AUTHORITY,
  digests: hashAll(B, authorityData),
  data: authorityData,
  description: 'db authority',
  origin: 'image',
};
const callingP = efiAction(B, 4, 'Calling EFI Application from Boot Option');
const gpt: PredictedEvent = {
  ...authority,
  pcr: 5,
  type: EV.EFI_GPT_EVENT,
  digests: d('gpt'),
  data: undefined,
};
const uki = application(d('uki'), 'BOOTX64.EFI');
const ebs = ['Exit Boot Services Invocation', 'Exit Boot Services Returned with Success'].map((t) =>
  efiAction(B, 5, t),
);

/** A direct UKI boot from disk: [PCR 7 config], Calling, separators, [authority], GPT, UKI, EBS. */
function prediction(config: readonly PredictedEvent[], withAuthority: boolean): Prediction {
  return {
    banks: [...B],
    events: [
      ...config,
      callingP,
      predictedSeparator(B, 4),
      predictedSeparator(B, 5),
      ...(withAuthority ? [authority] : []),
      gpt,
      uki,
      ...ebs,
    ],
    pcrs: new Map(),
    notPredicted: [0, 1, 2, 3, 6].map((pcr) => ({ pcr, reason: 'platform' })),
    pcr11Phases: [],
    versions: { stub: '257', stubRules: 257, loader: undefined, kernel: '6.12.48' },
    warnings: [],
  };
}
/** PCR 7 events with the same digests as CC events (the prediction agrees with the platform). */
const asPcr7 = (events: readonly CcEvent[]): PredictedEvent[] =>
  events.map((e) => ({
    pcr: 7,
    type: e.type,
    digests: { sha384: e.digest },
    data: e.data,
    description: e.name,
    origin: 'platform',
  }));

const LAYOUTS: RtmrLayout[] = ['dstack', 'quex'];
const expectedRtmr0 = (v: ReturnType<typeof rtmrVector>, layout: RtmrLayout) =>
  layout === 'quex' ? v.rtmr_quex_layout[0] : v.derived_rtmr0_rtmr1_dstack_layout.rtmr0;

describe('RTMR0 from a recorded CCEL', () => {
  it.each(LAYOUTS)(
    'takes every event before the boot option as recorded; the image agrees: the vector RTMR0 (%s)',
    async (layout) => {
      const v = rtmrVector('trixie-ovmf', 2 ** 31);
      const platform = await vectorPlatformEvents(v);
      // the 13 platform events are the vector's RTMR0 events before the ReadyToBoot separator
      const vectorRtmr0 = v.events.filter((e) => e.register === 0).map((e) => e.digest);
      expect(platform.map((e) => hex(e.digest))).toEqual(vectorRtmr0.slice(0, 13));
      const recordedAuthority = ccEvent(0, EV.EFI_VARIABLE_AUTHORITY, 'old', new Uint8Array([1, 2]));
      const rec = platformFromCcel(decodeEventLog(diskBootCcel(platform, layout, [recordedAuthority])));
      expect(rec.layout).toBe(layout);
      expect(rec.platform.secureBootEnforced).toBe(false);
      expect(rec.platform.secureBoot.map((e) => e.type)).toEqual([
        ...Array(5).fill(EV.EFI_VARIABLE_DRIVER_CONFIG),
        EV.SEPARATOR,
      ]);
      expect(hex(rec.tdHob?.digest)).toBe(vectorRtmr0[0]);
      expect(hex(rec.cfv?.digest)).toBe(vectorRtmr0[1]);
      expect(rec.recordedImageEvents.map((e) => hex(e.digest))).toEqual([hex(recordedAuthority.digest)]);
      const r = predictUkiRtmrs(prediction([], false), layout, rec.platform);
      expect(r.notPredicted).toEqual([]);
      expect(hex(r.rtmrs[0])).toBe(expectedRtmr0(v, layout));
      expect(r.rtmr0).toEqual({ platform: 13, image: 0, secureBootConfig: 'platform' });
      // RTMR1 is the image's alone: the recorded log has no option ROM or driver events
      expect(r.rtmrs[1]).toEqual(predictUkiRtmrs(prediction([], false), layout).rtmrs[1]);
    },
  );

  it('with Secure Boot enforced by the platform: the image must be verified (PCR 7) for RTMR0', async () => {
    const v = rtmrVector('sid-inteltdx', 2 ** 30);
    const platform = await vectorPlatformEvents(v);
    const rec = platformFromCcel(decodeEventLog(diskBootCcel(platform, 'quex')));
    expect(rec.platform.secureBootEnforced).toBe(true);
    const unverified = predictUkiRtmrs(prediction([], false), 'quex', rec.platform);
    expect(unverified.rtmrs[0]).toBeUndefined();
    expect(unverified.notPredicted[0]?.reason).toMatch(/enforces Secure Boot \(SecureBoot = 01\)/);
    // the prediction verified the UKI against the same configuration: its authority event follows
    const r = predictUkiRtmrs(prediction(asPcr7(rec.platform.secureBoot), true), 'quex', rec.platform);
    expect(r.warnings).toEqual([]);
    expect(r.rtmrs[0]).toEqual(
      chain(...platform.map((e) => e.digest), separator(0).digest, authority.digests.sha384 as Uint8Array),
    );
    expect(r.rtmr0).toEqual({ platform: 7, image: 7, secureBootConfig: 'prediction' });
  });

  it('a prediction with another Secure Boot configuration gives another, explained RTMR0', async () => {
    const v = rtmrVector('trixie-ovmf', 2 ** 31);
    const platform = await vectorPlatformEvents(v);
    const rec = platformFromCcel(decodeEventLog(diskBootCcel(platform, 'dstack')));
    const config = ['SecureBoot', 'PK', 'KEK', 'db', 'dbx'].map((n) =>
      ccEvent(0, EV.EFI_VARIABLE_DRIVER_CONFIG, n, new TextEncoder().encode(`other ${n}`)),
    );
    const r = predictUkiRtmrs(prediction(asPcr7([...config, separator(0)]), true), 'dstack', rec.platform);
    expect(r.warnings.join('\n')).toMatch(
      /Secure Boot configuration is the prediction's .* differs from the recorded CCEL/,
    );
    const [hob, cfv] = platform;
    expect(r.rtmrs[0]).toEqual(
      chain(
        hob?.digest as Uint8Array,
        cfv?.digest as Uint8Array,
        ...config.map((e) => e.digest),
        separator(0).digest,
        ...platform.slice(8).map((e) => e.digest),
        authority.digests.sha384 as Uint8Array,
      ),
    );
    expect(hex(r.rtmrs[0])).not.toBe(expectedRtmr0(v, 'dstack'));
  });

  it("keeps the platform's option ROM and authority events; a db entry already logged is not logged again", async () => {
    const platform = await vectorPlatformEvents(rtmrVector('trixie-ovmf', 2 ** 31));
    const optionRom = ccEvent(1, EV.EFI_BOOT_SERVICES_DRIVER, 'iPXE', new Uint8Array([9]));
    // an option ROM signed by the same db entry: verified (and its authority logged) before ReadyToBoot
    const romAuthority = ccEvent(0, EV.EFI_VARIABLE_AUTHORITY, 'db entry', authorityData);
    const rec = platformFromCcel(
      decodeEventLog(diskBootCcel([...platform, optionRom, romAuthority], 'dstack')),
    );
    const r = predictUkiRtmrs(prediction(asPcr7(rec.platform.secureBoot), true), 'dstack', rec.platform);
    expect(r.rtmrs[0]).toEqual(chain(...platform.map((e) => e.digest), romAuthority.digest));
    expect(r.warnings.join()).toMatch(/not logged again/);
    const imageOnly = predictUkiRtmrs(prediction([], false), 'dstack');
    expect(r.events.filter((e) => e.rtmr === 1)[0]?.digest).toEqual(optionRom.digest);
    expect(r.rtmrs[1]).not.toEqual(imageOnly.rtmrs[1]);
  });

  it('refuses inconsistent or unrecognised logs and direct kernel boots', async () => {
    const platform = await vectorPlatformEvents(rtmrVector('trixie-ovmf', 2 ** 31));
    const parse = (events: CcEvent[]) => () => platformFromCcel(decodeEventLog(encodeCcel(events)));
    const lying = { ...separator(0), data: new Uint8Array([0xff, 0xff, 0xff, 0xff]) };
    expect(parse([...platform.slice(0, 7), lying, ...platform.slice(8), calling(), separator(1)])).toThrow(
      /not the hash of its event data/,
    );
    const kernel = ccEvent(1, EV.EFI_BOOT_SERVICES_APPLICATION, 'kernel', new Uint8Array([1]));
    expect(parse([...platform, kernel, calling(), separator(1)])).toThrow(/QEMU direct kernel boot/);
    expect(parse([...platform])).toThrow(/stops before the boot option starts/);
    expect(parse([...platform.slice(0, 2), ...platform.slice(8), calling(), separator(1)])).toThrow(
      /no Secure Boot configuration/,
    );
    expect(parse([...platform, calling()])).toThrow(/no ReadyToBoot separator/);
  });
});

describe('boot variables described by the user', () => {
  const u16 = (...n: number[]) => new Uint8Array(new Uint16Array(n).buffer);
  it('orders them as TDVF measures them: BootOrder, then each Boot#### it lists', () => {
    const vars = new Map([
      ['Boot0000', fromHex('aa')],
      ['Boot000a', fromHex('bb')],
      ['BootOrder', u16(0x000a, 0x0000, 0x000a)],
      ['Boot0002', fromHex('cc')],
    ]);
    const r = measuredBootVariables(vars);
    expect(r.variables.map((b) => b.name)).toEqual(['BootOrder', 'Boot000A', 'Boot0000', 'Boot000A']);
    expect(r.unused).toEqual(['Boot0002']);
  });

  it('refuses a BootOrder entry that is not given, a malformed BootOrder and odd names', () => {
    expect(() => measuredBootVariables(new Map([['BootOrder', u16(1)]]))).toThrow(
      /Boot0001, which is not given/,
    );
    expect(() => measuredBootVariables(new Map([['BootOrder', fromHex('01')]]))).toThrow(/UINT16/);
    expect(() => measuredBootVariables(new Map([['Boot0001', fromHex('01')]]))).toThrow(/no BootOrder/);
    expect(() => measuredBootVariables(new Map([['BOOT0001', fromHex('01')]]))).toThrow(
      /not BootOrder or Boot####/,
    );
  });
});
