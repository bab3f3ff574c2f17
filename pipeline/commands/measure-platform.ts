// Confidential-VM platform profiles for `nodeimg measure --platform`: the launch values the CPU
// measures before any firmware runs (SEV-SNP MEASUREMENT, TDX MRTD) and, for TDX, the RTMRs the
// firmware and the UKI chain extend, recorded next to the PCRs with the parameters they depend on.
import type { ParsedArgs } from '../command.js';
import { UsageError } from '../errors.js';
import { runAmdLaunch } from './launch-digest-amd.js';
import { tdxLaunchValues } from './measure-tdx.js';
import { SNP_MEASURE_OPTIONS, TDX_MEASURE_OPTIONS } from './measure-options.js';
import type { Prediction } from '../../measurements/boot/predict.js';
import type { LaunchValues } from '../../measurements/document.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Each profile: the VMM whose VMSA / page order the values assume. */
export const PLATFORMS = {
  'qemu-snp': { kind: 'snp', vmmType: 'QEMU' },
  'aws-sev-snp': { kind: 'snp', vmmType: 'ec2' },
  'gcp-sev-snp': { kind: 'snp', vmmType: 'gce' },
  'qemu-tdx': { kind: 'tdx' },
} as const;
export type PlatformName = keyof typeof PLATFORMS;

export async function launchValues(
  name: string,
  args: ParsedArgs,
  prediction: Prediction,
): Promise<{ readonly launch: LaunchValues; readonly warnings: readonly string[] }> {
  if (!Object.hasOwn(PLATFORMS, name)) {
    throw new UsageError(`unknown --platform ${name} (known: ${Object.keys(PLATFORMS).join(', ')})`);
  }
  const profile = PLATFORMS[name as PlatformName];
  const v = args.values;
  const firmware = typeof v['firmware'] === 'string' ? v['firmware'] : undefined;
  if (firmware === undefined)
    throw new UsageError(`--platform ${name} needs --firmware FILE (the OVMF build the VM launches)`);
  if (profile.kind === 'snp') {
    const tdx = TDX_MEASURE_OPTIONS.find((k) => v[k] !== undefined);
    if (tdx) throw new UsageError(`--${tdx} is only used with --platform qemu-tdx`);
    // the image boots from disk: no kernel-hashes table, the launch digest covers the firmware
    const run = await runAmdLaunch('snp', {
      ovmf: firmware,
      'vmm-type': profile.vmmType,
      ...SNP_MEASURE_OPTIONS.reduce<Record<string, string>>((o, k) => {
        if (typeof v[k] === 'string') o[k] = v[k];
        return o;
      }, {}),
    });
    const launch: LaunchValues = {
      platform: name,
      parameters: {
        firmware: run.firmware.path.split('/').pop() ?? run.firmware.path,
        firmwareSha256: run.firmware.sha256,
        vmmType: run.vmmType,
        vcpuSig: run.vcpuSig.sig === undefined ? null : `0x${run.vcpuSig.sig.toString(16)}`,
        guestFeatures: run.guestFeatures === null ? null : `0x${run.guestFeatures.toString(16)}`,
      },
      values: run.result.digests.map((d) => ({ name: 'MEASUREMENT', vcpus: d.vcpus, value: hex(d.digest) })),
      notPredicted: [],
    };
    return { launch, warnings: [] };
  }
  for (const k of SNP_MEASURE_OPTIONS) {
    if (v[k] !== undefined) throw new UsageError(`--${k} is not used with --platform ${name}`);
  }
  return tdxLaunchValues(name, firmware, v, prediction);
}
