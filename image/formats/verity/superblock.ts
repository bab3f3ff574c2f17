// The dm-verity superblock: 512 little-endian bytes at the start of the hash area, written and read
// by veritysetup and systemd-veritysetup, never by the kernel (reproducible-build spec §4 table 6;
// cryptsetup lib/verity/verity.c struct verity_sb, VERITY_read_sb, VERITY_write_sb). The UUID is
// stored as its 16 bytes in text order (libuuid's uuid_parse), unlike GPT's mixed-endian GUIDs.
// Pure: the parser checks what veritysetup checks, plus what nodeimg needs to lay the tree out, and
// throws ParseError with the absolute offset of the offending field.
import { NodeimgError } from '../errors.js';
import { ByteReader } from '../reader.js';
import {
  isVerityHashAlgorithm,
  VERITY_MAX_BLOCK,
  VERITY_MAX_SALT,
  VERITY_MIN_BLOCK,
  VERITY_SUPERBLOCK_SIZE,
  type VerityHashAlgorithm,
  type VerityHashType,
  type VerityPlan,
} from './params.js';

export const VERITY_SIGNATURE = new Uint8Array([0x76, 0x65, 0x72, 0x69, 0x74, 0x79, 0, 0]); // "verity\0\0"

/** Field offsets (struct verity_sb). */
const F = {
  signature: 0,
  version: 8,
  hashType: 12,
  uuid: 16,
  algorithm: 32,
  dataBlockSize: 64,
  hashBlockSize: 68,
  dataBlocks: 72,
  saltSize: 80,
  salt: 88,
} as const;
const ALGORITHM_FIELD = 32;

export interface VeritySuperblock {
  readonly version: 1;
  readonly hashType: VerityHashType;
  /** Lower-case text form. */
  readonly uuid: string;
  readonly hashAlgorithm: VerityHashAlgorithm;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  readonly dataBlocks: number;
  readonly salt: Uint8Array;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The 16 bytes of a UUID in text order (uuid_parse). */
export function verityUuidBytes(uuid: string): Uint8Array {
  if (!UUID_RE.test(uuid)) throw new NodeimgError('USAGE', `not a UUID: ${JSON.stringify(uuid)}`);
  return Uint8Array.from(Buffer.from(uuid.replaceAll('-', ''), 'hex'));
}

/** Text form of 16 bytes in text order (uuid_unparse, lower case). */
export function verityUuidString(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The 512 superblock bytes veritysetup writes for `plan` and `uuid`. */
export function encodeVeritySuperblock(plan: VerityPlan, uuid: string): Uint8Array {
  const b = new Uint8Array(VERITY_SUPERBLOCK_SIZE);
  const v = new DataView(b.buffer);
  b.set(VERITY_SIGNATURE, F.signature);
  v.setUint32(F.version, 1, true);
  v.setUint32(F.hashType, plan.hashType, true);
  b.set(verityUuidBytes(uuid), F.uuid);
  b.set(new TextEncoder().encode(plan.hashAlgorithm), F.algorithm);
  v.setUint32(F.dataBlockSize, plan.dataBlockSize, true);
  v.setUint32(F.hashBlockSize, plan.hashBlockSize, true);
  v.setBigUint64(F.dataBlocks, BigInt(plan.dataBlocks), true);
  v.setUint16(F.saltSize, plan.salt.length, true);
  b.set(plan.salt, F.salt);
  return b;
}

function blockSize(r: ByteReader, at: number, what: string): number {
  const n = r.u32At(at);
  if (n < VERITY_MIN_BLOCK || n > VERITY_MAX_BLOCK || (n & (n - 1)) !== 0)
    r.fail(`${what} ${n} is not a power of two from ${VERITY_MIN_BLOCK} to ${VERITY_MAX_BLOCK}`, at);
  return n;
}

function algorithm(r: ByteReader): VerityHashAlgorithm {
  const field = r.bytesAt(F.algorithm, ALGORITHM_FIELD);
  const end = field.indexOf(0);
  // veritysetup writes at most 31 characters and a NUL (strncpy of sizeof - 1)
  if (end < 0) r.fail('hash algorithm name is not NUL-terminated', F.algorithm);
  const name = String.fromCharCode(...field.subarray(0, end));
  if (!/^[a-z0-9-]+$/.test(name))
    r.fail(`hash algorithm name ${JSON.stringify(name)} is malformed`, F.algorithm);
  if (!isVerityHashAlgorithm(name))
    r.fail(
      `hash algorithm ${name} is not one nodeimg computes (sha1, sha224, sha256, sha384, sha512)`,
      F.algorithm,
      'PARSE_UNSUPPORTED',
    );
  return name;
}

/**
 * Parses the superblock in the first 512 bytes of `bytes`; `base` is its absolute offset (for error
 * messages). Throws ParseError: TRUNCATED (fewer than 512 bytes), INVALID (signature, block sizes,
 * salt size, zero data blocks, malformed algorithm name), UNSUPPORTED (version, hash type,
 * algorithm), LIMIT (data larger than 2^53 bytes).
 */
export function parseVeritySuperblock(bytes: Uint8Array, base = 0): VeritySuperblock {
  const r: ByteReader = new ByteReader(bytes, 'dm-verity superblock', base);
  const sig = r.bytesAt(F.signature, VERITY_SIGNATURE.length);
  if (!sig.every((x, i) => x === VERITY_SIGNATURE[i])) r.fail('no "verity\\0\\0" signature', F.signature);
  r.bytesAt(0, VERITY_SUPERBLOCK_SIZE); // the whole superblock is there (TRUNCATED otherwise)
  const version = r.u32At(F.version);
  if (version !== 1) r.fail(`superblock version ${version} is not 1`, F.version, 'PARSE_UNSUPPORTED');
  const hashType = r.u32At(F.hashType);
  if (hashType !== 0 && hashType !== 1)
    r.fail(`hash type ${hashType} is not 0 (Chrome OS) or 1 (normal)`, F.hashType, 'PARSE_UNSUPPORTED');
  const uuid = verityUuidString(r.bytesAt(F.uuid, 16));
  const hashAlgorithm = algorithm(r);
  const dataBlockSize = blockSize(r, F.dataBlockSize, 'data block size');
  const hashBlockSize = blockSize(r, F.hashBlockSize, 'hash block size');
  const dataBlocks = r.u64nAt(F.dataBlocks);
  if (dataBlocks === 0) r.fail('zero data blocks', F.dataBlocks);
  if (!Number.isSafeInteger(dataBlocks * dataBlockSize))
    r.fail(
      `${dataBlocks} data blocks of ${dataBlockSize} bytes exceed 2^53 bytes`,
      F.dataBlocks,
      'PARSE_LIMIT',
    );
  const saltSize = r.u16At(F.saltSize);
  if (saltSize > VERITY_MAX_SALT) r.fail(`salt size ${saltSize} exceeds ${VERITY_MAX_SALT}`, F.saltSize);
  return {
    version: 1,
    hashType,
    uuid,
    hashAlgorithm,
    dataBlockSize,
    hashBlockSize,
    dataBlocks,
    salt: new Uint8Array(r.bytesAt(F.salt, saltSize)),
  };
}
