// `nodeimg measure --platform qemu-tdx`: MRTD of the firmware (both page orders) and the RTMRs of the
// image's boot chain (measurements/cvm/tdx/uki-rtmrs.ts). RTMR1-3 follow from the image; RTMR0 needs
// the platform (uki-platform.ts), from one of two sources, never guessed:
//   --platform-ccel FILE   a CC event log recorded on a TD of the same platform: every event TDVF logged
//                          before the boot option started is taken as recorded (platform-ccel.ts), the
//                          image's db authority events come from the prediction;
//   --memory, --acpi-tables [--acpi-loader --acpi-rsdp], --boot-variables   the firmware model: TD HOB,
//                          CFV and Secure Boot configuration from the firmware, the given ACPI blobs and
//                          boot variables. Without --boot-variables RTMR0 is not predicted: the boot
//                          variables of a disk boot are what OVMF creates for the TD's devices.
// Every input is recorded in the launch section's parameters by file name and sha256 (reading and
// checking the inputs: measure-tdx-rtmr0.ts, measure-tdx-inputs.ts).
import type { LaunchValues } from '../../measurements/document.js';
import type { Prediction } from '../../measurements/boot/predict.js';
import { fromBytes } from '../../image/formats/source.js';
import { toHex } from '../../image/formats/reader.js';
import {
  RTMR_LAYOUTS,
  predictUkiRtmrs,
  tdxLaunchDigest,
  type RtmrLayout,
} from '../../measurements/cvm/tdx/index.js';
import { UsageError } from '../errors.js';
import { str, type OptionValues } from './launch-digest-args.js';
import { parseMemory } from './launch-digest-tdx.js';
import { MAX_FIRMWARE, inFile, readInput } from './measure-tdx-inputs.js';
import { fromCcel, fromModel, type Parameters, type Rtmr0Platform } from './measure-tdx-rtmr0.js';

const MODEL_OPTIONS = ['acpi-tables', 'acpi-loader', 'acpi-rsdp', 'boot-variables'] as const;

function checkCombination(v: OptionValues): void {
  const ccel = str(v, 'platform-ccel');
  const model = MODEL_OPTIONS.filter((k) => v[k] !== undefined);
  if (ccel !== undefined && model.length > 0)
    throw new UsageError(
      `--${model[0]} does not go with --platform-ccel: the recorded log gives the ACPI blobs and boot variables as the platform measured them (--memory is checked against its TD HOB)`,
    );
  if (ccel === undefined && (model.length > 0 || v['memory'] !== undefined)) {
    if (v['memory'] === undefined || v['acpi-tables'] === undefined)
      throw new UsageError(
        'RTMR0 from the firmware model needs --memory SIZE and --acpi-tables FILE (QEMU fw_cfg etc/acpi/tables; add --acpi-loader and --acpi-rsdp when dumped) and --boot-variables FILE; or give --platform-ccel FILE',
      );
  }
  if ((v['acpi-loader'] === undefined) !== (v['acpi-rsdp'] === undefined))
    throw new UsageError(
      '--acpi-loader and --acpi-rsdp go together (without both, they are modelled from --acpi-tables)',
    );
}

function layoutOption(v: OptionValues): RtmrLayout | undefined {
  const s = str(v, 'rtmr-layout');
  if (s === undefined) return undefined;
  if (!(RTMR_LAYOUTS as readonly string[]).includes(s))
    throw new UsageError(`--rtmr-layout must be ${RTMR_LAYOUTS.join(' or ')}, not '${s}'`);
  return s as RtmrLayout;
}

export async function tdxLaunchValues(
  name: string,
  firmwarePath: string,
  v: OptionValues,
  prediction: Prediction,
): Promise<{ readonly launch: LaunchValues; readonly warnings: readonly string[] }> {
  checkCombination(v);
  const explicitLayout = layoutOption(v);
  const memoryBytes = str(v, 'memory') === undefined ? undefined : parseMemory(str(v, 'memory') as string);
  const firmware = await readInput(firmwarePath, MAX_FIRMWARE, 'a firmware image');
  const src = fromBytes(firmware.bytes, firmwarePath);
  const td = await inFile(firmwarePath, () => tdxLaunchDigest({ firmware: src }));
  const fw = { src, metadata: td.metadata };
  const warnings: string[] = [];
  const ccelPath = str(v, 'platform-ccel');
  let rtmr0: Rtmr0Platform;
  if (ccelPath !== undefined) rtmr0 = await fromCcel(ccelPath, fw, memoryBytes, explicitLayout, warnings);
  else if (memoryBytes !== undefined)
    rtmr0 = { ...(await fromModel(v, fw, memoryBytes, warnings)), layout: explicitLayout ?? 'dstack' };
  else
    rtmr0 = {
      platform: undefined,
      layout: explicitLayout ?? 'dstack',
      parameters: {},
      missing:
        'needs the platform: a CC event log recorded on a TD of the same platform (--platform-ccel FILE), or --memory, --acpi-tables and --boot-variables for the firmware model',
    };
  const r = predictUkiRtmrs(prediction, rtmr0.layout, rtmr0.platform);
  warnings.push(...r.warnings);
  const source =
    ccelPath !== undefined ? 'platform-ccel' : memoryBytes !== undefined ? 'firmware-model' : null;
  const parameters: Parameters = {
    firmware: firmware.name,
    firmwareSha256: firmware.sha256,
    layout: r.layout,
    rtmr0Source: source,
    memoryBytes: memoryBytes ?? null,
    ...rtmr0.parameters,
    ...(r.rtmr0
      ? {
          secureBootConfig:
            r.rtmr0.secureBootConfig === 'prediction'
              ? 'prediction (--vars)'
              : ccelPath !== undefined
                ? 'platform-ccel'
                : 'firmware CFV',
          rtmr0PlatformEvents: r.rtmr0.platform,
          rtmr0ImageEvents: r.rtmr0.image,
        }
      : {}),
  };
  return {
    launch: {
      platform: name,
      parameters,
      values: [
        { name: 'MRTD', order: 'single-pass', value: toHex(td.mrtdByOrder['single-pass']) },
        { name: 'MRTD', order: 'two-pass', value: toHex(td.mrtdByOrder['two-pass']) },
        ...r.rtmrs.flatMap((x, i) => (x === undefined ? [] : [{ name: `RTMR${i}`, value: toHex(x) }])),
      ],
      notPredicted: r.notPredicted.map((n) => ({
        name: `RTMR${n.rtmr}`,
        reason:
          n.rtmr !== 0
            ? n.reason
            : (rtmr0.missing ??
              (rtmr0.platform?.secureBootEnforced
                ? `${n.reason} (--vars ${firmware.name} --secure-boot on reads the store of its CFV)`
                : n.reason)),
      })),
    },
    warnings,
  };
}
