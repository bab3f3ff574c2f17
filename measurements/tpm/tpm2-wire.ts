// The few TPM 2.0 commands and responses that change or read PCRs, as they cross the wire between
// QEMU and swtpm (TPM 2.0 Library Part 3; big-endian, TPM2B = u16 size + bytes). Pure, bounds-checked:
// every decoder reads inside its buffer and throws ParseError with the byte offset in the command.
import { ParseError, type ParseErrorCode } from '../../image/formats/errors.js';
import { HASH_ALGS, hashAlgById, type HashAlg } from '../hash.js';
import { PCR_COUNT } from '../register.js';

export const TPM_ST = { noSessions: 0x8001, sessions: 0x8002 } as const;

/** Command codes nodeimg decodes (TPM 2.0 Library Part 2, TPM_CC). */
export const TPM_CC = {
  PCR_Allocate: 0x12b,
  PCR_Event: 0x13c,
  PCR_Reset: 0x13d,
  Startup: 0x144,
  Shutdown: 0x145,
  PCR_Read: 0x17e,
  PCR_Extend: 0x182,
  EventSequenceComplete: 0x185,
} as const;

/** TPM_RH_NULL: a PCR command on it is accepted and does nothing. */
export const TPM_RH_NULL = 0x40000007;
export const TPM_SU = { clear: 0x0000, state: 0x0001 } as const;

/** Digest sizes of hash algorithms a TPM may implement besides the banks nodeimg models. */
const OTHER_DIGEST_SIZES: ReadonlyMap<number, number> = new Map([
  [0x0012, 32], // SM3_256
  [0x0027, 32], // SHA3_256
  [0x0028, 48], // SHA3_384
  [0x0029, 64], // SHA3_512
]);

/** Most entries in a TPML_DIGEST_VALUES / TPML_PCR_SELECTION / TPML_DIGEST a TPM accepts. */
const MAX_LIST = 16;
const MAX_EVENT_DATA = 1024;

