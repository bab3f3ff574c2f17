// What the TPM itself received, rebuilt from swtpm's log: every successful command that changes a
// PCR, in order, and the PCR values they give. Only commands whose response reports success count.
// Pure.
//
// Modelled: _TPM_Init (control CMD_INIT), TPM2_Startup(CLEAR) at the locality set over the control
// channel (locality 3 seeds PCR 0 with 3; PCR 17-22 start at all ones), TPM2_PCR_Extend (the digests
// of the allocated banks; others are ignored), TPM2_PCR_Event (the TPM hashes eventData with every
// allocated bank: computed here and checked against the response), TPM2_EventSequenceComplete
// (the digests of its response), TPM2_PCR_Reset, TPM2_PCR_Allocate (active after the next
// _TPM_Init), TPM2_Shutdown. Every TPM2_PCR_Read response is checked against the replay at that point.
// Not modelled, so refused (PARSE_UNSUPPORTED): TPM2_Startup(STATE) (S3 resume), the H-CRTM/DRTM
// hash sequence and state blobs loaded over the control channel.
import { ParseError } from '../../image/formats/errors.js';
import { ALL_HASH_ALGS, MultiHash, digest, type HashAlg } from '../hash.js';
import type { BankDigests } from '../pcr-banks.js';
import {
  PCR_COUNT,
  extend,
  initialRegister,
  isStartupLocality,
  zeroRegister,
  type Register,
} from '../register.js';
import type { SwtpmLog, SwtpmRecord } from './swtpm-log.js';
import {
  TPM_CC,
  TPM_SU,
  decodeEventSequenceComplete,
  decodeEventSequenceCompleteResponse,
  decodePcrAllocate,
  decodePcrEvent,
  decodePcrEventResponse,
  decodePcrExtend,
  decodePcrReadResponse,
  decodePcrReset,
  decodeStartupType,
  wireHeader,
  type WireDigest,
} from './tpm2-wire.js';

/** swtpm control-channel commands (swtpm's tpm_ioctl.h). */
export const SWTPM_CTRL = {
  GET_CAPABILITY: 1,
  INIT: 2,
  SHUTDOWN: 3,
  GET_TPMESTABLISHED: 4,
  SET_LOCALITY: 5,
  HASH_START: 6,
  HASH_DATA: 7,
  HASH_END: 8,
  CANCEL_TPM_CMD: 9,
  STORE_VOLATILE: 10,
  RESET_TPMESTABLISHED: 11,
  GET_STATEBLOB: 12,
  SET_STATEBLOB: 13,
  STOP: 14,
  GET_CONFIG: 15,
  SET_DATAFD: 16,
  SET_BUFFERSIZE: 17,
  GET_INFO: 18,
  LOCK_STORAGE: 19,
} as const;

/** The EV_EFI_ACTION string OVMF measures into PCR 5 once ExitBootServices() succeeded. */
export const EXIT_BOOT_SERVICES_SUCCESS = 'Exit Boot Services Returned with Success';

export type ExtendVia = 'TPM2_PCR_Extend' | 'TPM2_PCR_Event' | 'TPM2_EventSequenceComplete';

/** One successful extend of one PCR, with the digest each allocated bank was extended with. */
export interface TpmExtend {
  /** 1-based among all extends of the log. */
  readonly n: number;
  /** 1-based TPM command number in the log. */
  readonly command: number;
  /** swtpm log line of the command. */
  readonly line: number;
  readonly pcr: number;
  readonly via: ExtendVia;
  readonly digests: BankDigests;
  /** TPM2_PCR_Event: the data the TPM hashed. */
  readonly eventData?: Uint8Array;
  readonly locality: number;
  /** Number of the TPM2_Startup(CLEAR) it follows (0: none seen). */
  readonly epoch: number;
}

export interface TpmStartup {
  readonly command: number;
  readonly line: number;
  readonly locality: number;
  readonly epoch: number;
}

export interface TpmReset {
  readonly command: number;
  readonly line: number;
  readonly pcr: number;
  readonly epoch: number;
}

export interface TpmReadCheck {
  readonly command: number;
  readonly line: number;
  readonly values: number;
  /** Values that differ from the replay at that point. */
  readonly mismatches: readonly {
    readonly bank: string;
    readonly pcr: number;
    readonly read: Uint8Array;
    readonly replayed: Uint8Array | undefined;
  }[];
}

