// One call for what a TDX quote carries for a QEMU TD: MRTD from the firmware alone and, when the
// direct-boot inputs are given, RTMR0-3 (launch-measurements.md §2). Pure: every input is a
// ByteSource or bytes; the CLI opens the files.
import type { ByteSource } from '../../../image/formats/source.js';
import { readTdvfMetadata, type TdvfMetadata } from '../../../image/formats/tdvf/index.js';
import { composeRtmrs, withLayout, type CcEvent, type RtmrLayout } from './cc-event.js';
import { directBootEvents, type KernelMeasurement } from './direct-boot.js';
import type { BootVariable, SecureBootWithoutPk } from './firmware-config.js';
import { computeMrtd, type MrtdOrder } from './mrtd.js';
import { modelAcpiBlobs, type AcpiBlobs } from './qemu-acpi.js';

export interface TdxDirectBoot {
  readonly memoryBytes: number;
  /** The three dumped fw_cfg blobs, or only etc/acpi/tables (loader and RSDP are then modelled, qemu-acpi.ts). */
  readonly acpi: AcpiBlobs | { readonly tables: Uint8Array };
  readonly kernel: ByteSource;
  readonly initrd?: ByteSource | undefined;
  readonly cmdline?: string | undefined;
  /** Default 'qemu-patched' (OVMF before edk2-stable202505). */
  readonly kernelMeasurement?: KernelMeasurement;
  readonly bootVariables?: readonly BootVariable[];
  readonly secureBootWithoutPk?: SecureBootWithoutPk;
}

export interface TdxLaunchDigestOptions {
  readonly firmware: ByteSource;
  /** MRTD page order reported as `mrtd`; default 'single-pass' (upstream KVM, QEMU >= 9). */
  readonly order?: MrtdOrder;
  /** RTMR layout; default 'dstack' (cc-event.ts). */
  readonly layout?: RtmrLayout;
  /** Direct kernel boot inputs; without them only MRTD is computed. */
  readonly directBoot?: TdxDirectBoot;
}

export interface TdxLaunchDigest {
  readonly metadata: TdvfMetadata;
  readonly order: MrtdOrder;
  readonly mrtd: Uint8Array;
  readonly mrtdByOrder: { readonly 'single-pass': Uint8Array; readonly 'two-pass': Uint8Array };
  readonly rtmr?: {
    readonly layout: RtmrLayout;
    readonly registers: readonly Uint8Array[];
    readonly events: readonly CcEvent[];
    readonly kernelAuthenticode: Uint8Array;
    /** True when etc/table-loader and etc/acpi/rsdp were modelled rather than given. */
    readonly acpiModelled: boolean;
  };
}

export async function tdxLaunchDigest(opts: TdxLaunchDigestOptions): Promise<TdxLaunchDigest> {
  const metadata = await readTdvfMetadata(opts.firmware);
  const both = await computeMrtd(opts.firmware, metadata);
  const mrtdByOrder = {
    'single-pass': both.get('single-pass') as Uint8Array,
    'two-pass': both.get('two-pass') as Uint8Array,
  };
  const order = opts.order ?? 'single-pass';
  const result: TdxLaunchDigest = { metadata, order, mrtd: mrtdByOrder[order], mrtdByOrder };
  const db = opts.directBoot;
  if (db === undefined) return result;
  const acpiModelled = !('tableLoader' in db.acpi);
  const acpi = 'tableLoader' in db.acpi ? db.acpi : modelAcpiBlobs(db.acpi.tables);
  const direct = await directBootEvents({ ...db, firmware: opts.firmware, metadata, acpi });
  const layout = opts.layout ?? 'dstack';
  const events = withLayout(direct.events, layout);
  return {
    ...result,
    rtmr: {
      layout,
      registers: composeRtmrs(events),
      events,
      kernelAuthenticode: direct.kernelAuthenticode,
      acpiModelled,
    },
  };
}
