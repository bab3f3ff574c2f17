// The SEV-SNP launch digest chain. Every page the VMM hands to SNP_LAUNCH_UPDATE extends the guest
// context's launch digest (AMD SEV-SNP ABI spec 56860, §8.17 SNP_LAUNCH_UPDATE, "PAGE_INFO", Table 67
// in rev. 1.51, the table sev-snp-measure gctx.py cites):
//
//   LD := SHA-384(PAGE_INFO), PAGE_INFO = DIGEST_CUR(48) | CONTENTS(48) | LENGTH u16 = 0x70 |
//         PAGE_TYPE u8 | IMI_PAGE u8 = 0 | VMPL3/2/1_PERMS u8 = 0 | reserved u8 | GPA u64
//
// CONTENTS is SHA-384 of the 4 KiB page for NORMAL and VMSA pages and 48 zero bytes for the other
// types (launch-measurements.md §1.1). The final LD is the report's MEASUREMENT.
import { createHash } from 'node:crypto';
import { NodeimgError } from '../../../image/formats/errors.js';

export const PAGE_SIZE = 0x1000;
export const LD_SIZE = 48;
export const PAGE_INFO_SIZE = 0x70;

/** PAGE_TYPE values of PAGE_INFO (SNP ABI spec, SNP_LAUNCH_UPDATE "PAGE_TYPE" table). */
export const PAGE_TYPE = { NORMAL: 1, VMSA: 2, ZERO: 3, UNMEASURED: 4, SECRETS: 5, CPUID: 6 } as const;
export type PageTypeName = keyof typeof PAGE_TYPE;

/**
 * GPA recorded for every VMSA page: KVM launches VMSAs at GPA (u64)-1, page-aligned with the bits
 * above 47 cleared (sev-snp-measure gctx.py VMSA_GPA; Linux KVM since 6.11).
 */
export const VMSA_GPA = 0xffff_ffff_f000;

/** A run of consecutive pages of one type, for explaining a digest. */
export interface PageRun {
  readonly type: PageTypeName;
  readonly gpa: number;
  readonly pages: number;
}

export function sha384(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const ZERO_CONTENTS = new Uint8Array(LD_SIZE);

/** The running launch digest of one guest context (sev-snp-measure gctx.py GCTX). */
export class LaunchDigest {
  private ld: Uint8Array;
  private readonly info = new Uint8Array(PAGE_INFO_SIZE);
  private readonly view = new DataView(this.info.buffer);
  private readonly log: PageRun[];

  /** `seed`: start from a stored LD (e.g. the OVMF hash) instead of 48 zero bytes. */
  constructor(seed: Uint8Array = ZERO_CONTENTS, log: readonly PageRun[] = []) {
    if (seed.length !== LD_SIZE)
      throw new NodeimgError('USAGE', `a launch digest seed is ${LD_SIZE} bytes, got ${seed.length}`);
    this.ld = new Uint8Array(seed);
    this.log = [...log];
  }

  get digest(): Uint8Array {
    return new Uint8Array(this.ld);
  }

  /** The pages measured so far, as runs (a copy). */
  get runs(): readonly PageRun[] {
    return [...this.log];
  }

  clone(): LaunchDigest {
    return new LaunchDigest(this.ld, this.log);
  }

  /** One PAGE_INFO step: `contents` is SHA-384 of the page (NORMAL, VMSA) or zeros (the rest). */
  update(type: PageTypeName, gpa: number, contents: Uint8Array = ZERO_CONTENTS): void {
    if (contents.length !== LD_SIZE)
      throw new NodeimgError('INTERNAL', `PAGE_INFO CONTENTS is ${LD_SIZE} bytes, got ${contents.length}`);
    this.info.set(this.ld, 0x00); // DIGEST_CUR
    this.info.set(contents, 0x30); // CONTENTS
    this.view.setUint16(0x60, PAGE_INFO_SIZE, true); // LENGTH
    this.view.setUint8(0x62, PAGE_TYPE[type]); // PAGE_TYPE; IMI_PAGE, VMPL perms, reserved stay 0
    this.view.setBigUint64(0x68, BigInt(gpa), true); // GPA
    this.ld = sha384(this.info);
    this.note(type, gpa);
  }

  /** NORMAL pages over `data` (a whole number of pages) starting at `gpa`, in ascending GPA. */
  normalPages(gpa: number, data: Uint8Array): void {
    if (data.length % PAGE_SIZE !== 0)
      throw new NodeimgError('INTERNAL', `NORMAL pages need whole 4 KiB pages, got ${data.length} bytes`);
    for (let off = 0; off < data.length; off += PAGE_SIZE) {
      this.update('NORMAL', gpa + off, sha384(data.subarray(off, off + PAGE_SIZE)));
    }
  }

  /** ZERO / UNMEASURED / SECRETS / CPUID pages over [gpa, gpa + length). */
  emptyPages(type: Exclude<PageTypeName, 'NORMAL' | 'VMSA'>, gpa: number, length: number): void {
    for (let off = 0; off < length; off += PAGE_SIZE) this.update(type, gpa + off);
  }

  /** One VMSA page, given SHA-384 of its 4096 bytes. */
  vmsaPage(vmsaSha384: Uint8Array): void {
    this.update('VMSA', VMSA_GPA, vmsaSha384);
  }

  private note(type: PageTypeName, gpa: number): void {
    const last = this.log[this.log.length - 1];
    if (last && last.type === type && type !== 'VMSA' && last.gpa + last.pages * PAGE_SIZE === gpa) {
      this.log[this.log.length - 1] = { ...last, pages: last.pages + 1 };
    } else if (last && type === 'VMSA' && last.type === 'VMSA') {
      this.log[this.log.length - 1] = { ...last, pages: last.pages + 1 };
    } else {
      this.log.push({ type, gpa, pages: 1 });
    }
  }
}
