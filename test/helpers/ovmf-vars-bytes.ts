// Builds OVMF NV variable stores and EFI_SIGNATURE_LISTs in memory, laid out like edk2 writes them
// (PI Vol. 3 §3.2.1 FV header with a correct Sum16 checksum; VariableFormat.h store and record
// headers, records 4-byte aligned), for codec unit tests and the fuzzer.
import { guidFromString } from '../../image/formats/gpt/guid.js';

export const NV_FV_GUID = 'fff12b8d-7696-4c8b-a985-2747075b4f50';
export const AUTH_VAR_GUID = 'aaf32c78-947b-439a-a180-2e144ec37792';
export const PLAIN_VAR_GUID = 'ddcf3616-3275-4164-98b6-fe85707ffe7d';
export const GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const IMAGE_DB = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
export const SB_ENABLE = 'f0a30bc7-af08-4556-99c4-001009c93a44';
export const X509_TYPE = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
export const SHA256_TYPE = 'c1c41626-504c-4092-aca9-41f936934328';
export const OWNER = '11111111-2222-4333-8444-555555555555';

export interface RecordSpec {
  readonly guid: string;
  readonly name: string;
  readonly data: Uint8Array;
  readonly state?: number;
  readonly attributes?: number;
}

export interface StoreSpec {
  readonly format?: 'authenticated' | 'plain';
  readonly records: readonly RecordSpec[];
  /** VARIABLE_STORE_HEADER.Size; default: records + 64 bytes of 0xFF. */
  readonly storeSize?: number;
}

const FV_HEADER_LENGTH = 0x48;
const align4 = (n: number): number => Math.ceil(n / 4) * 4;

function record(r: RecordSpec, auth: boolean): Uint8Array {
  const name = new Uint8Array((r.name.length + 1) * 2);
  for (let i = 0; i < r.name.length; i++)
    new DataView(name.buffer).setUint16(2 * i, r.name.charCodeAt(i), true);
  const hs = auth ? 60 : 32;
  const out = new Uint8Array(align4(hs + name.length + r.data.length)).fill(0xff);
  const v = new DataView(out.buffer);
  out.fill(0, 0, hs);
  v.setUint16(0, 0x55aa, true);
  v.setUint8(2, r.state ?? 0x3f);
  v.setUint32(4, r.attributes ?? 0x27, true);
  v.setUint32(auth ? 36 : 8, name.length, true);
  v.setUint32(auth ? 40 : 12, r.data.length, true);
  out.set(guidFromString(r.guid), auth ? 44 : 16);
  out.set(name, hs);
  out.set(r.data, hs + name.length);
  return out;
}

/** An OVMF_VARS-like image: FV header (0x48 bytes, checksummed), store header, records, 0xFF fill. */
export function buildVarStore(spec: StoreSpec): Uint8Array {
  const auth = (spec.format ?? 'authenticated') === 'authenticated';
  const recs = spec.records.map((r) => record(r, auth));
  const used = 28 + recs.reduce((n, r) => n + r.length, 0);
  const storeSize = spec.storeSize ?? used + 64;
  const out = new Uint8Array(FV_HEADER_LENGTH + Math.max(storeSize, used)).fill(0xff);
  const v = new DataView(out.buffer);
  out.fill(0, 0, FV_HEADER_LENGTH + 28);
  out.set(guidFromString(NV_FV_GUID), 16);
  v.setBigUint64(32, BigInt(FV_HEADER_LENGTH + storeSize), true);
  out.set(new TextEncoder().encode('_FVH'), 40);
  v.setUint32(44, 0x0004feff, true);
  v.setUint16(48, FV_HEADER_LENGTH, true);
  v.setUint8(55, 2);
  v.setUint32(56, (FV_HEADER_LENGTH + storeSize + 0xfff) >>> 12, true); // BlockMap[0]
  v.setUint32(60, 0x1000, true);
  fixFvChecksum(out);
  out.set(guidFromString(auth ? AUTH_VAR_GUID : PLAIN_VAR_GUID), FV_HEADER_LENGTH);
  v.setUint32(FV_HEADER_LENGTH + 16, storeSize, true);
  v.setUint8(FV_HEADER_LENGTH + 20, 0x5a);
  v.setUint8(FV_HEADER_LENGTH + 21, 0xfe);
  let at = FV_HEADER_LENGTH + 28;
  for (const r of recs) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/**
 * Recomputes the FV header checksum (16-bit words of HeaderLength bytes sum to 0). A fuzzed
 * HeaderLength may run past the buffer: the words that exist are summed (the parser refuses such
 * a header anyway).
 */
export function fixFvChecksum(fv: Uint8Array, offset = 0): void {
  const v = new DataView(fv.buffer, fv.byteOffset + offset, fv.length - offset);
  const len = Math.min(v.getUint16(48, true), v.byteLength & ~1);
  v.setUint16(50, 0, true);
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum = (sum + v.getUint16(i, true)) & 0xffff;
  v.setUint16(50, (0x10000 - sum) & 0xffff, true);
}

/** One EFI_SIGNATURE_LIST of `type` whose entries all have the size of the first. */
export function signatureList(
  type: string,
  entries: readonly { owner?: string; data: Uint8Array }[],
): Uint8Array {
  const size = 16 + (entries[0]?.data.length ?? 0);
  const out = new Uint8Array(28 + size * entries.length);
  const v = new DataView(out.buffer);
  out.set(guidFromString(type), 0);
  v.setUint32(16, out.length, true);
  v.setUint32(24, size, true);
  entries.forEach((e, i) => {
    out.set(guidFromString(e.owner ?? OWNER), 28 + i * size);
    out.set(e.data, 28 + i * size + 16);
  });
  return out;
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
