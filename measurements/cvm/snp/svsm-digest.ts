// SEV-SNP with Coconut SVSM under QEMU (sev-snp-measure `--mode snp:svsm`, guest.py
// `svsm_calc_launch_digest`; launch-measurements.md §1.5, §1.8). QEMU maps OVMF so that it ends at
// 4 GiB, the OVMF variable store below it (not measured: only its size matters), and the SVSM image
// right below the store. Measured: OVMF pages, SVSM pages, the SVSM's own SEV metadata (QEMU rules,
// no kernel hashes), then the same flat-mode VMSA for every vCPU, starting at the SVSM entry point
// (SVSM_INFO offset + SVSM load GPA).
import { NodeimgError, ParseError } from '../../../image/formats/errors.js';
import { svsmEntryOffset } from '../../../image/formats/ovmf-footer/index.js';
import { firmwareLaunchDigest, loadAmdSevFirmware, type AmdSevFirmware } from './firmware.js';
import { measureMetadataPages } from './metadata-pages.js';
import { PAGE_SIZE, sha384 } from './page-info.js';
import { chainVmsas, type SnpLaunchResult } from './snp-digest.js';
import { checkVcpuCounts } from './vcpus.js';
import { buildSvsmVmsa } from './vmsa.js';

export interface SvsmLaunchInput {
  /** The OVMF image loaded at the top of the 4 GiB space. */
  readonly firmware: AmdSevFirmware;
  /** The Coconut SVSM image (svsm.bin). */
  readonly svsm: Uint8Array;
  /** Size of the OVMF_VARS image QEMU maps between the two. */
  readonly varsSize: number;
  readonly vcpus: readonly number[];
  readonly vcpuSig: number;
}

export function svsmDigests(input: SvsmLaunchInput): SnpLaunchResult {
  const counts = checkVcpuCounts(input.vcpus);
  const fw = input.firmware;
  if (!Number.isSafeInteger(input.varsSize) || input.varsSize < 0 || input.varsSize % PAGE_SIZE !== 0) {
    throw new NodeimgError(
      'USAGE',
      `the OVMF_VARS size ${input.varsSize} is not a whole number of 4 KiB pages`,
    );
  }
  if (input.varsSize > fw.gpa)
    throw new NodeimgError(
      'USAGE',
      `an OVMF_VARS size of ${input.varsSize} bytes does not fit below the firmware`,
    );
  const svsm: AmdSevFirmware = loadAmdSevFirmware(input.svsm, 'SVSM image', fw.gpa - input.varsSize);
  const entry = svsmEntryOffset(svsm.footer.table);
  if (entry === undefined)
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      svsm.name,
      svsm.footer.table.offset,
      'no SVSM_INFO entry (footer GUID a789a612-...) in the SVSM image',
    );
  const metadata = svsm.footer.sevMetadata;
  if (!metadata)
    throw new ParseError(
      'PARSE_UNSUPPORTED',
      svsm.name,
      svsm.footer.table.offset,
      'no SEV metadata in the SVSM image',
    );
  const ld = firmwareLaunchDigest(fw);
  const ovmfHash = ld.digest;
  if (svsm.size === 0 || svsm.size % PAGE_SIZE !== 0)
    throw new ParseError(
      'PARSE_INVALID',
      svsm.name,
      0,
      `SEV-SNP maps whole 4 KiB pages; the SVSM image is ${svsm.size} bytes`,
    );
  ld.normalPages(svsm.gpa, svsm.bytes);
  measureMetadataPages(ld, metadata.sections, { vmmType: 'QEMU', hashesPage: undefined, source: svsm.name });
  // SEV_FEATURES is SNPActive only: sev-snp-measure ignores --guest-features in this mode.
  const page = buildSvsmVmsa({ eip: svsm.gpa + entry, vcpuSig: input.vcpuSig, sevFeatures: 0x1 });
  const h = sha384(page);
  const pages = ld.runs;
  return {
    ovmfHash,
    sevHashTable: undefined,
    vmsaBspSha384: h,
    vmsaApSha384: h,
    pages,
    digests: chainVmsas(ld, counts, h, h),
  };
}
