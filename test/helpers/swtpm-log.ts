// Builds swtpm command logs for tests: TPM 2.0 commands and responses as they cross the wire, and
// the text swtpm writes for them with --log level=20 (swtpm 0.7 SWTPM_PrintAll).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { HASH_ALGS, type HashAlg } from '../../measurements/hash.js';
import type { SwtpmRecordKind } from '../../measurements/tpm/swtpm-log.js';
import { encodePcrRead } from '../../measurements/tpm/tpm2-wire.js';

export const SWTPM_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'swtpm');

export function fixtureText(name: string): string {
  const b = readFileSync(join(SWTPM_FIXTURES, name));
  return (name.endsWith('.gz') ? gunzipSync(b) : b).toString('latin1');
}

export interface Rec {
  readonly kind: SwtpmRecordKind;
  readonly bytes: Uint8Array;
}

const LABEL: Record<SwtpmRecordKind, string> = {
  'ctrl-cmd': 'Ctrl Cmd',
  'ctrl-rsp': 'Ctrl Rsp',
  'tpm-cmd': 'SWTPM_IO_Read',
  'tpm-rsp': 'SWTPM_IO_Write',
};

/** The log text of some records, byte for byte the way swtpm 0.7 writes it. */
export function logText(records: readonly (Rec | string)[]): string {
  let out = '';
  for (const r of records) {
    if (typeof r === 'string') {
      out += `${r}\n`;
      continue;
    }
    out += ` ${LABEL[r.kind]}: length ${r.bytes.length}\n`;
    for (let i = 0; i < r.bytes.length; i += 16) {
      out += ` ${[...r.bytes.subarray(i, i + 16)].map((b) => `${b.toString(16).toUpperCase().padStart(2, '0')} `).join('')}\n`;
    }
  }
  return out;
}

