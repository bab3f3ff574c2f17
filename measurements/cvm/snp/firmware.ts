// The firmware side of an AMD SEV launch: the flash image as QEMU maps it (ending at 4 GiB), its
// footer table, and the SNP "OVMF hash" (the launch digest after the firmware pages), computed once
// per image and cached, so that many vCPU counts, CPU models or VMM types cost one VMSA chain each.
import { NodeimgError, ParseError } from '../../../image/formats/errors.js';
import { parseOvmfFooter, type OvmfFooter } from '../../../image/formats/ovmf-footer/index.js';
import { LaunchDigest, LD_SIZE, PAGE_SIZE } from './page-info.js';

const FOUR_GIB = 0x1_0000_0000;
/** QEMU maps pflash below 4 GiB; OVMF builds are 2-4 MiB, the Coconut SVSM + OVMF pair under 8 MiB. */
export const MAX_FIRMWARE_SIZE = 64 * 1024 * 1024;

export interface AmdSevFirmware {
  /** What the image is called in error messages. */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly size: number;
  /** Load GPA: the image ends at 4 GiB (sev-snp-measure ovmf.py, `end_at = FOUR_GB`). */
  readonly gpa: number;
  readonly footer: OvmfFooter;
}

/**
 * Parses a firmware flash image (OVMF.fd / OVMF.amdsev.fd, or a Coconut SVSM image loaded below
 * it with `endAt`). The footer table is optional here; each mode checks what it needs.
 */
export function loadAmdSevFirmware(bytes: Uint8Array, name = 'firmware', endAt = FOUR_GIB): AmdSevFirmware {
  if (bytes.length > MAX_FIRMWARE_SIZE)
    throw new ParseError(
      'PARSE_LIMIT',
      name,
      0,
      `${bytes.length} bytes is larger than the ${MAX_FIRMWARE_SIZE}-byte limit for a firmware image`,
    );
  if (bytes.length > endAt)
    throw new ParseError(
      'PARSE_INVALID',
      name,
      0,
      `${bytes.length} bytes do not fit below GPA 0x${endAt.toString(16)}`,
    );
  return { name, bytes, size: bytes.length, gpa: endAt - bytes.length, footer: parseOvmfFooter(bytes) };
}

/** SNP needs whole pages at a page-aligned GPA (every page is one SNP_LAUNCH_UPDATE). */
export function assertPageAligned(fw: AmdSevFirmware): void {
  assertHasBytes(fw);
  if (fw.size === 0 || fw.size % PAGE_SIZE !== 0 || fw.gpa % PAGE_SIZE !== 0) {
    throw new ParseError(
      'PARSE_INVALID',
      fw.name,
      0,
      `SEV-SNP maps whole 4 KiB pages; ${fw.size} bytes at GPA 0x${fw.gpa.toString(16)} is not`,
    );
  }
}

/** A described firmware (described-firmware.ts) has parameters but no bytes to hash. */
export function assertHasBytes(fw: AmdSevFirmware): void {
  if (fw.size === 0)
    throw new NodeimgError(
      'USAGE',
      `${fw.name} has no bytes to measure: give the OVMF hash (snp) or the firmware file`,
    );
}

// Keyed by the firmware object: the same parsed image is hashed once however often it is used.
const ovmfHashes = new WeakMap<AmdSevFirmware, LaunchDigest>();

/**
 * The launch digest after the firmware's NORMAL pages (launch-measurements.md §1.2 step 1;
 * sev-snp-measure `--mode snp:ovmf-hash`), as a chain to continue. Cached per firmware object.
 */
export function firmwareLaunchDigest(fw: AmdSevFirmware): LaunchDigest {
  assertPageAligned(fw);
  let ld = ovmfHashes.get(fw);
  if (!ld) {
    ld = new LaunchDigest();
    ld.normalPages(fw.gpa, fw.bytes);
    ovmfHashes.set(fw, ld);
  }
  return ld.clone();
}

/** sev-snp-measure's OVMF hash in hex, or its `--snp-ovmf-hash` value validated. */
export function parseOvmfHashSeed(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== LD_SIZE * 2)
    throw new NodeimgError(
      'USAGE',
      `an OVMF hash is ${LD_SIZE * 2} hex digits, got ${JSON.stringify(hex.slice(0, 120))}`,
    );
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
