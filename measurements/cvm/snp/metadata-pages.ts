// Step 2 of the SNP launch (launch-measurements.md §1.2; sev-snp-measure guest.py
// `snp_update_metadata_pages`): the pages the firmware's SEV metadata asks the VMM to pre-validate,
// in file order, each as the page type its section type calls for.
import { NodeimgError, ParseError } from '../../../image/formats/errors.js';
import { SEV_SECTION_TYPES, type SevMetadataSection } from '../../../image/formats/ovmf-footer/index.js';
import { PAGE_SIZE, type LaunchDigest } from './page-info.js';
import type { VmmType } from './vmsa.js';

/** Total bytes of pre-validated memory accepted from one metadata table (real builds: < 256 KiB; 16384 pages to hash at most). */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;

export interface MetadataPagesOptions {
  readonly vmmType: VmmType;
  /** The 4 KiB kernel-hashes page when a kernel is measured (QEMU `kernel-hashes=on`). */
  readonly hashesPage: Uint8Array | undefined;
  /** For error messages: the image the metadata came from. */
  readonly source: string;
}

export function measureMetadataPages(
  ld: LaunchDigest,
  sections: readonly SevMetadataSection[],
  o: MetadataPagesOptions,
): void {
  const total = sections.reduce((n, s) => n + s.size, 0);
  if (total > MAX_METADATA_BYTES)
    throw new ParseError(
      'PARSE_LIMIT',
      'SEV metadata',
      sections[0]?.offset ?? 0,
      `sections cover ${total} bytes (limit ${MAX_METADATA_BYTES})`,
    );
  for (const s of sections) {
    switch (s.type) {
      case SEV_SECTION_TYPES.SNP_SEC_MEM:
        // GCE's VMM leaves SEC memory unmeasured instead of zero-validating it (gce-tcb-verifier).
        ld.emptyPages(o.vmmType === 'gce' ? 'UNMEASURED' : 'ZERO', s.gpa, s.size);
        break;
      case SEV_SECTION_TYPES.SNP_SECRETS:
        ld.update('SECRETS', s.gpa); // one page, size ignored
        break;
      case SEV_SECTION_TYPES.CPUID:
        if (o.vmmType !== 'ec2') ld.update('CPUID', s.gpa); // EC2: after all other sections
        break;
      case SEV_SECTION_TYPES.SVSM_CAA:
        ld.emptyPages('ZERO', s.gpa, s.size);
        break;
      case SEV_SECTION_TYPES.SNP_KERNEL_HASHES:
        if (o.hashesPage) {
          if (s.size !== PAGE_SIZE)
            throw new ParseError(
              'PARSE_UNSUPPORTED',
              'SEV metadata',
              s.offset,
              `the SNP_KERNEL_HASHES section is ${s.size} bytes; only a single page can hold the hashes`,
            );
          ld.normalPages(s.gpa, o.hashesPage);
        } else {
          ld.emptyPages('ZERO', s.gpa, s.size); // no kernel, or QEMU's default kernel-hashes=off
        }
        break;
      default:
        throw new ParseError(
          'PARSE_UNSUPPORTED',
          'SEV metadata',
          s.offset,
          `section ${s.index} has type ${s.type}, which no VMM knows how to pre-validate`,
        );
    }
  }
  if (o.vmmType === 'ec2')
    for (const s of sections) if (s.type === SEV_SECTION_TYPES.CPUID) ld.update('CPUID', s.gpa);
  if (o.hashesPage && !sections.some((s) => s.type === SEV_SECTION_TYPES.SNP_KERNEL_HASHES)) {
    throw new NodeimgError(
      'USAGE',
      `a kernel is to be measured but ${o.source} has no SNP_KERNEL_HASHES section: it cannot verify a directly booted kernel (use an AmdSev build such as OVMF.amdsev.fd)`,
    );
  }
}
