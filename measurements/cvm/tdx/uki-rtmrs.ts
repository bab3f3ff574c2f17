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
// variables): it is predicted only when they are given. Assumed: no option ROM or driver events
// (PCR 2/3/6 -> RTMR1), as on a QEMU TD without PCI option ROMs.
import { NodeimgError } from '../../../image/formats/errors.js';
import type { PredictedEvent } from '../../boot/event.js';
import { INITRD_EVENT_TAG_ID, LOAD_OPTIONS_EVENT_TAG_ID } from '../../boot/kernel.js';
import type { Prediction } from '../../boot/predict.js';
import { EV } from '../../eventlog/types.js';
import { RTMR_COUNT, ccMrIndexForPcr, rtmrIndexForMrIndex } from '../../rtmr.js';
import { composeRtmrs, withLayout, type CcEvent, type RtmrLayout } from './cc-event.js';
import type { FirmwareEvents } from './firmware-events.js';

/** The platform's RTMR0 events: everything RTMR0 holds that the image does not determine. */
export interface UkiPlatformEvents {
  readonly firmware: FirmwareEvents;
  /** EV_EFI_VARIABLE_BOOT events for BootOrder and the Boot#### it lists (bootVariableEvents()). */
  readonly bootVariables: readonly CcEvent[];
}

export interface UkiRtmrPrediction {
  readonly layout: RtmrLayout;
  /** Chronological, in `layout`. */
  readonly events: readonly CcEvent[];
  /** RTMR0-3; undefined where not predicted (see notPredicted). */
  readonly rtmrs: readonly (Uint8Array | undefined)[];
  readonly notPredicted: readonly { readonly rtmr: number; readonly reason: string }[];
  readonly warnings: readonly string[];
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

/**
 * RTMRs of the predicted boot. With `platform`, RTMR0 is the platform's TD HOB and CFV, the Secure
 * Boot configuration (from the prediction's PCR 7 events when it has them, else the firmware's
 * store), the ACPI blobs and boot variables, then the image's authority events.
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
  if (platform === undefined) {
    events = rest;
    notPredicted.push({
      rtmr: 0,
      reason: 'needs the platform: firmware (TD HOB, CFV), memory size, QEMU ACPI blobs and boot variables',
    });
  } else {
    const fw = platform.firmware;
    if (platform.firmware.acpi.length === 0)
      notPredicted.push({ rtmr: 0, reason: 'no QEMU ACPI blobs given' });
    events = [
      fw.tdHob,
      ...(fw.cfv ? [fw.cfv] : []),
      ...(sbConfig.length > 0 ? sbConfig : fw.secureBoot),
      ...fw.acpi,
      ...platform.bootVariables,
      ...rest,
    ];
  }
  if (p.notPredicted.some((n) => n.pcr === 5))
    notPredicted.push({ rtmr: 1, reason: 'the GPT event is not predicted (no disk image given)' });
  events = withLayout(events, layout);
  const values = composeRtmrs(events);
  const rtmrs = Array.from({ length: RTMR_COUNT }, (_, i) =>
    notPredicted.some((n) => n.rtmr === i) ? undefined : values[i],
  );
  return { layout, events, rtmrs, notPredicted, warnings };
}
