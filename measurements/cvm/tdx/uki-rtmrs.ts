// RTMRs of a UKI boot on TDX OVMF, from the TPM boot-chain prediction (measurements/boot/predict.ts)
// mapped the way TDVF's CC measurement protocol routes each event (measured-boot.md §9.1, §9.2,
// §11 item 8). The same measurement code runs with the CC protocol instead of TCG2, so every event
// keeps its SHA-384 digest and goes to RTMR[MapPcrToMrIndex(pcr) - 1] in chronological order:
// PCR 1,7 -> RTMR0, 2-6 -> RTMR1, 8-15 -> RTMR2. The exceptions:
//   * ReadyToBoot draws one separator, not one per PCR 0-6 (TdTcg2Dxe.c OnReadyToBoot): the
//     prediction's PCR 4/5 separators become that one event, placed by the RtmrLayout (cc-event.ts).
//   * EV_EVENT_TAG from systemd (profile tag, addons, sd-boot loader.conf) goes to TCG2 only
//     (tpm_log_tagged_event, measured-boot.md §4.1): dropped. The kernel's PCR 9 tagged events go
//     to the CC protocol when TCG2 is absent, from Linux 6.9 (efi-stub-helper.c, §5).
//   * systemd-stub/-boot EV_IPL reach the CC protocol only from v256 (§4.1): older ones are dropped.
// RTMR0 also holds platform events the image does not determine (TD HOB, CFV, ACPI blobs, boot
// variables; uki-platform.ts): it is predicted only when they are given. Of RTMR0 the image
// determines only the db authority events of its binaries (PCR 7, logged at LoadImage after
// ReadyToBoot), and the Secure Boot configuration when the prediction has one (--vars). Without a
// recorded platform, assumed: no option ROM or driver events (PCR 2/3/6 -> RTMR1), as on a QEMU TD
// without PCI option ROMs.
import { NodeimgError } from '../../../image/formats/errors.js';
import { toHex } from '../../../image/formats/reader.js';
import type { PredictedEvent } from '../../boot/event.js';
import { INITRD_EVENT_TAG_ID, LOAD_OPTIONS_EVENT_TAG_ID } from '../../boot/kernel.js';
import type { Prediction } from '../../boot/predict.js';
import { EV } from '../../eventlog/types.js';
import { RTMR_COUNT, ccMrIndexForPcr, rtmrIndexForMrIndex } from '../../rtmr.js';
import { composeRtmrs, withLayout, type CcEvent, type RtmrLayout } from './cc-event.js';
import { variableName, type UkiPlatformEvents } from './uki-platform.js';

export type { UkiPlatformEvents } from './uki-platform.js';

/** Where RTMR0's events came from (with a platform). */
export interface Rtmr0Origins {
  /** RTMR0 events taken from the platform (model or recorded log). */
  readonly platform: number;
  /** RTMR0 events of the image's prediction: db authorities, and the configuration when it came from it. */
  readonly image: number;
  /** The Secure Boot configuration: from the prediction's PCR 7 (--vars) or from the platform. */
  readonly secureBootConfig: 'prediction' | 'platform';
}

export interface UkiRtmrPrediction {
  readonly layout: RtmrLayout;
  /** Chronological, in `layout`. */
  readonly events: readonly CcEvent[];
  /** RTMR0-3; undefined where not predicted (see notPredicted). */
  readonly rtmrs: readonly (Uint8Array | undefined)[];
  readonly notPredicted: readonly { readonly rtmr: number; readonly reason: string }[];
  readonly warnings: readonly string[];
  /** With a platform: how many RTMR0 events came from where. */
  readonly rtmr0?: Rtmr0Origins;
}

/** systemd-boot's PCR 12 command line event (predict.ts), only emitted by sd-boot <= v254. */
const SD_BOOT_CMDLINE = 'kernel command line passed by systemd-boot';
const KERNEL_TAGS = new Set([LOAD_OPTIONS_EVENT_TAG_ID, INITRD_EVENT_TAG_ID]);

function kernelAtLeast(version: string | undefined, major: number, minor: number): boolean | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return undefined;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

function tagOf(e: PredictedEvent): number | undefined {
  return e.data !== undefined && e.data.length >= 4
    ? new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0, true)
    : undefined;
}

/** Maps one prediction to CC events ('dstack' registers), in chronological order. */
function mapEvents(p: Prediction, warnings: string[]): CcEvent[] {
  const stubCc = p.versions.stubRules >= 256;
  if (!stubCc)
    warnings.push(`systemd-stub ${p.versions.stub} predates v256: its measurements do not reach the RTMRs`);
  const kernelCc = kernelAtLeast(p.versions.kernel, 6, 9);
  if (kernelCc === undefined)
    warnings.push(
      'kernel version unknown: assuming Linux >= 6.9, which measures LoadOptions and the initrd into RTMR2',
    );
  else if (!kernelCc)
    warnings.push(
      `Linux ${p.versions.kernel} predates 6.9: its EFI stub measures only through TCG2, so RTMR2 gets no kernel events`,
    );
  const out: CcEvent[] = [];
  let separatorDone = false;
  for (const e of p.events) {
    const mr = ccMrIndexForPcr(e.pcr);
    const rtmr = mr === undefined ? undefined : rtmrIndexForMrIndex(mr);
    if (rtmr === undefined) continue;
    const digest = e.digests.sha384;
    if (digest === undefined)
      throw new NodeimgError(
        'USAGE',
        'the boot prediction has no sha384 bank; predict with sha384 to map it to RTMRs',
      );
    if (e.type === EV.SEPARATOR && e.pcr !== 7) {
      if (!separatorDone)
        out.push({
          rtmr: 1,
          type: EV.SEPARATOR,
          name: 'Separator',
          digest,
          data: e.data,
          readyToBootSeparator: true,
        });
      separatorDone = true;
      continue;
    }
    if (e.type === EV.EVENT_TAG && !(e.pcr === 9 && KERNEL_TAGS.has(tagOf(e) ?? -1) && kernelCc !== false))
      continue;
    if (e.type === EV.IPL && (!stubCc || e.description === SD_BOOT_CMDLINE)) continue;
    out.push({ rtmr, type: e.type, name: e.description, digest, data: e.data });
  }
  return out;
}

