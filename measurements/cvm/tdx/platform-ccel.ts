// The platform's boot measurements taken from a CC event log recorded on a TD of the same platform
// (Linux /sys/firmware/acpi/tables/data/CCEL; measured-boot.md §9.2), the TDX counterpart of taking
// PCRs 0-3 and 6 from a recorded TPM log (`measure --platform-log`).
//
// TDVF measures, in this order (edk2 SecurityPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c, OvmfPkg/IntelTdx):
//   RTMR0  TD HOB, CFV                                      (SEC, logged from HOBs)
//   RTMR0  [UEFI Debug Mode], SecureBoot, PK, KEK, db, dbx [, dbt], separator  (MeasureSecureBootPolicy)
//   RTMR0  QEMU ACPI blobs; RTMR1 option ROMs and drivers   (DXE)
//   RTMR0  BootOrder, Boot####                              (OnReadyToBoot, MeasureAllBootVariables)
//   RTMR1  "Calling EFI Application from Boot Option"       (OnReadyToBoot: the boot option starts)
//   RTMR0 or RTMR1  the ReadyToBoot separator               (MeasureSeparatorEvent; cc-event.ts layouts)
//   RTMR0  db authority of each image verified, RTMR1 GPT and images, ...  (the booted image)
// Everything logged before "Calling EFI Application from Boot Option" is the platform's and is taken
// as recorded, in every register. From there on the events are the recorded TD's own image: its RTMR0
// events (db authorities, shim's variables) are left out for the prediction's. The recorded ReadyToBoot
// separator tells the layout the platform's OVMF really uses.
//
// The log must be consistent with itself: it decodes, every event has a SHA-384 digest and an MR
// index 1-4 (replayCcel), and every event whose digest is the hash of its data (separators, actions,
// UEFI variables; eventlog/data-digest.ts) really carries that data, so the SecureBoot value read from
// it is the one extended. A QEMU direct kernel boot (-kernel) is refused: its kernel is measured before
// the boot option, and its boot variables are not those of a disk boot.
import { NodeimgError, ParseError } from '../../../image/formats/errors.js';
import { dataDigestMatches } from '../../eventlog/data-digest.js';
import { decodeUefiVariableData } from '../../eventlog/event-data.js';
import { describeEvent } from '../../eventlog/describe.js';
import { latin1 } from '../../eventlog/text.js';
import { EV, type SpecIdEvent, type TcgEvent } from '../../eventlog/types.js';
import type { CcEvent, RtmrLayout } from './cc-event.js';
import { replayCcel, type CcelReplayedEvent } from './ccel-replay.js';
import type { UkiPlatformEvents } from './uki-platform.js';

export interface RecordedPlatform {
  readonly platform: UkiPlatformEvents;
  /** Where the recorded log puts the ReadyToBoot separator. */
  readonly layout: RtmrLayout;
  /** The recorded TD HOB and CFV events (to check them against --memory and the firmware). */
  readonly tdHob: CcEvent | undefined;
  readonly cfv: CcEvent | undefined;
  /** Recorded RTMR0 events after ReadyToBoot: the recorded TD's own image, replaced by the prediction's. */
  readonly recordedImageEvents: readonly CcEvent[];
  /** The recorded log's RTMRs (its replay). */
  readonly rtmrs: readonly Uint8Array[];
}

const CALLING = 'Calling EFI Application from Boot Option';
const STRUCTURE = 'CC event log';

function toCcEvent(e: CcelReplayedEvent): CcEvent {
  const text = describeEvent({ untrustedType: e.untrustedType, data: e.data });
  return {
    rtmr: e.rtmr,
    type: e.untrustedType,
    name: `recorded ${e.typeName}: ${text.length > 100 ? `${text.slice(0, 97)}...` : text}`,
    digest: e.digest,
    data: e.data,
  };
}

function isAction(e: CcelReplayedEvent, text: string): boolean {
  return e.untrustedType === EV.EFI_ACTION && latin1(e.data) === text;
}

function invalid(e: CcelReplayedEvent | undefined, detail: string): ParseError {
  return new ParseError(
    'PARSE_INVALID',
    e ? `${STRUCTURE} event #${e.index}` : STRUCTURE,
    e?.offset ?? 0,
    detail,
    { hint: 'give the CCEL of a TDVF TD booted from disk (/sys/firmware/acpi/tables/data/CCEL)' },
  );
}

