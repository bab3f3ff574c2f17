// The platform inputs of RTMR0 for `nodeimg measure --platform qemu-tdx` (measure-tdx.ts): a CC event
// log recorded on the platform (fromCcel, checked against the firmware's CFV and, when given, the
// memory size's TD HOB) or the firmware model with the given ACPI blobs and boot variables
// (fromModel). Each returns the platform events, the RTMR layout and the launch parameters that
// record its inputs (file names and sha256).
import type { ByteSource } from '../../image/formats/source.js';
import type { TdvfMetadata } from '../../image/formats/tdvf/index.js';
import { toHex } from '../../image/formats/reader.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { digest } from '../../measurements/hash.js';
import {
  cfvEvent,
  firmwareEvents,
  measuredBootVariables,
  modelAcpiBlobs,
  modelledUkiPlatform,
  platformFromCcel,
  tdHobPreimage,
  type RtmrLayout,
  type UkiPlatformEvents,
} from '../../measurements/cvm/tdx/index.js';
import { CheckFailedError, UsageError } from '../errors.js';
import { MAX_LOG_BYTES } from './eventlog-input.js';
import { str, type OptionValues } from './launch-digest-args.js';
import {
  MAX_ACPI_BLOB,
  MAX_BOOT_VARIABLES_JSON,
  inFile,
  parseBootVariables,
  readInput,
  type InputFile,
} from './measure-tdx-inputs.js';

export type Parameters = Record<string, string | number | null>;
export interface Firmware {
  readonly src: ByteSource;
  readonly metadata: TdvfMetadata;
}
export interface Rtmr0Platform {
  readonly platform: UkiPlatformEvents | undefined;
  readonly layout: RtmrLayout;
  readonly parameters: Parameters;
  /** Why RTMR0 is not predicted when `platform` is undefined. */
  readonly missing?: string;
}

const hexOf = (b: Uint8Array | undefined) => (b === undefined ? 'none' : toHex(b));

export async function fromCcel(
  path: string,
  fw: Firmware,
  memoryBytes: number | undefined,
  layout: RtmrLayout | undefined,
  warnings: string[],
): Promise<Rtmr0Platform> {
  const file = await readInput(path, MAX_LOG_BYTES, 'a CC event log');
  const recorded = await inFile(path, () => platformFromCcel(decodeEventLog(file.bytes)));
  const cfv = await cfvEvent(fw.src, fw.metadata);
  if (hexOf(cfv?.digest) !== hexOf(recorded.cfv?.digest))
    throw new CheckFailedError(
      `${path} was recorded with another firmware build: its CFV digest is ${hexOf(recorded.cfv?.digest)}, the firmware's is ${hexOf(cfv?.digest)}`,
      { hint: 'record the CCEL on a TD that boots the --firmware given here' },
    );
  if (memoryBytes !== undefined) {
    const hob = digest('sha384', tdHobPreimage(fw.metadata.sections, memoryBytes));
    if (hexOf(hob) !== hexOf(recorded.tdHob?.digest))
      throw new CheckFailedError(
        `${path} was recorded on a TD with another memory size: its TD HOB digest is ${hexOf(recorded.tdHob?.digest)}, a ${memoryBytes}-byte TD's is ${toHex(hob)}`,
      );
  } else
    warnings.push(
      "RTMR0 holds for TDs with the recorded TD's memory size (the TD HOB); give --memory SIZE to check which it is",
    );
  if (layout !== undefined && layout !== recorded.layout)
    throw new UsageError(
      `--rtmr-layout ${layout} contradicts ${path}: it records the ReadyToBoot separator in RTMR${recorded.layout === 'quex' ? 0 : 1} (the ${recorded.layout} layout)`,
    );
  if (recorded.recordedImageEvents.length > 0)
    warnings.push(
      `RTMR0: the recorded TD's own ${recorded.recordedImageEvents.length} RTMR0 event(s) after ReadyToBoot (its image's db authorities) are left out; this image's come from the prediction`,
    );
  const preBoot = [...recorded.platform.beforeSecureBoot, ...recorded.platform.beforeBoot];
  if (preBoot.some((e) => e.rtmr > 1))
    warnings.push(
      `${path} has RTMR2/RTMR3 events before the boot option starts; they are taken as the platform's`,
    );
  return {
    platform: recorded.platform,
    layout: recorded.layout,
    parameters: {
      platformCcel: file.name,
      platformCcelSha256: file.sha256,
      rtmr1PlatformEvents: preBoot.filter((e) => e.rtmr === 1).length,
    },
  };
}

export async function fromModel(
  v: OptionValues,
  fw: Firmware,
  memoryBytes: number,
  warnings: string[],
): Promise<Omit<Rtmr0Platform, 'layout'>> {
  const blob = (k: string) => {
    const p = str(v, k);
    return p === undefined ? undefined : readInput(p, MAX_ACPI_BLOB, 'a QEMU fw_cfg ACPI blob');
  };
  const [tables, loader, rsdp] = [
    await blob('acpi-tables'),
    await blob('acpi-loader'),
    await blob('acpi-rsdp'),
  ];
  if (tables === undefined) throw new UsageError('--memory needs --acpi-tables FILE');
  const acpi =
    loader !== undefined && rsdp !== undefined
      ? { tableLoader: loader.bytes, rsdp: rsdp.bytes, tables: tables.bytes }
      : await inFile(tables.path, () => modelAcpiBlobs(tables.bytes));
  if (loader === undefined)
    warnings.push(
      'RTMR0: etc/table-loader and etc/acpi/rsdp were modelled from the tables blob; RTMR0 is exact only with the blobs dumped from the real QEMU (--acpi-loader, --acpi-rsdp)',
    );
  const named = (f: InputFile | undefined, key: string): Parameters => ({
    [key]: f?.name ?? null,
    [`${key}Sha256`]: f?.sha256 ?? null,
  });
  const fwEvents = await firmwareEvents({ firmware: fw.src, metadata: fw.metadata, memoryBytes, acpi });
  const bootPath = str(v, 'boot-variables');
  const boot =
    bootPath === undefined
      ? undefined
      : await readInput(bootPath, MAX_BOOT_VARIABLES_JSON, 'a boot variables description');
  const parameters: Parameters = {
    ...named(tables, 'acpiTables'),
    ...named(loader, 'acpiLoader'),
    ...named(rsdp, 'acpiRsdp'),
    ...named(boot, 'bootVariables'),
  };
  if (boot === undefined)
    return {
      platform: undefined,
      parameters,
      missing:
        "the boot variables (BootOrder, Boot####) OVMF creates for the TD's devices are not determined by the image and nodeimg does not model them: describe them with --boot-variables FILE, or give a CCEL recorded on the platform (--platform-ccel FILE)",
    };
  const measured = await inFile(boot.path, () => measuredBootVariables(parseBootVariables(boot)));
  if (measured.unused.length > 0)
    warnings.push(
      `RTMR0: ${measured.unused.join(', ')} from ${boot.name} are not in BootOrder, so TDVF does not measure them`,
    );
  return { platform: modelledUkiPlatform(fwEvents, measured.variables), parameters };
}
