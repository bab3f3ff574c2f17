// The SEV kernel-hashes table of "measured direct boot" (QEMU target/i386/sev.c
// sev_add_kernel_loader_hashes, `kernel-hashes=on`; OVMF's BlobVerifierLibSevHashes checks the
// blobs against it; sev-snp-measure sev_hashes.py). launch-measurements.md §1.4:
//
//   GUID 9438d606-... | u16 168                    table header
//   GUID 97d02dd8-... | u16 50 | SHA-256(cmdline)  cmdline entry (`-append` + NUL)
//   GUID 44baf731-... | u16 50 | SHA-256(initrd)   initrd entry (empty file when no -initrd)
//   GUID 4de79437-... | u16 50 | SHA-256(kernel)   kernel entry (the -kernel file as on disk)
//   zero padding to 176 bytes (a multiple of 16)
import { createHash } from 'node:crypto';
import { NodeimgError } from '../../../image/formats/errors.js';
import { guidFromString } from '../../../image/formats/gpt/guid.js';
import { PAGE_SIZE } from './page-info.js';

export const SEV_HASH_TABLE_HEADER_GUID = '9438d606-4f22-4cc9-b479-a793d411fd21';
export const SEV_CMDLINE_ENTRY_GUID = '97d02dd8-bd20-4c94-aa78-e7714d36ab2a';
export const SEV_INITRD_ENTRY_GUID = '44baf731-3a2f-4bd7-9af1-41e29169781d';
export const SEV_KERNEL_ENTRY_GUID = '4de79437-abd2-427f-b835-d5b172d2045b';

const ENTRY_SIZE = 16 + 2 + 32; // 50
const TABLE_SIZE = 16 + 2 + 3 * ENTRY_SIZE; // 168
/** The table as QEMU writes it: padded to a multiple of 16. */
export const SEV_HASH_TABLE_SIZE = (TABLE_SIZE + 15) & ~15; // 176

/** SHA-256 digests of the three direct-boot blobs. */
export interface KernelHashes {
  readonly kernel: Uint8Array;
  readonly initrd: Uint8Array;
  readonly cmdline: Uint8Array;
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** The cmdline QEMU hashes: the UTF-8 `-append` string plus its NUL; no or empty `-append` is "\0". */
export function cmdlineBytes(append: string | undefined): Uint8Array {
  const text = new TextEncoder().encode(append ?? '');
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}

/**
 * Kernel hashes from the kernel's SHA-256 (hash big files while streaming them), the initrd's
 * SHA-256 (undefined: no -initrd, which QEMU hashes as an empty blob) and the `-append` string.
 */
export function kernelHashes(input: {
  readonly kernelSha256: Uint8Array;
  readonly initrdSha256?: Uint8Array | undefined;
  readonly append?: string | undefined;
}): KernelHashes {
  for (const [name, d] of [
    ['kernel', input.kernelSha256],
    ['initrd', input.initrdSha256],
  ] as const) {
    if (d !== undefined && d.length !== 32)
      throw new NodeimgError('USAGE', `${name} SHA-256 must be 32 bytes, got ${d.length}`);
  }
  return {
    kernel: new Uint8Array(input.kernelSha256),
    initrd: input.initrdSha256 ? new Uint8Array(input.initrdSha256) : sha256(),
    cmdline: sha256(cmdlineBytes(input.append)),
  };
}

/** Kernel hashes from the blobs themselves. */
export function kernelHashesFromBytes(input: {
  readonly kernel: Uint8Array;
  readonly initrd?: Uint8Array | undefined;
  readonly append?: string | undefined;
}): KernelHashes {
  return kernelHashes({
    kernelSha256: sha256(input.kernel),
    initrdSha256: input.initrd ? sha256(input.initrd) : undefined,
    append: input.append,
  });
}

/** The 176-byte padded table (what SEV and SEV-ES append to their launch digest). */
export function sevHashTable(h: KernelHashes): Uint8Array {
  const out = new Uint8Array(SEV_HASH_TABLE_SIZE);
  const v = new DataView(out.buffer);
  out.set(guidFromString(SEV_HASH_TABLE_HEADER_GUID), 0);
  v.setUint16(16, TABLE_SIZE, true);
  let at = 18;
  for (const [guid, digest] of [
    [SEV_CMDLINE_ENTRY_GUID, h.cmdline],
    [SEV_INITRD_ENTRY_GUID, h.initrd],
    [SEV_KERNEL_ENTRY_GUID, h.kernel],
  ] as const) {
    out.set(guidFromString(guid), at);
    v.setUint16(at + 16, ENTRY_SIZE, true);
    out.set(digest, at + 18);
    at += ENTRY_SIZE;
  }
  return out;
}

/** The SNP kernel-hashes page: 4 KiB of zeros with the padded table at `offsetInPage`. */
export function sevHashTablePage(table: Uint8Array, offsetInPage: number): Uint8Array {
  if (!Number.isInteger(offsetInPage) || offsetInPage < 0 || offsetInPage + table.length > PAGE_SIZE) {
    throw new NodeimgError(
      'PARSE_INVALID',
      `the ${table.length}-byte kernel-hashes table does not fit in its page at offset 0x${offsetInPage.toString(16)}`,
    );
  }
  const page = new Uint8Array(PAGE_SIZE);
  page.set(table, offsetInPage);
  return page;
}