/** Big-endian, bounds-checked reader over one command or response. */
class WireReader {
  private pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly structure: string,
  ) {}
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  fail(detail: string, code: ParseErrorCode = 'PARSE_INVALID', at = this.pos): never {
    throw new ParseError(code, this.structure, at, detail);
  }
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new ParseError(
        'PARSE_TRUNCATED',
        this.structure,
        this.pos,
        `need ${n} bytes, have ${this.bytes.length - this.pos}`,
      );
    }
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = ((this.bytes[this.pos] as number) << 8) | (this.bytes[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return (
      (((b[p] as number) << 24) >>> 0) +
      (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
    );
  }
  read(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  seek(pos: number): void {
    if (pos > this.bytes.length)
      this.fail(`offset ${pos} is past the end (${this.bytes.length} bytes)`, 'PARSE_INVALID');
    this.pos = pos;
  }
}

export interface WireHeader {
  readonly tag: number;
  readonly size: number;
  /** Command code (commands) or response code (responses). */
  readonly code: number;
}

/** The 10-byte header of a TPM 2.0 command or response; undefined when it is not TPM 2.0 (e.g. a TPM 1.2 probe). */
export function wireHeader(bytes: Uint8Array): WireHeader | undefined {
  if (bytes.length < 10) return undefined;
  const r = new WireReader(bytes, 'TPM header');
  const tag = r.u16();
  if (tag !== TPM_ST.noSessions && tag !== TPM_ST.sessions) return undefined;
  return { tag, size: r.u32(), code: r.u32() };
}

function checkedHeader(bytes: Uint8Array, structure: string): { r: WireReader; header: WireHeader } {
  const r = new WireReader(bytes, structure);
  const tag = r.u16();
  if (tag !== TPM_ST.noSessions && tag !== TPM_ST.sessions)
    r.fail(`tag 0x${tag.toString(16)} is not a TPM 2.0 tag`, 'PARSE_INVALID', 0);
  const size = r.u32();
  if (size !== bytes.length)
    r.fail(`the header says ${size} bytes, the record has ${bytes.length}`, 'PARSE_INVALID', 2);
  return { r, header: { tag, size, code: r.u32() } };
}

/** Skips the handles and the authorization area of a command; the reader then stands on the parameters. */
function commandParameters(
  bytes: Uint8Array,
  structure: string,
  handles: number,
): { r: WireReader; handles: number[] } {
  const { r, header } = checkedHeader(bytes, structure);
  const hs: number[] = [];
  for (let i = 0; i < handles; i++) hs.push(r.u32());
  if (header.tag === TPM_ST.sessions) {
    const authSize = r.u32();
    if (authSize > r.remaining)
      r.fail(`authorization area of ${authSize} bytes, ${r.remaining} left`, 'PARSE_TRUNCATED');
    r.read(authSize);
  }
  return { r, handles: hs };
}

/** The parameters of a successful response (after the parameterSize field when sessions are used). */
function responseParameters(bytes: Uint8Array, structure: string): WireReader {
  const { r, header } = checkedHeader(bytes, structure);
  if (header.code !== 0)
    r.fail(`response code 0x${header.code.toString(16)} is not success`, 'PARSE_INVALID', 6);
  if (header.tag === TPM_ST.sessions) {
    const paramSize = r.u32();
    if (paramSize > r.remaining)
      r.fail(`parameterSize ${paramSize}, ${r.remaining} bytes left`, 'PARSE_TRUNCATED');
  }
  return r;
}

/** A digest of a TPML_DIGEST_VALUES; `bank` is undefined for algorithms nodeimg has no bank for (SM3, SHA3). */
export interface WireDigest {
  readonly algId: number;
  readonly bank: HashAlg | undefined;
  readonly digest: Uint8Array;
}

function digestValues(r: WireReader): WireDigest[] {
  const at = r.offset;
  const count = r.u32();
  if (count > MAX_LIST)
    r.fail(`TPML_DIGEST_VALUES count ${count} is more than ${MAX_LIST}`, 'PARSE_LIMIT', at);
  const out: WireDigest[] = [];
  for (let i = 0; i < count; i++) {
    const algAt = r.offset;
    const algId = r.u16();
    const bank = hashAlgById(algId);
    const size = bank === undefined ? OTHER_DIGEST_SIZES.get(algId) : HASH_ALGS[bank].size;
    if (size === undefined)
      r.fail(
        `hash algorithm 0x${algId.toString(16).padStart(4, '0')} is unknown (its digest size is not known)`,
        'PARSE_UNSUPPORTED',
        algAt,
      );
    out.push({ algId, bank, digest: r.read(size) });
  }
  return out;
}

export interface PcrSelection {
  readonly algId: number;
  readonly bank: HashAlg | undefined;
  /** Ascending. */
  readonly pcrs: readonly number[];
}

function pcrSelections(r: WireReader): PcrSelection[] {
  const at = r.offset;
  const count = r.u32();
  if (count > MAX_LIST)
    r.fail(`TPML_PCR_SELECTION count ${count} is more than ${MAX_LIST}`, 'PARSE_LIMIT', at);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const algId = r.u16();
    const sizeAt = r.offset;
    const sizeofSelect = r.u8();
    if (sizeofSelect > 32) r.fail(`sizeofSelect ${sizeofSelect} is more than 32`, 'PARSE_LIMIT', sizeAt);
    const select = r.read(sizeofSelect);
    const pcrs: number[] = [];
    for (let byte = 0; byte < select.length; byte++) {
      for (let bit = 0; bit < 8; bit++) if (((select[byte] as number) >> bit) & 1) pcrs.push(byte * 8 + bit);
    }
    out.push({ algId, bank: hashAlgById(algId), pcrs });
  }
  return out;
}

/** A PCR handle (0-23), TPM_RH_NULL (null), or an error for anything else. */
function pcrHandle(r: WireReader, handle: number, at: number): number | null {
  if (handle === TPM_RH_NULL) return null;
  if (handle >= PCR_COUNT)
    r.fail(
      `handle 0x${handle.toString(16)} is not a PCR (0-${PCR_COUNT - 1}) nor TPM_RH_NULL`,
      'PARSE_INVALID',
      at,
    );
  return handle;
}

/** TPM2_PCR_Extend: PCR handle + TPML_DIGEST_VALUES. `pcr` null for TPM_RH_NULL. */
export function decodePcrExtend(
  bytes: Uint8Array,
  structure = 'TPM2_PCR_Extend',
): { pcr: number | null; digests: WireDigest[] } {
  const { r, handles } = commandParameters(bytes, structure, 1);
  return { pcr: pcrHandle(r, handles[0] as number, 10), digests: digestValues(r) };
}

/** TPM2_PCR_Event: PCR handle + TPM2B_EVENT (the TPM hashes the data with every bank). */
export function decodePcrEvent(
  bytes: Uint8Array,
  structure = 'TPM2_PCR_Event',
): { pcr: number | null; eventData: Uint8Array } {
  const { r, handles } = commandParameters(bytes, structure, 1);
  const at = r.offset;
  const size = r.u16();
  if (size > MAX_EVENT_DATA)
    r.fail(`eventData of ${size} bytes is more than ${MAX_EVENT_DATA}`, 'PARSE_LIMIT', at);
  return { pcr: pcrHandle(r, handles[0] as number, 10), eventData: r.read(size) };
}

/** The digests a TPM2_PCR_Event response reports (one per implemented algorithm). */
export function decodePcrEventResponse(
  bytes: Uint8Array,
  structure = 'TPM2_PCR_Event response',
): WireDigest[] {
  return digestValues(responseParameters(bytes, structure));
}

/** TPM2_EventSequenceComplete: PCR handle, sequence handle; the digests are in the response. */
export function decodeEventSequenceComplete(
  bytes: Uint8Array,
  structure = 'TPM2_EventSequenceComplete',
): { pcr: number | null } {
  const { r, handles } = commandParameters(bytes, structure, 2);
  return { pcr: pcrHandle(r, handles[0] as number, 10) };
}

export function decodeEventSequenceCompleteResponse(
  bytes: Uint8Array,
  structure = 'TPM2_EventSequenceComplete response',
): WireDigest[] {
  return digestValues(responseParameters(bytes, structure));
}

/** TPM2_PCR_Reset: PCR handle. */
export function decodePcrReset(bytes: Uint8Array, structure = 'TPM2_PCR_Reset'): { pcr: number | null } {
  const { r, handles } = commandParameters(bytes, structure, 1);
  return { pcr: pcrHandle(r, handles[0] as number, 10) };
}

/** TPM2_Startup / TPM2_Shutdown: TPM_SU (0 CLEAR, 1 STATE). */
export function decodeStartupType(bytes: Uint8Array, structure = 'TPM2_Startup'): number {
  const { r } = commandParameters(bytes, structure, 0);
  return r.u16();
}

/** TPM2_PCR_Allocate: platform handle + the requested TPML_PCR_SELECTION (active after the next _TPM_Init). */
export function decodePcrAllocate(bytes: Uint8Array, structure = 'TPM2_PCR_Allocate'): PcrSelection[] {
  const { r } = commandParameters(bytes, structure, 1);
  return pcrSelections(r);
}

export function decodePcrReadCommand(bytes: Uint8Array, structure = 'TPM2_PCR_Read'): PcrSelection[] {
  const { r } = commandParameters(bytes, structure, 0);
  return pcrSelections(r);
}

export interface PcrReadValue {
  readonly algId: number;
  readonly bank: HashAlg | undefined;
  readonly pcr: number;
  readonly value: Uint8Array;
}

/** A TPM2_PCR_Read response: the values in selection order (bank by bank, PCRs ascending). */
export function decodePcrReadResponse(
  bytes: Uint8Array,
  structure = 'TPM2_PCR_Read response',
): { updateCounter: number; values: PcrReadValue[] } {
  const r = responseParameters(bytes, structure);
  const updateCounter = r.u32();
  const selection = pcrSelections(r);
  const at = r.offset;
  const count = r.u32();
  if (count > MAX_LIST) r.fail(`TPML_DIGEST count ${count} is more than ${MAX_LIST}`, 'PARSE_LIMIT', at);
  const slots = selection.flatMap((s) => s.pcrs.map((pcr) => ({ algId: s.algId, bank: s.bank, pcr })));
  if (slots.length !== count)
    r.fail(`${count} values for ${slots.length} selected PCRs`, 'PARSE_INVALID', at);
  const values: PcrReadValue[] = [];
  for (const slot of slots) {
    const sizeAt = r.offset;
    const size = r.u16();
    if (slot.bank !== undefined && size !== HASH_ALGS[slot.bank].size) {
      r.fail(`a ${slot.bank} PCR value of ${size} bytes`, 'PARSE_INVALID', sizeAt);
    }
    if (size > 64) r.fail(`a PCR value of ${size} bytes`, 'PARSE_LIMIT', sizeAt);
    values.push({ ...slot, value: r.read(size) });
  }
  return { updateCounter, values };
}

/** TPM2_PCR_Read of some PCRs of one bank (at most 8 values come back per call). */
export function encodePcrRead(bank: HashAlg, pcrs: readonly number[]): Uint8Array {
  const select = new Uint8Array(3);
  for (const p of pcrs) {
    if (!Number.isInteger(p) || p < 0 || p >= PCR_COUNT) throw new RangeError(`PCR ${p} is out of range`);
    select[p >> 3] = (select[p >> 3] as number) | (1 << (p & 7));
  }
  const out = new Uint8Array(20);
  const v = new DataView(out.buffer);
  v.setUint16(0, TPM_ST.noSessions);
  v.setUint32(2, out.length);
  v.setUint32(6, TPM_CC.PCR_Read);
  v.setUint32(10, 1);
  v.setUint16(14, HASH_ALGS[bank].tpmAlgId);
  v.setUint8(16, 3);
  out.set(select, 17);
  return out;
}
