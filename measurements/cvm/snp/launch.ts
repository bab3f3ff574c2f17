// One entry point over the four AMD SEV launch flavours, named as sev-snp-measure's `--mode`
// names them, with one result shape (what `nodeimg launch-digest` prints and the tests compare).
import { NodeimgError } from '../../../image/formats/errors.js';
import type { AmdSevFirmware } from './firmware.js';
import type { KernelHashes } from './kernel-hashes.js';
import type { PageRun } from './page-info.js';
import { sevDigest, sevEsDigests } from './sev-digest.js';
import { snpDigests } from './snp-digest.js';
import { svsmDigests } from './svsm-digest.js';
import type { VmmType } from './vmsa.js';

export const AMD_SEV_MODES = ['snp', 'snp:svsm', 'seves', 'sev'] as const;
export type AmdSevMode = (typeof AMD_SEV_MODES)[number];

export interface AmdLaunchInput {
  readonly mode: AmdSevMode;
  readonly firmware: AmdSevFirmware;
  /** vCPU counts (all modes but sev). */
  readonly vcpus?: readonly number[] | undefined;
  readonly vmmType?: VmmType | undefined;
  readonly vcpuSig?: number | undefined;
  /** SNP only (default 0x1). */
  readonly guestFeatures?: number | undefined;
  readonly kernel?: KernelHashes | undefined;
  /** SNP only: a stored OVMF hash replaces hashing the firmware pages. */
  readonly ovmfHashSeed?: Uint8Array | undefined;
  /** snp:svsm only. */
  readonly svsm?: { readonly image: Uint8Array; readonly varsSize: number } | undefined;
}

export interface AmdLaunchResult {
  readonly mode: AmdSevMode;
  /** SHA-384 chain (SNP) or SHA-256 stream (SEV, SEV-ES). */
  readonly hash: 'sha384' | 'sha256';
  readonly ovmfHash: Uint8Array | undefined;
  readonly sevHashTable: Uint8Array | undefined;
  readonly vmsaBspSha384: Uint8Array | undefined;
  readonly vmsaApSha384: Uint8Array | undefined;
  readonly pages: readonly PageRun[] | undefined;
  /** `vcpus` is null for SEV, whose digest does not depend on them. */
  readonly digests: readonly { readonly vcpus: number | null; readonly digest: Uint8Array }[];
}

export function amdLaunchDigests(p: AmdLaunchInput): AmdLaunchResult {
  const base = {
    mode: p.mode,
    ovmfHash: undefined,
    sevHashTable: undefined,
    vmsaBspSha384: undefined,
    vmsaApSha384: undefined,
    pages: undefined,
  };
  if (p.mode !== 'snp' && p.ovmfHashSeed)
    throw new NodeimgError('USAGE', 'a stored OVMF hash only applies to --mode snp');
  if (p.mode !== 'snp:svsm' && p.svsm)
    throw new NodeimgError('USAGE', 'an SVSM image only applies to --mode snp:svsm');
  const vcpus = p.vcpus ?? [];
  switch (p.mode) {
    case 'sev': {
      const r = sevDigest({ firmware: p.firmware, kernel: p.kernel });
      return {
        ...base,
        hash: 'sha256',
        sevHashTable: r.sevHashTable,
        digests: [{ vcpus: null, digest: r.digest }],
      };
    }
    case 'seves': {
      const r = sevEsDigests({
        firmware: p.firmware,
        vcpus,
        vmmType: p.vmmType ?? 'QEMU',
        vcpuSig: p.vcpuSig,
        kernel: p.kernel,
      });
      return { ...base, hash: 'sha256', ...r };
    }
    case 'snp':
      return { mode: p.mode, hash: 'sha384', ...snpDigests({ ...p, vcpus, vmmType: p.vmmType ?? 'QEMU' }) };
    case 'snp:svsm': {
      if (!p.svsm) throw new NodeimgError('USAGE', 'snp:svsm needs the SVSM image and the OVMF_VARS size');
      if ((p.vmmType ?? 'QEMU') !== 'QEMU')
        throw new NodeimgError('USAGE', 'snp:svsm is only defined for QEMU');
      if (p.kernel) throw new NodeimgError('USAGE', 'snp:svsm does not measure a kernel');
      if (p.vcpuSig === undefined) throw new NodeimgError('USAGE', 'snp:svsm needs the vCPU signature');
      return {
        mode: p.mode,
        hash: 'sha384',
        ...svsmDigests({
          firmware: p.firmware,
          svsm: p.svsm.image,
          varsSize: p.svsm.varsSize,
          vcpus,
          vcpuSig: p.vcpuSig,
        }),
      };
    }
  }
}
