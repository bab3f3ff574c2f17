// Bit fields of the SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI spec 56860 rev. 1.55): the guest
// policy (§4.3, Table 9 "GUEST_POLICY"), PLATFORM_INFO (Table 22 field 0x40), the key-info word at
// 0x48, and TCB_VERSION (§2.2 "TCB_VERSION": Milan/Genoa layout; Turin's, Table 4, adds FMC and
// moves the SNP byte). Plain decoders over integers; report.ts reads the bytes.

export interface SnpGuestPolicy {
  readonly raw: bigint;
  readonly abiMinor: number;
  readonly abiMajor: number;
  readonly smtAllowed: boolean;
  readonly migrateMa: boolean;
  readonly debug: boolean;
  readonly singleSocket: boolean;
  readonly cxlAllowed: boolean;
  readonly memAes256Xts: boolean;
  readonly raplDisabled: boolean;
  readonly ciphertextHiding: boolean;
  readonly pageSwapDisabled: boolean;
}

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;

export function decodePolicy(raw: bigint): SnpGuestPolicy {
  return {
    raw,
    abiMinor: Number(raw & 0xffn),
    abiMajor: Number((raw >> 8n) & 0xffn),
    smtAllowed: bit(raw, 16),
    // bit 17 is reserved and must be 1
    migrateMa: bit(raw, 18),
    debug: bit(raw, 19),
    singleSocket: bit(raw, 20),
    cxlAllowed: bit(raw, 21),
    memAes256Xts: bit(raw, 22),
    raplDisabled: bit(raw, 23),
    ciphertextHiding: bit(raw, 24),
    pageSwapDisabled: bit(raw, 25),
  };
}

export interface SnpPlatformInfo {
  readonly raw: bigint;
  readonly smtEnabled: boolean;
  readonly tsmeEnabled: boolean;
  readonly eccEnabled: boolean;
  readonly raplDisabled: boolean;
  readonly ciphertextHidingEnabled: boolean;
  readonly aliasCheckComplete: boolean;
  readonly tioEnabled: boolean;
}

export function decodePlatformInfo(raw: bigint): SnpPlatformInfo {
  return {
    raw,
    smtEnabled: bit(raw, 0),
    tsmeEnabled: bit(raw, 1),
    eccEnabled: bit(raw, 2),
    raplDisabled: bit(raw, 3),
    ciphertextHidingEnabled: bit(raw, 4),
    aliasCheckComplete: bit(raw, 5),
    tioEnabled: bit(raw, 7),
  };
}

export type SigningKey = 'VCEK' | 'VLEK' | 'none' | 'reserved';

export interface SnpKeyInfo {
  readonly raw: number;
  /** AUTHOR_KEY_EN: the ID block was signed by an author key (AUTHOR_KEY_DIGEST is meaningful). */
  readonly authorKeyEnabled: boolean;
  /** MASK_CHIP_KEY: the report is unsigned on purpose (guest policy asked for it). */
  readonly maskChipKey: boolean;
  readonly signingKey: SigningKey;
}

export function decodeKeyInfo(raw: number): SnpKeyInfo {
  const key = (raw >>> 2) & 0x7;
  return {
    raw,
    authorKeyEnabled: (raw & 1) === 1,
    maskChipKey: (raw & 2) === 2,
    signingKey: key === 0 ? 'VCEK' : key === 1 ? 'VLEK' : key === 7 ? 'none' : 'reserved',
  };
}

export interface TcbVersion {
  readonly raw: bigint;
  /** Security version numbers of each firmware component. `fmc` exists on Turin only. */
  readonly bootLoader: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  readonly fmc?: number;
}

/** CPUID family 0x1A (Turin) reports use the Turin TCB layout; Milan and Genoa (0x19) the older one. */
export function decodeTcb(raw: bigint, family: number | undefined): TcbVersion {
  const byte = (i: number): number => Number((raw >> BigInt(8 * i)) & 0xffn);
  if (family === 0x1a)
    return { raw, fmc: byte(0), bootLoader: byte(1), tee: byte(2), snp: byte(3), microcode: byte(7) };
  return { raw, bootLoader: byte(0), tee: byte(1), snp: byte(6), microcode: byte(7) };
}
