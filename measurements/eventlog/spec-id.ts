// TCG_EfiSpecIDEventStruct, the data of the first (SHA-1 format, never extended) record of a
// crypto-agile log (TCG PC Client PFP "Specification ID Version Event"; edk2 UefiTcgPlatform.h;
// measured-boot.md §2.1). Its algorithm list tells the decoder how long each digest is.
import { NodeimgError } from '../../image/formats/errors.js';
import type { ByteReader } from '../../image/formats/reader.js';
import { ALL_HASH_ALGS, HASH_ALGS, hashAlgById, type HashAlg } from '../hash.js';
import type { DecodeWarning, SpecIdAlgorithm, SpecIdEvent } from './types.js';

/** "Spec ID Event03\0": TPM 2.0 crypto-agile log. */
export const SPEC_ID_SIGNATURE_03 = new TextEncoder().encode('Spec ID Event03\0');
/** "Spec ID Event02\0": TCG EFI Platform 1.22 (TPM 1.2, SHA-1 only). */
export const SPEC_ID_SIGNATURE_02 = new TextEncoder().encode('Spec ID Event02\0');

/** Fixed part: signature[16], platformClass u32, minor/major/errata/uintnSize u8, numberOfAlgorithms u32. */
const FIXED_SIZE = 16 + 4 + 4 + 4;
/** A TPM has a handful of banks; anything above this is a corrupt header, not a TPM. */
export const MAX_SPEC_ID_ALGORITHMS = 16;

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Decodes the whole event data of the Spec ID record; `r` spans exactly EventSize bytes. */
export function decodeSpecIdEvent(r: ByteReader, warnings: DecodeWarning[]): SpecIdEvent {
  const sig = r.read(16);
  if (!startsWith(sig, SPEC_ID_SIGNATURE_03))
    r.fail('signature is not "Spec ID Event03"', 0, 'PARSE_UNSUPPORTED');
  const platformClass = r.u32();
  const minor = r.u8();
  const major = r.u8();
  const errata = r.u8();
  const uintnSize = r.u8();
  if (major !== 2 || minor !== 0) {
    warnings.push({
      id: 'SPEC_ID_VERSION',
      offset: r.abs(20),
      message: `Spec ID event claims version ${major}.${minor}, expected 2.0`,
    });
  }
  if (uintnSize !== 1 && uintnSize !== 2) {
    warnings.push({
      id: 'SPEC_ID_UINTN_SIZE',
      offset: r.abs(23),
      message: `uintnSize ${uintnSize} is neither 1 (UINT32) nor 2 (UINT64)`,
    });
  }
  const countPos = r.offset;
  const count = r.u32();
  if (count === 0) r.fail('numberOfAlgorithms is 0', countPos);
  if (count > MAX_SPEC_ID_ALGORITHMS)
    r.fail(`numberOfAlgorithms ${count} exceeds ${MAX_SPEC_ID_ALGORITHMS}`, countPos, 'PARSE_LIMIT');
  const algorithms: SpecIdAlgorithm[] = [];
  for (let i = 0; i < count; i++) {
    const pos = r.offset;
    const algId = r.u16();
    const digestSize = r.u16();
    const alg = hashAlgById(algId);
    // Unknown banks (e.g. SM3_256 0x0012) cannot be replayed or represented: refuse the log.
    if (alg === undefined)
      r.fail(
        `algorithm 0x${algId.toString(16).padStart(4, '0')} is not supported (sha1, sha256, sha384, sha512)`,
        pos,
        'PARSE_UNSUPPORTED',
      );
    if (digestSize !== HASH_ALGS[alg].size)
      r.fail(`${alg} declared with digest size ${digestSize}, must be ${HASH_ALGS[alg].size}`, pos + 2);
    if (algorithms.some((a) => a.alg === alg)) r.fail(`${alg} is declared twice`, pos);
    algorithms.push({ alg, algId, digestSize });
  }
  const vendorInfoSize = r.u8();
  const vendorInfo = r.read(vendorInfoSize).slice();
  // go-eventlog parseSpecIDEvent: the vendor info must end the event exactly.
  r.expectEnd();
  return { platformClass, specVersion: { major, minor }, errata, uintnSize, algorithms, vendorInfo };
}

export function specIdEventSize(spec: SpecIdEvent): number {
  return FIXED_SIZE + 4 * spec.algorithms.length + 1 + spec.vendorInfo.length;
}

/** Serialises TCG_EfiSpecIDEventStruct (inverse of decodeSpecIdEvent). */
export function encodeSpecIdEvent(spec: SpecIdEvent): Uint8Array {
  const u8 = (v: number, what: string): number => checkInt(v, 0xff, what);
  if (spec.vendorInfo.length > 0xff)
    throw new NodeimgError('USAGE', `vendorInfo is ${spec.vendorInfo.length} bytes, max 255`);
  const out = new Uint8Array(specIdEventSize(spec));
  const dv = new DataView(out.buffer);
  out.set(SPEC_ID_SIGNATURE_03, 0);
  dv.setUint32(16, checkInt(spec.platformClass, 0xffffffff, 'platformClass'), true);
  dv.setUint8(20, u8(spec.specVersion.minor, 'specVersionMinor'));
  dv.setUint8(21, u8(spec.specVersion.major, 'specVersionMajor'));
  dv.setUint8(22, u8(spec.errata, 'specErrata'));
  dv.setUint8(23, u8(spec.uintnSize, 'uintnSize'));
  dv.setUint32(24, spec.algorithms.length, true);
  let p = FIXED_SIZE;
  for (const a of spec.algorithms) {
    dv.setUint16(p, checkInt(a.algId, 0xffff, 'algorithmId'), true);
    dv.setUint16(p + 2, checkInt(a.digestSize, 0xffff, 'digestSize'), true);
    p += 4;
  }
  dv.setUint8(p, spec.vendorInfo.length);
  out.set(spec.vendorInfo, p + 1);
  return out;
}

export function checkInt(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new NodeimgError('USAGE', `${what} ${v} is not an integer in 0..${max}`);
  return v;
}

/**
 * The Spec ID event OVMF writes for the given banks (edk2 SecurityPkg/Tcg/Tcg2Dxe/Tcg2Dxe.c
 * SetupEventLog): platform class 0 (client), spec version 2.0, errata 0 (PcdTcgPfpMeasurementRevision
 * default), uintnSize 2 (x64), no vendor info. Algorithms are listed in TPM_ALG_ID order, as edk2
 * walks its hash bitmap (sha1, sha256, sha384, sha512).
 */
export function buildSpecIdEvent(
  banks: readonly HashAlg[],
  opts: { errata?: number; uintnSize?: number } = {},
): SpecIdEvent {
  const set = new Set(banks);
  if (set.size === 0) throw new NodeimgError('USAGE', 'a Spec ID event needs at least one bank');
  const algorithms = ALL_HASH_ALGS.filter((a) => set.has(a)).map((alg) => ({
    alg,
    algId: HASH_ALGS[alg].tpmAlgId,
    digestSize: HASH_ALGS[alg].size,
  }));
  return {
    platformClass: 0,
    specVersion: { major: 2, minor: 0 },
    errata: opts.errata ?? 0,
    uintnSize: opts.uintnSize ?? 2,
    algorithms,
    vendorInfo: new Uint8Array(0),
  };
}
