// Option parsing of `nodeimg launch-digest`: sev-snp-measure's option names and value forms
// (integers in any base with 0x/0o/0b prefixes, like Python's int(s, 0)), plus vCPU ranges.
import { UsageError } from '../errors.js';
import { CPU_SIGS, MAX_VCPUS, VMM_TYPES, cpuSig, type VmmType } from '../../measurements/cvm/snp/index.js';

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export function str(v: OptionValues, k: string): string | undefined {
  const x = v[k];
  return typeof x === 'string' ? x : undefined;
}

/** Python int(s, 0): decimal, 0x hex, 0o octal, 0b binary; underscores allowed between digits. */
export function autoInt(name: string, s: string, max = Number.MAX_SAFE_INTEGER): number {
  const t = s.trim().replaceAll('_', '');
  const ok = /^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0|[1-9][0-9]*)$/.test(t);
  const n = ok ? Number(t) : NaN; // Number() reads 0x, 0o and 0b prefixes
  if (!Number.isSafeInteger(n) || n < 0 || n > max)
    throw new UsageError(`--${name}: '${s}' is not an integer in 0..${max} (decimal, or 0x/0o/0b prefixed)`);
  return n;
}

/** `--vcpus 4`, `--vcpus 1-64`, `--vcpus 1,2,4,8-16`: sorted, unique. */
export function parseVcpus(s: string): number[] {
  const out = new Set<number>();
  for (const item of s.split(',').map((x) => x.trim())) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (m === null || lo < 1 || lo > hi || hi > MAX_VCPUS)
      throw new UsageError(`--vcpus: '${item}' is not a count or range within 1-${MAX_VCPUS}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

export function parseVmmType(s: string | undefined): VmmType {
  if (s === undefined) return 'QEMU';
  const t = VMM_TYPES.find((x) => x.toLowerCase() === s.toLowerCase());
  if (!t) throw new UsageError(`--vmm-type: unknown VMM type '${s}' (${VMM_TYPES.join(', ')})`);
  return t;
}

export interface VcpuSignature {
  readonly sig: number | undefined;
  /** How it was given, for the JSON output. */
  readonly from: 'vcpu-family' | 'vcpu-sig' | 'vcpu-type' | 'none';
  readonly vcpuType?: string;
}

/** sev-snp-measure cli.py `get_vcpu_sig` precedence: family/model/stepping, then --vcpu-sig, then --vcpu-type. */
export function parseVcpuSig(v: OptionValues): VcpuSignature {
  const fam = str(v, 'vcpu-family');
  const model = str(v, 'vcpu-model');
  const step = str(v, 'vcpu-stepping');
  if (fam !== undefined || model !== undefined || step !== undefined) {
    if (fam === undefined || model === undefined || step === undefined)
      throw new UsageError('--vcpu-family, --vcpu-model and --vcpu-stepping go together');
    return {
      sig: cpuSig(
        autoInt('vcpu-family', fam, 0x10e),
        autoInt('vcpu-model', model, 0xff),
        autoInt('vcpu-stepping', step, 0xf),
      ),
      from: 'vcpu-family',
    };
  }
  const sig = str(v, 'vcpu-sig');
  if (sig !== undefined) return { sig: autoInt('vcpu-sig', sig, 0xffffffff), from: 'vcpu-sig' };
  const type = str(v, 'vcpu-type');
  if (type !== undefined) {
    const s = CPU_SIGS.get(type);
    if (s === undefined)
      throw new UsageError(`--vcpu-type: unknown CPU type '${type}' (${[...CPU_SIGS.keys()].join(', ')})`);
    return { sig: s, from: 'vcpu-type', vcpuType: type };
  }
  return { sig: undefined, from: 'none' };
}
