// Guest vCPU signatures: what QEMU puts in RDX at reset (CPUID Fn0000_0001_EAX of the guest CPU
// model), which the VMSA carries and so the launch digest depends on. Encoding from AMD's CPUID
// Specification (pub. 25481, "CPUID Fn0000_0001_EAX Family, Model, Stepping Identifiers"); the
// model table is QEMU's builtin_x86_defs as listed by sev-snp-measure vcpu_types.py, plus EPYC-Turin
// (launch-measurements.md §1.5).
import { NodeimgError } from '../../../image/formats/errors.js';

/** CPUID 1 EAX from family / model / stepping (extended family when family > 0xf). */
export function cpuSig(family: number, model: number, stepping: number): number {
  for (const [name, v, max] of [
    ['family', family, 0xff + 0xf],
    ['model', model, 0xff],
    ['stepping', stepping, 0xf],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new NodeimgError('USAGE', `vCPU ${name} ${v} is out of range (0..${max})`);
  }
  const famLo = Math.min(family, 0xf);
  const famHi = family > 0xf ? family - 0xf : 0;
  return ((famHi << 20) | ((model >> 4) << 16) | (famLo << 8) | ((model & 0xf) << 4) | stepping) >>> 0;
}

const EPYC = cpuSig(23, 1, 2); // 0x800f12
const ROME = cpuSig(23, 49, 0); // 0x830f10
const MILAN = cpuSig(25, 1, 1); // 0xa00f11
const GENOA = cpuSig(25, 17, 0); // 0xa10f10
const TURIN = cpuSig(26, 0, 0); // 0xb00f00

/** QEMU `-cpu` model names and their signatures. */
export const CPU_SIGS: ReadonlyMap<string, number> = new Map([
  ['EPYC', EPYC],
  ['EPYC-v1', EPYC],
  ['EPYC-v2', EPYC],
  ['EPYC-IBPB', EPYC],
  ['EPYC-v3', EPYC],
  ['EPYC-v4', EPYC],
  ['EPYC-Rome', ROME],
  ['EPYC-Rome-v1', ROME],
  ['EPYC-Rome-v2', ROME],
  ['EPYC-Rome-v3', ROME],
  ['EPYC-Rome-v4', ROME],
  ['EPYC-Milan', MILAN],
  ['EPYC-Milan-v1', MILAN],
  ['EPYC-Milan-v2', MILAN],
  ['EPYC-Genoa', GENOA],
  ['EPYC-Genoa-v1', GENOA],
  ['EPYC-Turin', TURIN],
  ['EPYC-Turin-v1', TURIN],
]);

export function vcpuSigForType(name: string): number {
  const sig = CPU_SIGS.get(name);
  if (sig === undefined)
    throw new NodeimgError(
      'USAGE',
      `unknown vCPU type '${name}' (known: ${[...CPU_SIGS.keys()].join(', ')})`,
    );
  return sig;
}
