// Intel TDX launch measurements: MRTD from the TDVF metadata (both page orders), RTMR prediction for
// QEMU direct kernel boot and for a UKI boot (from the boot-chain prediction, with RTMR0's platform
// events from the firmware model or a recorded CCEL), and CCEL replay.
export { computeMrtd, mrExtendRecord, pageAddRecord, MRTD_ORDERS } from './mrtd.js';
export type { MrtdOrder } from './mrtd.js';
export { RTMR_LAYOUTS, ccEvent, composeRtmrs, withLayout } from './cc-event.js';
export type { CcEvent, RtmrLayout } from './cc-event.js';
export { qemuRamLayout, MAX_TD_MEMORY } from './memory-layout.js';
export type { RamLayout } from './memory-layout.js';
export { tdHobPreimage, tdRamRanges } from './td-hob.js';
export type { RamRange } from './td-hob.js';
export { listAcpiTables, modelAcpiBlobs, MAX_ACPI_TABLES } from './qemu-acpi.js';
export type { AcpiBlobs } from './qemu-acpi.js';
export { kernelAuthenticodeSha384, patchSetupHeader, QEMU_ACPI_DATA_SIZE } from './qemu-kernel.js';
export type { QemuKernelLoad } from './qemu-kernel.js';
export {
  bootVariableEvents,
  ovmfDirectBootVariables,
  secureBootConfigEvents,
  secureBootValue,
} from './firmware-config.js';
export type { BootVariable, SecureBootWithoutPk } from './firmware-config.js';
export { cfvEvent, cfvVarStore, firmwareEvents } from './firmware-events.js';
export type { FirmwareEvents, FirmwareEventsInput } from './firmware-events.js';
export { directBootEvents } from './direct-boot.js';
export type { DirectBootEvents, DirectBootInput, KernelMeasurement } from './direct-boot.js';
export { predictUkiRtmrs } from './uki-rtmrs.js';
export type { Rtmr0Origins, UkiRtmrPrediction } from './uki-rtmrs.js';
export { modelledUkiPlatform, variableName } from './uki-platform.js';
export type { UkiPlatformEvents } from './uki-platform.js';
export { platformFromCcel } from './platform-ccel.js';
export type { RecordedPlatform } from './platform-ccel.js';
export { measuredBootVariables, MAX_BOOT_ENTRIES } from './boot-order.js';
export { replayCcel } from './ccel-replay.js';
export type { CcelReplay, CcelReplayedEvent } from './ccel-replay.js';
export { tdxLaunchDigest } from './launch-digest.js';
export type { TdxDirectBoot, TdxLaunchDigest, TdxLaunchDigestOptions } from './launch-digest.js';