/** Every event whose digest is H(data) must carry that data (eventlog/data-digest.ts). */
function checkConsistent(events: readonly CcelReplayedEvent[]): void {
  for (const e of events) {
    const ok = dataDigestMatches({
      untrustedType: e.untrustedType,
      data: e.data,
      claimedDigests: { sha384: e.digest },
    });
    if (ok === false)
      throw invalid(
        e,
        `its ${e.typeName} sha384 digest is not the hash of its event data: the log is inconsistent`,
      );
  }
}

function secureBootByte(config: readonly CcelReplayedEvent[]): number | undefined {
  for (const e of config) {
    if (e.untrustedType !== EV.EFI_VARIABLE_DRIVER_CONFIG) continue;
    const v = decodeUefiVariableData(e.data);
    if (v.name === 'SecureBoot') return v.variableData.length === 1 ? v.variableData[0] : undefined;
  }
  return undefined;
}

export function platformFromCcel(log: {
  readonly specId: SpecIdEvent;
  readonly events: readonly TcgEvent[];
}): RecordedPlatform {
  const replay = replayCcel(log);
  const all = replay.events;
  checkConsistent(all);
  const calling = all.findIndex((e) => e.rtmr === 1 && isAction(e, CALLING));
  if (calling < 0)
    throw invalid(undefined, `no "${CALLING}" event in RTMR1: the log stops before the boot option starts`);
  const before = all.slice(0, calling);
  const kernel = before.find((e) => e.untrustedType === EV.EFI_BOOT_SERVICES_APPLICATION);
  if (kernel)
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      `${STRUCTURE} event #${kernel.index}`,
      kernel.offset,
      'an EFI application is measured before the boot option starts: the log records a QEMU direct kernel boot (-kernel), whose boot variables are not those of a disk boot',
      { hint: 'record the CCEL on a TD that boots a disk image on the same platform' },
    );
  // The Secure Boot configuration: the first run of RTMR0 variable events, to the RTMR0 separator.
  const start = before.findIndex((e) => e.rtmr === 0 && e.untrustedType === EV.EFI_VARIABLE_DRIVER_CONFIG);
  const end =
    start < 0
      ? -1
      : before.findIndex((e, i) => i > start && e.rtmr === 0 && e.untrustedType === EV.SEPARATOR);
  if (start < 0 || end < 0)
    throw invalid(
      undefined,
      'no Secure Boot configuration (RTMR0 variables ended by a separator) before the boot option',
    );
  const config = before.slice(start, end + 1).filter((e) => e.rtmr === 0);
  const stray = config.find((e) => e.untrustedType !== EV.EFI_VARIABLE_DRIVER_CONFIG && e !== before[end]);
  if (stray) throw invalid(stray, `${stray.typeName} inside the Secure Boot configuration`);
  const separator = all.findIndex((e, i) => i > calling && e.untrustedType === EV.SEPARATOR);
  const sep = all[separator];
  if (sep === undefined || sep.rtmr > 1)
    throw invalid(all[calling], 'no ReadyToBoot separator in RTMR0 or RTMR1 after the boot option starts');
  const layout: RtmrLayout = sep.rtmr === 0 ? 'quex' : 'dstack';
  const after = all.slice(calling).filter((e, i) => e.rtmr === 0 && calling + i !== separator);

  const platform: UkiPlatformEvents = {
    beforeSecureBoot: before.slice(0, start).map(toCcEvent),
    secureBoot: config.map(toCcEvent),
    secureBootEnforced: secureBootByte(config) === 1,
    beforeBoot: before
      .slice(start)
      .filter((e) => !config.includes(e))
      .map(toCcEvent),
    source: 'the recorded CCEL',
  };
  const covered = platform.beforeSecureBoot.length + platform.secureBoot.length + platform.beforeBoot.length;
  if (covered !== before.length)
    throw new NodeimgError('INTERNAL', `CCEL split covers ${covered} of ${before.length} platform events`);
  const first = (type: number) => platform.beforeSecureBoot.find((e) => e.rtmr === 0 && e.type === type);
  return {
    platform,
    layout,
    tdHob: first(EV.EFI_HANDOFF_TABLES2),
    cfv: first(EV.EFI_PLATFORM_FIRMWARE_BLOB2),
    recordedImageEvents: after.map(toCcEvent),
    rtmrs: replay.rtmrs,
  };
}
