// The platform's part of a TD's boot measurements for a UKI booted from disk: everything TDVF
// measures before the boot option starts (launch-measurements.md §2.3 RTMR0 items 1-13; edk2
// SecurityPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c MeasureSecureBootPolicy, OnReadyToBoot). The image does not
// determine any of it: the TD HOB follows the memory size, the CFV the firmware build, the ACPI blobs
// QEMU's version and device model, the boot variables the devices OVMF finds. Two sources produce it:
//   modelledUkiPlatform()  the firmware's events (firmware-events.ts) plus boot variables the user
//                          describes; the CFV's variable store gives the Secure Boot configuration;
//   platformFromCcel()     a CC event log recorded on the same platform (platform-ccel.ts).
// predictUkiRtmrs (uki-rtmrs.ts) puts the image's events after it.
import { NodeimgError } from '../../../image/formats/errors.js';
import { decodeUefiVariableData } from '../../eventlog/event-data.js';
import type { CcEvent } from './cc-event.js';
import { bootVariableEvents, secureBootValue, type BootVariable } from './firmware-config.js';
import type { FirmwareEvents } from './firmware-events.js';

export interface UkiPlatformEvents {
  /** Events before the Secure Boot configuration: the TD HOB and the CFV. */
  readonly beforeSecureBoot: readonly CcEvent[];
  /** SecureBoot, PK, KEK, db, dbx [, dbt] and the separator after them (PCR 7 -> RTMR0). */
  readonly secureBoot: readonly CcEvent[];
  /** The platform's SecureBoot variable is 01: the TD verifies the image and logs db authorities. */
  readonly secureBootEnforced: boolean;
  /**
   * Events after the configuration up to ReadyToBoot, in order: the QEMU ACPI blobs, BootOrder and
   * the Boot#### it lists, and whatever else the platform measured before the boot option starts
   * (a recorded log may hold option ROMs in RTMR1).
   */
  readonly beforeBoot: readonly CcEvent[];
  /** Where the events come from, in words for messages ("the recorded CCEL"). */
  readonly source: string;
}

/** RTMR0's platform events from the firmware model and the given boot variables. */
export function modelledUkiPlatform(
  fw: FirmwareEvents,
  bootVariables: readonly BootVariable[],
): UkiPlatformEvents {
  const sb = secureBootValue(fw.varStore, 'empty');
  return {
    beforeSecureBoot: [fw.tdHob, ...(fw.cfv ? [fw.cfv] : [])],
    secureBoot: fw.secureBoot,
    secureBootEnforced: sb.length === 1 && sb[0] === 1,
    beforeBoot: [...fw.acpi, ...bootVariableEvents(bootVariables)],
    source: "the firmware's variable store (CFV)",
  };
}

/** The variable an EV_EFI_VARIABLE_* event measures, from its UEFI_VARIABLE_DATA (else its name). */
export function variableName(e: CcEvent): string {
  if (e.data === undefined) return e.name;
  try {
    return decodeUefiVariableData(e.data).name;
  } catch (err) {
    if (!(err instanceof NodeimgError)) throw err;
    return e.name;
  }
}