export interface TpmReplay {
  /** Banks allocated at the end, in TPM_ALG_ID order. */
  readonly banks: readonly HashAlg[];
  /** Final value of PCR 0-23 in every allocated bank. */
  readonly pcrs: Partial<Record<HashAlg, readonly Uint8Array[]>>;
  readonly extends: readonly TpmExtend[];
  readonly resets: readonly TpmReset[];
  readonly startups: readonly TpmStartup[];
  readonly shutdowns: readonly {
    readonly command: number;
    readonly line: number;
    readonly type: 'clear' | 'state';
  }[];
  readonly reads: readonly TpmReadCheck[];
  /** The first extend of PCR 5 with the "Exit Boot Services Returned with Success" digest in the last epoch. */
  readonly exitBootServices: TpmExtend | undefined;
  /** TPM commands in the log, how many failed (non-zero response code), how many had no response. */
  readonly commands: number;
  readonly failed: number;
  readonly unanswered: number;
}

export interface TpmReplayOptions {
  /** The banks allocated when the log starts (what swtpm_setup --pcr-banks allocated). */
  readonly banks: readonly HashAlg[];
}

function fail(code: 'PARSE_INVALID' | 'PARSE_UNSUPPORTED', rec: SwtpmRecord, detail: string): never {
  throw new ParseError(code, `swtpm log line ${rec.line}`, rec.offset, detail);
}

/** Runs a decoder and names the log line in its errors. */
function at<T>(rec: SwtpmRecord, what: string, fn: (structure: string) => T): T {
  return fn(`${what} (swtpm log line ${rec.line})`);
}

