// UKI boot -> RTMRs (measured-boot.md §9.2): the mapping of the TPM boot prediction, on a
// hand-built prediction whose every event is known, and on the lab UKI disk.
import { describe, expect, it } from 'vitest';
import { measureFile } from '../../image/measure.js';
import { NodeimgError } from '../../image/formats/errors.js';
import { fromBytes } from '../../image/formats/source.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import {
  application,
  efiAction,
  hashAll,
  ipl,
  separator,
  taggedEvent,
  type PredictedEvent,
} from '../../measurements/boot/event.js';
import { INITRD_EVENT_TAG_ID, LOAD_OPTIONS_EVENT_TAG_ID } from '../../measurements/boot/kernel.js';
import type { Prediction } from '../../measurements/boot/predict.js';
import { UKI_PROFILE_EVENT_TAG_ID } from '../../measurements/boot/stub.js';
import { EV } from '../../measurements/eventlog/types.js';
import { digest } from '../../measurements/hash.js';
import {
  bootVariableEvents,
  firmwareEvents,
  modelAcpiBlobs,
  modelledUkiPlatform,
  ovmfDirectBootVariables,
  predictUkiRtmrs,
} from '../../measurements/cvm/tdx/index.js';
import { buildTdvfImage } from '../helpers/tdvf-bytes.js';
import { labImages } from '../helpers/lab.js';

const B = ['sha384'] as const;
const d = (s: string) => hashAll(B, new TextEncoder().encode(s));
const ev = (pcr: number, type: number, label: string): PredictedEvent => ({
  pcr,
  type,
  digests: d(label),
  data: undefined,
  description: label,
  origin: 'image',
});
const chain = (...digests: (Uint8Array | undefined)[]) => {
  let r: Uint8Array = new Uint8Array(48);
  for (const x of digests) r = digest('sha384', r, x as Uint8Array);
  return r;
};
const sha = (e: PredictedEvent) => e.digests.sha384;

// Chronological like predictBoot for a direct UKI boot from disk, systemd-stub 257, SB off.
const config = ['SecureBoot', 'PK', 'KEK', 'db', 'dbx'].map((n) => ev(7, EV.EFI_VARIABLE_DRIVER_CONFIG, n));
const sep7 = separator(B, 7);
const calling = efiAction(B, 4, 'Calling EFI Application from Boot Option');
const gpt = ev(5, EV.EFI_GPT_EVENT, 'gpt');
const uki = application(d('uki'), 'BOOTX64.EFI');
const sections = ['.linux', '.osrel', '.cmdline'].map((s) => ipl(11, d(s), s, s));
const profile = taggedEvent(12, UKI_PROFILE_EVENT_TAG_ID, new Uint8Array(0), d('profile'), 'profile');
const linux = application(d('linux'), '.linux');
const loadOptions = taggedEvent(9, LOAD_OPTIONS_EVENT_TAG_ID, new Uint8Array(0), d('cmdline'), 'cmdline');
const initrd = taggedEvent(9, INITRD_EVENT_TAG_ID, new Uint8Array(0), d('initrd'), 'initrd');
const ebs = [
  efiAction(B, 5, 'Exit Boot Services Invocation'),
  efiAction(B, 5, 'Exit Boot Services Returned with Success'),
];
const events = [
  ...config,
  sep7,
  calling,
  separator(B, 4),
  separator(B, 5),
  gpt,
  uki,
  ...sections,
  profile,
  linux,
  loadOptions,
  initrd,
  ...ebs,
];

function prediction(over: { stub?: number; kernel?: string; events?: PredictedEvent[] } = {}): Prediction {
  return {
    banks: [...B],
    events: over.events ?? events,
    pcrs: new Map(),
    notPredicted: [0, 1, 2, 3, 6].map((pcr) => ({ pcr, reason: 'platform' })),
    pcr11Phases: [],
    versions: {
      stub: String(over.stub ?? 257),
      stubRules: over.stub ?? 257,
      loader: undefined,
      kernel: over.kernel ?? '6.12.48+deb13-amd64',
    },
    warnings: [],
  };
}