/** The variables whose configuration events differ between two Secure Boot configurations. */
function differingVariables(a: readonly CcEvent[], b: readonly CcEvent[]): string[] {
  const byName = (events: readonly CcEvent[]) =>
    new Map(
      events.filter((e) => e.type === EV.EFI_VARIABLE_DRIVER_CONFIG).map((e) => [variableName(e), e.digest]),
    );
  const [x, y] = [byName(a), byName(b)];
  return [...new Set([...x.keys(), ...y.keys()])].filter((n) => {
    const [p, q] = [x.get(n), y.get(n)];
    return p === undefined || q === undefined || toHex(p) !== toHex(q);
  });
}

/**
 * RTMRs of the predicted boot. With `platform`, RTMR0 is the platform's events before the Secure
 * Boot configuration (TD HOB, CFV), the configuration (from the prediction's PCR 7 events when it
 * has them, else the platform's), the platform's events up to ReadyToBoot (ACPI blobs, boot
 * variables, ...), then the image's db authority events; a db entry the platform already logged is
 * not logged again (edk2 DxeImageVerificationLib IsDataMeasured). When the platform enforces Secure
 * Boot and the prediction verified no image (no PCR 7), the authority events are unknown: RTMR0 is
 * not predicted.
 */
export function predictUkiRtmrs(
  p: Prediction,
  layout: RtmrLayout = 'dstack',
  platform?: UkiPlatformEvents,
): UkiRtmrPrediction {
  const warnings: string[] = [];
  const mapped = mapEvents(p, warnings);
  const notPredicted: { rtmr: number; reason: string }[] = [];
  const firstImageEvent = mapped.findIndex((e) => e.rtmr !== 0);
  const sbConfig = mapped
    .slice(0, firstImageEvent < 0 ? mapped.length : firstImageEvent)
    .filter((e) => e.rtmr === 0);
  const rest = mapped.filter((e) => !sbConfig.includes(e));
  let events: CcEvent[];
  let rtmr0: Rtmr0Origins | undefined;
  if (platform === undefined) {
    events = rest;
    notPredicted.push({
      rtmr: 0,
      reason: 'needs the platform: firmware (TD HOB, CFV), memory size, QEMU ACPI blobs and boot variables',
    });
  } else {
    const fromPrediction = sbConfig.length > 0;
    if (fromPrediction) {
      const differ = differingVariables(sbConfig, platform.secureBoot);
      if (differ.length > 0)
        warnings.push(
          `RTMR0: the Secure Boot configuration is the prediction's (PCR 7 from --vars) and differs from ${platform.source} in ${differ.join(', ')}; RTMR0 holds only for a TD that boots with the --vars store (a QEMU TD loads its firmware with -bios and starts from the variable store in the firmware's CFV)`,
        );
    } else if (platform.secureBootEnforced) {
      notPredicted.push({
        rtmr: 0,
        reason: `${platform.source} enforces Secure Boot (SecureBoot = 01), so the TD verifies the image and measures the db entry that allows it; the prediction verified no image (no PCR 7): predict with that variable store and Secure Boot on`,
      });
    }
    const logged = new Set(
      platform.beforeBoot.filter((e) => e.type === EV.EFI_VARIABLE_AUTHORITY).map((e) => toHex(e.digest)),
    );
    const image = rest.filter(
      (e) => !(e.rtmr === 0 && e.type === EV.EFI_VARIABLE_AUTHORITY && logged.has(toHex(e.digest))),
    );
    if (image.length < rest.length)
      warnings.push(
        `RTMR0: ${rest.length - image.length} db authority event(s) of the image are not logged again: the platform's events already hold the same db entry`,
      );
    const config = fromPrediction ? sbConfig : platform.secureBoot;
    events = [...platform.beforeSecureBoot, ...config, ...platform.beforeBoot, ...image];
    const count = (list: readonly CcEvent[]) => list.filter((e) => e.rtmr === 0).length;
    const platformCount = count(platform.beforeSecureBoot) + count(platform.beforeBoot);
    rtmr0 = {
      platform: platformCount + (fromPrediction ? 0 : config.length),
      image: count(image.filter((e) => !e.readyToBootSeparator)) + (fromPrediction ? config.length : 0),
      secureBootConfig: fromPrediction ? 'prediction' : 'platform',
    };
  }
  if (p.notPredicted.some((n) => n.pcr === 5))
    notPredicted.push({ rtmr: 1, reason: 'the GPT event is not predicted (no disk image given)' });
  events = withLayout(events, layout);
  const values = composeRtmrs(events);
  const rtmrs = Array.from({ length: RTMR_COUNT }, (_, i) =>
    notPredicted.some((n) => n.rtmr === i) ? undefined : values[i],
  );
  return { layout, events, rtmrs, notPredicted, warnings, ...(rtmr0 ? { rtmr0 } : {}) };
}
