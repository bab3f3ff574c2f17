// The SEV-SNP launch digest for QEMU/KVM, EC2 and GCE (launch-measurements.md §1.2; sev-snp-measure
// guest.py `snp_calc_launch_digest`): firmware pages, SEV metadata pages, then one VMSA page per
// vCPU. The firmware part is cached (firmware.ts) and the VMSA chain is walked once up to the
// largest vCPU count asked for, so a table for 1..64 vCPUs costs 64 SHA-384s of 112 bytes.
import { NodeimgError, ParseError } from '../../../image/formats/errors.js';
import { assertPageAligned, firmwareLaunchDigest, type AmdSevFirmware } from './firmware.js';
import { sevHashTable, sevHashTablePage, type KernelHashes } from './kernel-hashes.js';
import { measureMetadataPages } from './metadata-pages.js';
import { LaunchDigest, PAGE_SIZE, type PageRun } from './page-info.js';
import { checkVcpuCounts, requireResetEip, vmsaHashes, type VcpuDigest } from './vcpus.js';
import type { VmmType } from './vmsa.js';

/** sev-snp-measure `--guest-features` default: SNPActive only (KVM_SEV_INIT2 hosts, Linux >= 6.10). */
export const DEFAULT_GUEST_FEATURES = 0x1;

export interface SnpLaunchInput {
  readonly firmware: AmdSevFirmware;
  /** vCPU counts to compute the digest for (1..4096); each gets its own digest. */
  readonly vcpus: readonly number[];
  readonly vmmType?: VmmType;
  /** CPUID 1 EAX of the guest CPU model; required for QEMU, ignored by EC2 and GCE. */
  readonly vcpuSig?: number | undefined;
  /** SEV_FEATURES of the VMSAs (default 0x1). */
  readonly guestFeatures?: number | undefined;
  /** Measured direct boot: the kernel/initrd/cmdline hashes QEMU puts in the hashes page. */
  readonly kernel?: KernelHashes | undefined;
  /** Start from this stored OVMF hash instead of hashing the firmware pages (`--snp-ovmf-hash`). */
  readonly ovmfHashSeed?: Uint8Array | undefined;
}

export interface SnpLaunchResult {
  /** The launch digest after the firmware pages (sev-snp-measure `snp:ovmf-hash`). */
  readonly ovmfHash: Uint8Array;
  /** The 176-byte padded kernel-hashes table, when a kernel is measured. */
  readonly sevHashTable: Uint8Array | undefined;
  readonly vmsaBspSha384: Uint8Array;
  readonly vmsaApSha384: Uint8Array | undefined;
  /** What was measured before the VMSAs, as runs of pages. */
  readonly pages: readonly PageRun[];
  /** One digest per requested vCPU count, ascending: the report's MEASUREMENT. */
  readonly digests: readonly VcpuDigest[];
}

/** The QEMU kernel-hashes page for this firmware: the table at its GPA's offset in the page. */
function hashesPage(fw: AmdSevFirmware, kernel: KernelHashes): { table: Uint8Array; page: Uint8Array } {
  const block = fw.footer.sevHashTable;
  if (!block || block.gpa === 0) {
    throw new NodeimgError(
      'USAGE',
      `a kernel is to be measured but ${fw.name} has no SEV hash table block (footer GUID 7255371f-...): it cannot verify a directly booted kernel`,
    );
  }
  const table = sevHashTable(kernel);
  return { table, page: sevHashTablePage(table, block.gpa & (PAGE_SIZE - 1)) };
}

/** SEV-SNP launch digests of one configuration for several vCPU counts. */
export function snpDigests(input: SnpLaunchInput): SnpLaunchResult {
  const fw = input.firmware;
  const vmmType = input.vmmType ?? 'QEMU';
  const counts = checkVcpuCounts(input.vcpus);
  const vcpuSig = input.vcpuSig ?? (vmmType === 'QEMU' ? undefined : 0);
  if (vcpuSig === undefined)
    throw new NodeimgError(
      'USAGE',
      'QEMU guests need the vCPU signature (a --vcpu-type, --vcpu-sig or --vcpu-family/model/stepping)',
    );
  const metadata = fw.footer.sevMetadata;
  if (!metadata)
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      fw.name,
      fw.footer.table.offset,
      'no SEV metadata in the footer table: this firmware cannot launch an SEV-SNP guest',
    );
  const resetEip = requireResetEip(fw, counts);
  let ld: LaunchDigest;
  if (input.ovmfHashSeed) {
    if (fw.size > 0) assertPageAligned(fw); // a described firmware has no bytes, only parameters
    ld = new LaunchDigest(input.ovmfHashSeed);
  } else {
    ld = firmwareLaunchDigest(fw);
  }
  const ovmfHash = ld.digest;
  const hashes = input.kernel ? hashesPage(fw, input.kernel) : undefined;
  measureMetadataPages(ld, metadata.sections, { vmmType, hashesPage: hashes?.page, source: fw.name });
  const { bsp, ap } = vmsaHashes({
    mode: 'snp',
    vmmType,
    vcpuSig,
    resetEip,
    sevFeatures: input.guestFeatures ?? DEFAULT_GUEST_FEATURES,
  });
  const pages = ld.runs;
  return {
    ovmfHash,
    sevHashTable: hashes?.table,
    vmsaBspSha384: bsp,
    vmsaApSha384: ap,
    pages,
    digests: chainVmsas(ld, counts, bsp, ap),
  };
}

/** SEV-SNP launch digest for one vCPU count. */
export function snpDigest(input: Omit<SnpLaunchInput, 'vcpus'> & { readonly vcpus: number }): Uint8Array {
  return (snpDigests({ ...input, vcpus: [input.vcpus] }).digests[0] as VcpuDigest).digest;
}

/** Extends `ld` with vCPU 0's VMSA, then the APs', recording the digest at each requested count. */
export function chainVmsas(
  ld: LaunchDigest,
  counts: readonly number[],
  bsp: Uint8Array,
  ap: Uint8Array | undefined,
): VcpuDigest[] {
  const out: VcpuDigest[] = [];
  const max = counts[counts.length - 1] ?? 0;
  const want = new Set(counts);
  for (let n = 1; n <= max; n++) {
    const page = n === 1 ? bsp : ap;
    if (!page) throw new NodeimgError('INTERNAL', 'no AP VMSA for a multi-vCPU guest');
    ld.vmsaPage(page);
    if (want.has(n)) out.push({ vcpus: n, digest: ld.digest });
  }
  return out;
}