/** Big-endian byte builder. */
class W {
  private readonly parts: number[] = [];
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** tag, size, code, then the body; the size is filled in. */
function frame(tag: number, code: number, body: Uint8Array): Uint8Array {
  return new W()
    .u16(tag)
    .u32(10 + body.length)
    .u32(code)
    .bytes(body)
    .done();
}

/** A password session (TPM_RS_PW, empty nonce and HMAC): 9 bytes. */
const PW_SESSION = new W().u32(0x40000009).u16(0).u8(0).u16(0).done();
const PW_RESPONSE = new W().u16(0).u8(1).u16(0).done();

function withAuth(handles: number[], params: Uint8Array, sessions = 1): Uint8Array {
  const w = new W();
  for (const h of handles) w.u32(h);
  w.u32(PW_SESSION.length * sessions);
  for (let i = 0; i < sessions; i++) w.bytes(PW_SESSION);
  return w.bytes(params).done();
}

export function digestList(digests: readonly (readonly [HashAlg | number, Uint8Array])[]): Uint8Array {
  const w = new W().u32(digests.length);
  for (const [alg, d] of digests) w.u16(typeof alg === 'number' ? alg : HASH_ALGS[alg].tpmAlgId).bytes(d);
  return w.done();
}

export const tpmCmd = {
  startup: (type = 0): Rec => ({ kind: 'tpm-cmd', bytes: frame(0x8001, 0x144, new W().u16(type).done()) }),
  shutdown: (type = 0): Rec => ({ kind: 'tpm-cmd', bytes: frame(0x8001, 0x145, new W().u16(type).done()) }),
  extend: (pcr: number, digests: readonly (readonly [HashAlg | number, Uint8Array])[]): Rec => ({
    kind: 'tpm-cmd',
    bytes: frame(0x8002, 0x182, withAuth([pcr], digestList(digests))),
  }),
  event: (pcr: number, data: Uint8Array): Rec => ({
    kind: 'tpm-cmd',
    bytes: frame(0x8002, 0x13c, withAuth([pcr], new W().u16(data.length).bytes(data).done())),
  }),
  sequenceComplete: (pcr: number, seq: number, buffer: Uint8Array): Rec => ({
    kind: 'tpm-cmd',
    bytes: frame(0x8002, 0x185, withAuth([pcr, seq], new W().u16(buffer.length).bytes(buffer).done(), 2)),
  }),
  reset: (pcr: number): Rec => ({
    kind: 'tpm-cmd',
    bytes: frame(0x8002, 0x13d, withAuth([pcr], new Uint8Array(0))),
  }),
  allocate: (banks: readonly HashAlg[]): Rec => {
    const w = new W().u32(banks.length);
    for (const b of banks) w.u16(HASH_ALGS[b].tpmAlgId).u8(3).u8(0xff).u8(0xff).u8(0xff);
    return { kind: 'tpm-cmd', bytes: frame(0x8002, 0x12b, withAuth([0x4000000c], w.done())) };
  },
  read: (bank: HashAlg, pcrs: readonly number[]): Rec => ({
    kind: 'tpm-cmd',
    bytes: encodePcrRead(bank, pcrs),
  }),
  getRandom: (): Rec => ({ kind: 'tpm-cmd', bytes: frame(0x8001, 0x17b, new W().u16(8).done()) }),
  raw: (bytes: Uint8Array): Rec => ({ kind: 'tpm-cmd', bytes }),
};

export const tpmRsp = {
  /** Success without parameters, no sessions. */
  ok: (): Rec => ({ kind: 'tpm-rsp', bytes: frame(0x8001, 0, new Uint8Array(0)) }),
  /** Success of a command with one password session and no parameters. */
  okSession: (): Rec => ({
    kind: 'tpm-rsp',
    bytes: frame(0x8002, 0, new W().u32(0).bytes(PW_RESPONSE).done()),
  }),
  fail: (rc = 0x100): Rec => ({ kind: 'tpm-rsp', bytes: frame(0x8001, rc, new Uint8Array(0)) }),
  /** Success with TPML_DIGEST_VALUES parameters (TPM2_PCR_Event, TPM2_EventSequenceComplete). */
  digests: (digests: readonly (readonly [HashAlg | number, Uint8Array])[], sessions = 1): Rec => {
    const params = digestList(digests);
    const w = new W().u32(params.length).bytes(params);
    for (let i = 0; i < sessions; i++) w.bytes(PW_RESPONSE);
    return { kind: 'tpm-rsp', bytes: frame(0x8002, 0, w.done()) };
  },
  /** A TPM2_PCR_Read answer: values of one bank's PCRs in ascending order. */
  read: (bank: HashAlg, pcrs: readonly number[], values: readonly Uint8Array[]): Rec => {
    const select = new Uint8Array(3);
    for (const p of pcrs) select[p >> 3] = (select[p >> 3] as number) | (1 << (p & 7));
    const w = new W().u32(1).u32(1).u16(HASH_ALGS[bank].tpmAlgId).u8(3).bytes(select).u32(values.length);
    for (const v of values) w.u16(v.length).bytes(v);
    return { kind: 'tpm-rsp', bytes: frame(0x8001, 0, w.done()) };
  },
};

export const ctrl = {
  cmd: (code: number, payload: readonly number[] = []): Rec => {
    const w = new W().u32(code);
    for (const b of payload) w.u8(b);
    return { kind: 'ctrl-cmd', bytes: w.done() };
  },
  ok: (): Rec => ({ kind: 'ctrl-rsp', bytes: new W().u32(0).done() }),
  fail: (rc = 1): Rec => ({ kind: 'ctrl-rsp', bytes: new W().u32(rc).done() }),
};

/** CMD_INIT, CMD_SET_LOCALITY(locality), TPM2_Startup(CLEAR): what QEMU + OVMF send first. */
export function powerOn(locality = 0): Rec[] {
  return [
    ctrl.cmd(2, [0, 0, 0, 0]),
    ctrl.ok(),
    ctrl.cmd(5, [locality, 0, 0, 0]),
    ctrl.ok(),
    tpmCmd.startup(0),
    tpmRsp.ok(),
  ];
}