function u32(b: Uint8Array, o: number): number {
  return o + 4 <= b.length
    ? (((b[o] as number) << 24) >>> 0) +
        (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number))
    : -1;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export function replayTpmLog(log: SwtpmLog, opts: TpmReplayOptions): TpmReplay {
  let banks: HashAlg[] = ALL_HASH_ALGS.filter((b) => opts.banks.includes(b));
  let pendingBanks: HashAlg[] | undefined;
  const fresh = (alg: HashAlg, locality: number): Register[] =>
    Array.from({ length: PCR_COUNT }, (_, i) =>
      initialRegister(alg, i, i === 0 && isStartupLocality(locality) ? locality : 0),
    );
  let regs = new Map<HashAlg, Register[]>(banks.map((b) => [b, fresh(b, 0)]));
  const ebsDigests = new Map(
    ALL_HASH_ALGS.map((a) => [
      a,
      digest(
        a,
        Uint8Array.from(EXIT_BOOT_SERVICES_SUCCESS, (c) => c.charCodeAt(0)),
      ),
    ]),
  );

  const extendsList: TpmExtend[] = [];
  const resets: TpmReset[] = [];
  const startups: TpmStartup[] = [];
  const shutdowns: { command: number; line: number; type: 'clear' | 'state' }[] = [];
  const reads: TpmReadCheck[] = [];
  let exitBootServices: TpmExtend | undefined;
  let locality = 0;
  let epoch = 0;
  let commands = 0;
  let failed = 0;
  let unanswered = 0;
  let pendingCmd: { rec: SwtpmRecord; n: number } | undefined;
  let pendingCtrl: SwtpmRecord | undefined;

  const applyExtend = (
    rec: SwtpmRecord,
    n: number,
    pcr: number,
    via: ExtendVia,
    given: BankDigests,
    eventData?: Uint8Array,
  ): void => {
    const used: BankDigests = {};
    for (const b of banks) {
      const d = given[b];
      if (d === undefined) continue;
      const bank = regs.get(b) as Register[];
      bank[pcr] = extend(bank[pcr] as Register, d);
      used[b] = d;
    }
    if (Object.keys(used).length === 0) return; // no allocated bank: nothing changed
    const e: TpmExtend = {
      n: extendsList.length + 1,
      command: n,
      line: rec.line,
      pcr,
      via,
      digests: used,
      ...(eventData === undefined ? {} : { eventData }),
      locality,
      epoch,
    };
    extendsList.push(e);
    if (
      pcr === 5 &&
      exitBootServices === undefined &&
      banks.some(
        (b) => used[b] !== undefined && equal(used[b] as Uint8Array, ebsDigests.get(b) as Uint8Array),
      )
    ) {
      exitBootServices = e;
    }
  };

  const fromWire = (list: readonly WireDigest[]): BankDigests => {
    const out: BankDigests = {};
    // (TPM2_PCR_Extend refuses two digests of one allocated bank before this is called)
    for (const d of list) if (d.bank !== undefined && out[d.bank] === undefined) out[d.bank] = d.digest;
    return out;
  };

  const tpmCommand = (cmd: SwtpmRecord, n: number, rsp: SwtpmRecord): void => {
    const h = wireHeader(cmd.bytes);
    const r = wireHeader(rsp.bytes);
    if (h === undefined) return; // not TPM 2.0 (QEMU probes with a TPM 1.2 command)
    if (r === undefined || r.code !== 0) {
      failed++;
      return;
    }
    switch (h.code) {
      case TPM_CC.Startup: {
        const type = at(cmd, 'TPM2_Startup', (s) => decodeStartupType(cmd.bytes, s));
        if (type !== TPM_SU.clear)
          fail('PARSE_UNSUPPORTED', cmd, 'TPM2_Startup(STATE) (a resume from S3) is not modelled');
        epoch++;
        exitBootServices = undefined;
        regs = new Map(banks.map((b) => [b, fresh(b, locality)]));
        startups.push({ command: n, line: cmd.line, locality, epoch });
        return;
      }
      case TPM_CC.Shutdown: {
        const type = at(cmd, 'TPM2_Shutdown', (s) => decodeStartupType(cmd.bytes, s));
        shutdowns.push({ command: n, line: cmd.line, type: type === TPM_SU.state ? 'state' : 'clear' });
        return;
      }
      case TPM_CC.PCR_Extend: {
        const c = at(cmd, 'TPM2_PCR_Extend', (s) => decodePcrExtend(cmd.bytes, s));
        const seen = new Set<number>();
        for (const d of c.digests) {
          if (seen.has(d.algId) && d.bank !== undefined && banks.includes(d.bank)) {
            fail('PARSE_UNSUPPORTED', cmd, `TPM2_PCR_Extend carries two ${d.bank} digests (not modelled)`);
          }
          seen.add(d.algId);
        }
        if (c.pcr !== null) applyExtend(cmd, n, c.pcr, 'TPM2_PCR_Extend', fromWire(c.digests));
        return;
      }
      case TPM_CC.PCR_Event: {
        const c = at(cmd, 'TPM2_PCR_Event', (s) => decodePcrEvent(cmd.bytes, s));
        const computed = new MultiHash(banks).update(c.eventData).digests();
        const reported = fromWire(
          at(rsp, 'TPM2_PCR_Event response', (s) => decodePcrEventResponse(rsp.bytes, s)),
        );
        for (const b of banks) {
          const got = reported[b];
          if (got !== undefined && !equal(got, computed[b])) {
            fail(
              'PARSE_INVALID',
              rsp,
              `the TPM reports a ${b} digest of the TPM2_PCR_Event data that is not its ${b} hash`,
            );
          }
        }
        if (c.pcr !== null) applyExtend(cmd, n, c.pcr, 'TPM2_PCR_Event', computed, c.eventData);
        return;
      }
      case TPM_CC.EventSequenceComplete: {
        const c = at(cmd, 'TPM2_EventSequenceComplete', (s) => decodeEventSequenceComplete(cmd.bytes, s));
        const results = fromWire(
          at(rsp, 'TPM2_EventSequenceComplete response', (s) =>
            decodeEventSequenceCompleteResponse(rsp.bytes, s),
          ),
        );
        if (c.pcr !== null) applyExtend(cmd, n, c.pcr, 'TPM2_EventSequenceComplete', results);
        return;
      }
      case TPM_CC.PCR_Reset: {
        const c = at(cmd, 'TPM2_PCR_Reset', (s) => decodePcrReset(cmd.bytes, s));
        if (c.pcr === null) return;
        for (const b of banks) (regs.get(b) as Register[])[c.pcr] = zeroRegister(b, c.pcr);
        resets.push({ command: n, line: cmd.line, pcr: c.pcr, epoch });
        return;
      }
      case TPM_CC.PCR_Allocate: {
        const sel = at(cmd, 'TPM2_PCR_Allocate', (s) => decodePcrAllocate(cmd.bytes, s));
        const wanted = new Set(
          sel.filter((x) => x.bank !== undefined && x.pcrs.length > 0).map((x) => x.bank as HashAlg),
        );
        pendingBanks = ALL_HASH_ALGS.filter((b) => wanted.has(b));
        return;
      }
      case TPM_CC.PCR_Read: {
        const res = at(rsp, 'TPM2_PCR_Read response', (s) => decodePcrReadResponse(rsp.bytes, s));
        const mismatches: TpmReadCheck['mismatches'][number][] = [];
        for (const v of res.values) {
          const replayed = v.bank === undefined ? undefined : regs.get(v.bank)?.[v.pcr]?.value;
          if (replayed === undefined || !equal(replayed, v.value)) {
            mismatches.push({
              bank: v.bank ?? `alg 0x${v.algId.toString(16)}`,
              pcr: v.pcr,
              read: v.value,
              replayed,
            });
          }
        }
        reads.push({ command: n, line: cmd.line, values: res.values.length, mismatches });
        return;
      }
      default:
        return;
    }
  };

  const ctrlCommand = (cmd: SwtpmRecord, rsp: SwtpmRecord): void => {
    const code = u32(cmd.bytes, 0);
    if (u32(rsp.bytes, 0) !== 0 && code !== SWTPM_CTRL.GET_CAPABILITY) return; // failed: no effect
    switch (code) {
      case SWTPM_CTRL.INIT:
        // _TPM_Init: the TPM waits for TPM2_Startup; a pending TPM2_PCR_Allocate takes effect
        if (pendingBanks !== undefined) {
          banks = pendingBanks;
          pendingBanks = undefined;
        }
        regs = new Map(banks.map((b) => [b, fresh(b, 0)]));
        return;
      case SWTPM_CTRL.SET_LOCALITY:
        if (cmd.bytes.length < 5) fail('PARSE_INVALID', cmd, 'CMD_SET_LOCALITY without a locality byte');
        locality = cmd.bytes[4] as number;
        return;
      case SWTPM_CTRL.HASH_START:
      case SWTPM_CTRL.HASH_DATA:
      case SWTPM_CTRL.HASH_END:
        fail(
          'PARSE_UNSUPPORTED',
          cmd,
          'the H-CRTM/DRTM hash sequence of the control channel (CMD_HASH_*) is not modelled',
        );
        break;
      case SWTPM_CTRL.SET_STATEBLOB:
        fail(
          'PARSE_UNSUPPORTED',
          cmd,
          'a TPM state loaded over the control channel (CMD_SET_STATEBLOB) is not modelled',
        );
        break;
      default:
        return;
    }
  };

  for (const rec of log.records) {
    switch (rec.kind) {
      case 'tpm-cmd':
        commands++;
        if (pendingCmd !== undefined) unanswered++;
        pendingCmd = { rec, n: commands };
        break;
      case 'tpm-rsp':
        if (pendingCmd !== undefined) tpmCommand(pendingCmd.rec, pendingCmd.n, rec);
        pendingCmd = undefined;
        break;
      case 'ctrl-cmd':
        pendingCtrl = rec;
        break;
      case 'ctrl-rsp':
        if (pendingCtrl !== undefined) ctrlCommand(pendingCtrl, rec);
        pendingCtrl = undefined;
        break;
    }
  }
  if (pendingCmd !== undefined) unanswered++;

  const pcrs: Partial<Record<HashAlg, readonly Uint8Array[]>> = {};
  for (const b of banks) pcrs[b] = (regs.get(b) as Register[]).map((r) => r.value);
  return {
    banks,
    pcrs,
    extends: extendsList,
    resets,
    startups,
    shutdowns,
    reads,
    exitBootServices,
    commands,
    failed,
    unanswered,
  };
}

/**
 * The extends that make up each PCR's final value: those after the last TPM2_Startup(CLEAR) and,
 * per PCR, after its last TPM2_PCR_Reset.
 */
export function currentExtends(replay: TpmReplay): TpmExtend[] {
  const epoch = replay.startups.at(-1)?.epoch ?? 0;
  const lastReset = new Map<number, number>();
  for (const r of replay.resets) if (r.epoch === epoch) lastReset.set(r.pcr, r.command);
  return replay.extends.filter((e) => e.epoch === epoch && e.command > (lastReset.get(e.pcr) ?? 0));
}
