// The SEV-SNP ATTESTATION_REPORT, 1184 bytes (AMD SEV-SNP ABI spec 56860 rev. 1.55, §7.3, Table 22
// "ATTESTATION_REPORT Structure"): what the PSP signs for MSG_REPORT_REQ. MEASUREMENT at 0x90 is the
// launch digest snpDigests() predicts. The decoder reads a report at any offset of a larger blob
// (e.g. after a 4-byte container header) and never past it; it does not verify the signature (that
// needs AMD's VCEK/VLEK chain).
import { ParseError } from '../../../image/formats/errors.js';
import { ByteReader } from '../../../image/formats/reader.js';
import {
  decodeKeyInfo,
  decodePlatformInfo,
  decodePolicy,
  decodeTcb,
  type SnpGuestPolicy,
  type SnpKeyInfo,
  type SnpPlatformInfo,
  type TcbVersion,
} from './report-fields.js';

export const SNP_REPORT_SIZE = 0x4a0; // 1184
/**
 * Report versions whose layout this decoder knows (2: first release; 3: CPUID fields; 5: mitigation
 * vectors). Newer ones up to `plausible` are decoded with a warning; a larger number is not a report.
 */
export const SNP_REPORT_VERSIONS = { min: 2, max: 5, plausible: 31 } as const;
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384; R and S little-endian, zero-extended to 72 bytes (ABI spec, "Signature Formats"). */
export const SIG_ALGO_ECDSA_P384_SHA384 = 1;

export interface SnpFirmwareVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

export interface SnpReport {
  /** Absolute offset of the report in the input. */
  readonly offset: number;
  readonly version: number;
  readonly guestSvn: number;
  readonly policy: SnpGuestPolicy;
  readonly familyId: Uint8Array;
  readonly imageId: Uint8Array;
  readonly vmpl: number;
  readonly signatureAlgo: number;
  readonly currentTcb: TcbVersion;
  readonly platformInfo: SnpPlatformInfo;
  readonly keyInfo: SnpKeyInfo;
  readonly reportData: Uint8Array;
  readonly measurement: Uint8Array;
  readonly hostData: Uint8Array;
  readonly idKeyDigest: Uint8Array;
  readonly authorKeyDigest: Uint8Array;
  readonly reportId: Uint8Array;
  readonly reportIdMa: Uint8Array;
  readonly reportedTcb: TcbVersion;
  /** CPUID family/model/stepping of the chip (version >= 3). */
  readonly cpuid: { readonly family: number; readonly model: number; readonly stepping: number } | undefined;
  readonly chipId: Uint8Array;
  readonly committedTcb: TcbVersion;
  readonly currentVersion: SnpFirmwareVersion;
  readonly committedVersion: SnpFirmwareVersion;
  readonly launchTcb: TcbVersion;
  /** Mitigation vectors (version >= 5). */
  readonly launchMitVector: bigint | undefined;
  readonly currentMitVector: bigint | undefined;
  /** ECDSA P-384 r and s as big-endian 48-byte integers (stored little-endian in 72-byte fields). */
  readonly signature: { readonly r: Uint8Array; readonly s: Uint8Array } | undefined;
  readonly signatureRaw: Uint8Array;
  /** Decoded anyway, but worth a look: unknown newer version, unsupported signature algorithm. */
  readonly warnings: readonly string[];
}

/** A little-endian integer in a 72-byte field as the 48-byte big-endian P-384 value. */
function p384(r: ByteReader, at: number, name: string): Uint8Array {
  const le = r.bytesAt(at, 72);
  if (le.subarray(48).some((b) => b !== 0)) r.fail(`signature ${name} does not fit in 48 bytes`, at + 48);
  return new Uint8Array(le.subarray(0, 48)).reverse();
}

/** Decodes the report starting at `offset` of `bytes` (bytes after the report are ignored). */
export function decodeSnpReport(bytes: Uint8Array, offset = 0, base = 0): SnpReport {
  const outer = new ByteReader(bytes, 'SEV-SNP attestation report', base);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + SNP_REPORT_SIZE > bytes.length) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      outer.structure,
      base + Math.max(0, Math.min(offset, bytes.length)),
      `a report is ${SNP_REPORT_SIZE} bytes; ${Math.max(0, bytes.length - offset)} are left at offset ${offset}`,
    );
  }
  const r = outer.sub(offset, SNP_REPORT_SIZE);
  const version = r.u32At(0x00);
  if (version < SNP_REPORT_VERSIONS.min)
    r.fail(
      `version ${version} (the first released layout is ${SNP_REPORT_VERSIONS.min})`,
      0,
      'PARSE_UNSUPPORTED',
    );
  if (version > SNP_REPORT_VERSIONS.plausible)
    r.fail(
      `version ${version} is not a report version: is this an attestation report, at the right offset?`,
      0,
      'PARSE_UNSUPPORTED',
    );
  const warnings: string[] = [];
  if (version > SNP_REPORT_VERSIONS.max)
    warnings.push(
      `report version ${version} is newer than ${SNP_REPORT_VERSIONS.max}: decoded with the version ${SNP_REPORT_VERSIONS.max} layout`,
    );
  const copy = (at: number, n: number): Uint8Array => new Uint8Array(r.bytesAt(at, n));
  const cpuid =
    version >= 3 ? { family: r.u8At(0x188), model: r.u8At(0x189), stepping: r.u8At(0x18a) } : undefined;
  const tcb = (at: number): TcbVersion => decodeTcb(r.u64At(at), cpuid?.family);
  const fwVersion = (at: number): SnpFirmwareVersion => ({
    build: r.u8At(at),
    minor: r.u8At(at + 1),
    major: r.u8At(at + 2),
  });
  const signatureAlgo = r.u32At(0x34);
  if (signatureAlgo !== SIG_ALGO_ECDSA_P384_SHA384)
    warnings.push(
      `signature algorithm ${signatureAlgo} is not ECDSA P-384/SHA-384: signature left undecoded`,
    );
  return {
    offset: r.abs(0),
    version,
    guestSvn: r.u32At(0x04),
    policy: decodePolicy(r.u64At(0x08)),
    familyId: copy(0x10, 16),
    imageId: copy(0x20, 16),
    vmpl: r.u32At(0x30),
    signatureAlgo,
    currentTcb: tcb(0x38),
    platformInfo: decodePlatformInfo(r.u64At(0x40)),
    keyInfo: decodeKeyInfo(r.u32At(0x48)),
    reportData: copy(0x50, 64),
    measurement: copy(0x90, 48),
    hostData: copy(0xc0, 32),
    idKeyDigest: copy(0xe0, 48),
    authorKeyDigest: copy(0x110, 48),
    reportId: copy(0x140, 32),
    reportIdMa: copy(0x160, 32),
    reportedTcb: tcb(0x180),
    cpuid,
    chipId: copy(0x1a0, 64),
    committedTcb: tcb(0x1e0),
    currentVersion: fwVersion(0x1e8),
    committedVersion: fwVersion(0x1ec),
    launchTcb: tcb(0x1f0),
    launchMitVector: version >= 5 ? r.u64At(0x1f8) : undefined,
    currentMitVector: version >= 5 ? r.u64At(0x200) : undefined,
    signature:
      signatureAlgo === SIG_ALGO_ECDSA_P384_SHA384
        ? { r: p384(r, 0x2a0, 'r'), s: p384(r, 0x2e8, 's') }
        : undefined,
    signatureRaw: copy(0x2a0, 0x200),
    warnings,
  };
}
