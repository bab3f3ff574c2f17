// The SEV and SEV-ES launch digests (launch-measurements.md §1.7; sev-snp-measure guest.py
// `sev_calc_launch_digest`, `seves_calc_launch_digest`): SHA-256 over the bytes LAUNCH_UPDATE_DATA
// and LAUNCH_UPDATE_VMSA encrypt, in order: the firmware image, the 176-byte kernel-hashes table
// when a kernel is measured, then (SEV-ES) each vCPU's 4 KiB VMSA. The PSP only ever returns
// HMAC-SHA256(TIK, 0x04 | api version | build | policy | digest | mnonce) (SEV API spec
// LAUNCH_MEASURE), so these digests are the input a verifier who knows the TIK needs.
import { createHash, type Hash } from 'node:crypto';
import { NodeimgError } from '../../../image/formats/errors.js';
import { assertHasBytes, type AmdSevFirmware } from './firmware.js';
import { sevHashTable, type KernelHashes } from './kernel-hashes.js';
import { checkVcpuCounts, requireResetEip, vmsaHashes, type VcpuDigest } from './vcpus.js';
import type { VmmType } from './vmsa.js';

/** Firmware (+ hashes table) as a running SHA-256, and the table itself. */
function prefix(
  fw: AmdSevFirmware,
  kernel: KernelHashes | undefined,
): { hash: Hash; table: Uint8Array | undefined } {
  assertHasBytes(fw);
  const hash = createHash('sha256').update(fw.bytes);
  if (!kernel) return { hash, table: undefined };
  // OVMF verifies the blobs only when its build has the SEV hash table block (AmdSev builds).
  const block = fw.footer.sevHashTable;
  if (!block || block.gpa === 0) {
    throw new NodeimgError(
      'USAGE',
      `a kernel is to be measured but ${fw.name} does not support kernel/initrd/cmdline measurement (no SEV hash table block)`,
    );
  }
  const table = sevHashTable(kernel);
  hash.update(table);
  return { hash, table };
}

export interface SevLaunchResult {
  readonly sevHashTable: Uint8Array | undefined;
  readonly digest: Uint8Array;
}

/** SEV (no VMSA measured): SHA-256(firmware || hashes table). */
export function sevDigest(input: {
  readonly firmware: AmdSevFirmware;
  readonly kernel?: KernelHashes | undefined;
}): SevLaunchResult {
  const { hash, table } = prefix(input.firmware, input.kernel);
  return { sevHashTable: table, digest: new Uint8Array(hash.digest()) };
}

export interface SevEsLaunchInput {
  readonly firmware: AmdSevFirmware;
  readonly vcpus: readonly number[];
  readonly vmmType?: VmmType;
  readonly vcpuSig?: number | undefined;
  readonly kernel?: KernelHashes | undefined;
}

export interface SevEsLaunchResult {
  readonly sevHashTable: Uint8Array | undefined;
  readonly vmsaBspSha384: Uint8Array;
  readonly vmsaApSha384: Uint8Array | undefined;
  readonly digests: readonly VcpuDigest[];
}

/** SEV-ES: SHA-256(firmware || hashes table || VMSA_0 || ... || VMSA_n-1) for each vCPU count. */
export function sevEsDigests(input: SevEsLaunchInput): SevEsLaunchResult {
  const vmmType = input.vmmType ?? 'QEMU';
  const counts = checkVcpuCounts(input.vcpus);
  const vcpuSig = input.vcpuSig ?? (vmmType === 'QEMU' ? undefined : 0);
  if (vcpuSig === undefined)
    throw new NodeimgError(
      'USAGE',
      'QEMU guests need the vCPU signature (a --vcpu-type, --vcpu-sig or --vcpu-family/model/stepping)',
    );
  const resetEip = requireResetEip(input.firmware, counts);
  const v = vmsaHashes({ mode: 'seves', vmmType, vcpuSig, resetEip, sevFeatures: 0 });
  const { hash, table } = prefix(input.firmware, input.kernel);
  const want = new Set(counts);
  const digests: VcpuDigest[] = [];
  const max = counts[counts.length - 1] ?? 0;
  for (let n = 1; n <= max; n++) {
    const page = n === 1 ? v.bspPage : v.apPage;
    if (!page) throw new NodeimgError('INTERNAL', 'no AP VMSA for a multi-vCPU guest');
    hash.update(page);
    if (want.has(n)) digests.push({ vcpus: n, digest: new Uint8Array(hash.copy().digest()) });
  }
  return { sevHashTable: table, vmsaBspSha384: v.bsp, vmsaApSha384: v.ap, digests };
}
