// The RTMR0 events TDVF measures before the boot manager runs, in order (launch-measurements.md
// §2.3 RTMR0 items 1-11; edk2 OvmfPkg/IntelTdx TdxHelperLib, TdTcg2Dxe.c, OvmfPkg
// AcpiPlatformDxe QemuFwCfgAcpi.c): TD HOB, CFV, Secure Boot variables + separator, QEMU ACPI blobs.
import { createHash } from 'node:crypto';
import { readVarStore, type VarStore } from '../../../image/formats/ovmf-vars/index.js';
import { chunks, slice, type ByteSource } from '../../../image/formats/source.js';
import type { TdvfMetadata } from '../../../image/formats/tdvf/index.js';
import { EV } from '../../eventlog/types.js';
import { ccEvent, type CcEvent } from './cc-event.js';
import { secureBootConfigEvents, type SecureBootWithoutPk } from './firmware-config.js';
import type { AcpiBlobs } from './qemu-acpi.js';
import { tdHobPreimage } from './td-hob.js';

export interface FirmwareEventsInput {
  readonly firmware: ByteSource;
  readonly metadata: TdvfMetadata;
  readonly memoryBytes: number;
  /** The three fw_cfg blobs; undefined leaves the ACPI events out (and RTMR0 incomplete). */
  readonly acpi: AcpiBlobs | undefined;
  /** Variable store measured for Secure Boot; default the firmware's CFV. */
  readonly varStore?: Pick<VarStore, 'variables'>;
  readonly secureBootWithoutPk?: SecureBootWithoutPk;
}

export interface FirmwareEvents {
  readonly tdHob: CcEvent;
  /** Undefined for firmware without a CFV section. */
  readonly cfv: CcEvent | undefined;
  /** SecureBoot, PK, KEK, db, dbx [, dbt] and the separator that ends them (PCR 7 -> RTMR0). */
  readonly secureBoot: readonly CcEvent[];
  readonly acpi: readonly CcEvent[];
  /** The variable store the Secure Boot events were read from. */
  readonly varStore: Pick<VarStore, 'variables'>;
}

export const SEPARATOR_DATA = new Uint8Array(4);

async function sha384Of(src: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const h = createHash('sha384');
  for await (const c of chunks(src, offset, length)) h.update(c);
  return new Uint8Array(h.digest());
}

/** The CFV event (undefined for firmware without a CFV section). */
export async function cfvEvent(firmware: ByteSource, metadata: TdvfMetadata): Promise<CcEvent | undefined> {
  const section = metadata.sections.find((s) => s.type === 'CFV');
  if (section === undefined) return undefined;
  // EV_EFI_PLATFORM_FIRMWARE_BLOB2: digest of the CFV's raw bytes (TdxHelperMeasureCfvImage).
  return {
    rtmr: 0,
    type: EV.EFI_PLATFORM_FIRMWARE_BLOB2,
    name: 'Configuration Firmware Volume (CFV)',
    digest: await sha384Of(firmware, section.dataOffset, section.rawDataSize),
    data: undefined,
  };
}

/** The variable store in the CFV, which a TD starts with (undefined without a CFV section). */
export async function cfvVarStore(
  firmware: ByteSource,
  metadata: TdvfMetadata,
): Promise<VarStore | undefined> {
  const section = metadata.sections.find((s) => s.type === 'CFV');
  if (section === undefined) return undefined;
  return readVarStore(slice(firmware, section.dataOffset, section.rawDataSize, `${firmware.name}: CFV`));
}

export async function firmwareEvents(input: FirmwareEventsInput): Promise<FirmwareEvents> {
  const { firmware, metadata } = input;
  // The log data is a UEFI_HANDOFF_TABLE_POINTERS2 with a runtime address, not the HOB itself.
  const tdHob = {
    ...ccEvent(
      0,
      EV.EFI_HANDOFF_TABLES2,
      'TD Hand-Off Block (HOB)',
      tdHobPreimage(metadata.sections, input.memoryBytes),
    ),
    data: undefined,
  };
  const cfv = await cfvEvent(firmware, metadata);
  const varStore = input.varStore ?? (await cfvVarStore(firmware, metadata)) ?? { variables: [] };
  const secureBoot = [
    ...secureBootConfigEvents(varStore, input.secureBootWithoutPk),
    ccEvent(0, EV.SEPARATOR, 'Separator', SEPARATOR_DATA),
  ];
  const acpi =
    input.acpi === undefined
      ? []
      : [
          ccEvent(0, EV.PLATFORM_CONFIG_FLAGS, 'QEMU ACPI table loader', input.acpi.tableLoader),
          ccEvent(0, EV.PLATFORM_CONFIG_FLAGS, 'Root System Description Pointer (RSDP)', input.acpi.rsdp),
          ccEvent(0, EV.PLATFORM_CONFIG_FLAGS, 'ACPI tables', input.acpi.tables),
        ];
  // The ACPI events' log data is the fw_cfg file name, not the blob; not predicted here.
  return { tdHob, cfv, secureBoot, acpi: acpi.map((e) => ({ ...e, data: undefined })), varStore };
}
