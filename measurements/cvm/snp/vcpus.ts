// What every SEV-ES/SNP mode needs about vCPUs: validated vCPU counts, the AP reset EIP from the
// firmware, and the BSP/AP VMSA pages (vCPU 0 starts at the reset vector, every other vCPU at the
// SEV-ES reset block EIP: launch-measurements.md §1.2 step 3, §1.5).
import { NodeimgError, ParseError } from '../../../image/formats/errors.js';
import type { AmdSevFirmware } from './firmware.js';
import { sha384 } from './page-info.js';
import { BSP_EIP, buildVmsa, type VmmType } from './vmsa.js';

/** KVM_MAX_VCPUS on x86 (Linux 6.x). */
export const MAX_VCPUS = 4096;

export interface VcpuDigest {
  readonly vcpus: number;
  readonly digest: Uint8Array;
}

/** Sorted, de-duplicated vCPU counts, each 1..MAX_VCPUS. */
export function checkVcpuCounts(vcpus: readonly number[]): number[] {
  if (vcpus.length === 0) throw new NodeimgError('USAGE', 'at least one vCPU count is needed');
  if (vcpus.length > MAX_VCPUS)
    throw new NodeimgError('USAGE', `${vcpus.length} vCPU counts (limit ${MAX_VCPUS})`);
  for (const n of vcpus) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_VCPUS)
      throw new NodeimgError('USAGE', `vCPU count ${n} is not an integer in 1..${MAX_VCPUS}`);
  }
  return [...new Set(vcpus)].sort((a, b) => a - b);
}

/** The AP reset EIP (SEV-ES reset block), required whenever the guest is SEV-ES or SNP. */
export function requireResetEip(fw: AmdSevFirmware, counts: readonly number[]): number {
  const eip = fw.footer.sevEsResetEip;
  if (eip === undefined)
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      fw.name,
      fw.footer.table.offset,
      'no SEV-ES reset block (footer GUID 00f771de-...): this firmware cannot start SEV-ES/SNP vCPUs',
    );
  if (eip === 0 && counts.some((n) => n > 1))
    throw new ParseError(
      'PARSE_INVALID',
      fw.name,
      fw.footer.table.offset,
      'the SEV-ES reset block gives AP reset EIP 0: this firmware cannot start more than one vCPU',
    );
  return eip;
}

export interface VmsaHashes {
  /** The 4 KiB VMSA pages, for SEV-ES (which hashes the bytes) and for dumping. */
  readonly bspPage: Uint8Array;
  readonly apPage: Uint8Array | undefined;
  /** SHA-384 of each page, what SNP measures. */
  readonly bsp: Uint8Array;
  readonly ap: Uint8Array | undefined;
}

export function vmsaHashes(p: {
  mode: 'snp' | 'seves';
  vmmType: VmmType;
  vcpuSig: number;
  resetEip: number;
  sevFeatures: number;
}): VmsaHashes {
  // SEV-ES has no SEV_FEATURES field in use: sev-snp-measure writes 0 (guest.py).
  const sevFeatures = p.mode === 'snp' ? p.sevFeatures : 0;
  const common = { vmmType: p.vmmType, vcpuSig: p.vcpuSig, sevFeatures };
  const bspPage = buildVmsa({ ...common, eip: BSP_EIP, bsp: true });
  const apPage = p.resetEip === 0 ? undefined : buildVmsa({ ...common, eip: p.resetEip, bsp: false });
  return { bspPage, apPage, bsp: sha384(bspPage), ap: apPage ? sha384(apPage) : undefined };
}