describe('UKI boot -> RTMRs (synthetic prediction)', () => {
  it("dstack layout: one separator in RTMR1, systemd's tagged events dropped, kernel tags in RTMR2", () => {
    const r = predictUkiRtmrs(prediction());
    expect(r.rtmrs[0]).toBeUndefined();
    expect(r.notPredicted.map((n) => n.rtmr)).toEqual([0]);
    expect(r.rtmrs[1]).toEqual(
      chain(sha(calling), sha(separator(B, 4)), sha(gpt), sha(uki), sha(linux), ...ebs.map(sha)),
    );
    expect(r.rtmrs[2]).toEqual(chain(...sections.map(sha), sha(loadOptions), sha(initrd)));
    expect(r.rtmrs[3]).toEqual(new Uint8Array(48));
    expect(r.events.filter((e) => e.type === EV.SEPARATOR)).toHaveLength(1);
    expect(r.warnings).toEqual([]);
  });

  it('quex layout with the platform: RTMR0 = HOB, CFV, Secure Boot config, ACPI, boot variables, ReadyToBoot separator', async () => {
    const src = fromBytes(buildTdvfImage().bytes);
    const fw = await firmwareEvents({
      firmware: src,
      metadata: await readTdvfMetadata(src),
      memoryBytes: 2 ** 31,
      acpi: modelAcpiBlobs(new Uint8Array(64)),
      varStore: { variables: [] },
    });
    const boot = bootVariableEvents(ovmfDirectBootVariables());
    const platform = modelledUkiPlatform(fw, ovmfDirectBootVariables());
    const r = predictUkiRtmrs(prediction(), 'quex', platform);
    const cfv = fw.cfv?.digest;
    expect(r.rtmrs[0]).toEqual(
      chain(
        fw.tdHob.digest,
        cfv,
        ...config.map(sha),
        sha(sep7),
        ...fw.acpi.map((e) => e.digest),
        ...boot.map((e) => e.digest),
        sha(separator(B, 4)),
      ),
    );
    expect(r.rtmrs[1]).toEqual(chain(sha(calling), sha(gpt), sha(uki), sha(linux), ...ebs.map(sha)));
    // without PCR 7 in the prediction the firmware's own store is used (empty here: 5 variables + separator)
    const noVars = predictUkiRtmrs(
      prediction({ events: events.filter((e) => e.pcr !== 7) }),
      'dstack',
      platform,
    );
    expect(noVars.events.slice(2, 8).map((e) => e.digest)).toEqual(fw.secureBoot.map((e) => e.digest));
  });

  it('systemd-stub < 256 does not reach the RTMRs; Linux < 6.9 measures only through TCG2', () => {
    const old = predictUkiRtmrs(prediction({ stub: 255 }));
    expect(old.rtmrs[2]).toEqual(chain(sha(loadOptions), sha(initrd)));
    expect(old.warnings.join()).toMatch(/predates v256/);
    const k61 = predictUkiRtmrs(prediction({ kernel: '6.1.0-40-amd64' }));
    expect(k61.rtmrs[2]).toEqual(chain(...sections.map(sha)));
    expect(k61.warnings.join()).toMatch(/predates 6.9/);
  });

  it('needs the sha384 bank', () => {
    const p = prediction({ events: [{ ...calling, digests: { sha256: new Uint8Array(32) } }] });
    expect(() => predictUkiRtmrs(p)).toThrow(NodeimgError);
  });
});

describe('UKI boot -> RTMRs (lab disk)', () => {
  it('maps the prediction of the lab UKI disk: RTMR1 from the firmware and PE events, RTMR2 from the stub and kernel', async () => {
    const lab = await labImages();
    const { prediction: p } = await measureFile(lab.disks['direct'] as string, {
      banks: ['sha384'],
      secureBoot: false,
    });
    const r = predictUkiRtmrs(p);
    const pcrEvents = (pcrs: number[]) => p.events.filter((e) => pcrs.includes(e.pcr));
    const rtmr1 = r.events.filter((e) => e.rtmr === 1);
    // every PCR 4/5 event except the second ReadyToBoot separator
    expect(rtmr1).toHaveLength(pcrEvents([4, 5]).length - 1);
    // stub EV_IPL only from v256, kernel tagged events only from Linux 6.9 (Debian 12's lab: neither)
    const [maj, min] = (p.versions.kernel ?? '0.0').split('.').map(Number) as [number, number];
    const kernelCc = maj > 6 || (maj === 6 && min >= 9);
    const expected = p.events.filter(
      (e) => (e.type === EV.IPL && p.versions.stubRules >= 256) || (e.pcr === 9 && kernelCc),
    );
    expect(r.events.filter((e) => e.rtmr === 2).map((e) => e.digest)).toEqual(
      expected.map((e) => e.digests.sha384),
    );
    expect(r.warnings.length).toBe((p.versions.stubRules >= 256 ? 0 : 1) + (kernelCc ? 0 : 1));
    expect(r.rtmrs[1]).toEqual(chain(...rtmr1.map((e) => e.digest)));
  }, 900_000);
});
