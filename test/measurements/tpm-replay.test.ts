// What the TPM received, rebuilt from swtpm's log: a real boot (checked against the PCRs read from the
// TPM afterwards, the PCRs the guest read and the firmware event log of the same boot) and synthetic
// logs for every command the replay models.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeimgError, ParseError } from '../../image/formats/errors.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { EV } from '../../measurements/eventlog/types.js';
import type { ExpectedEvent } from '../../measurements/eventlog/expected-event.js';
import { digest, type HashAlg } from '../../measurements/hash.js';
import { extend, initialRegister } from '../../measurements/register.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { checkBoot, checkEventLog } from '../../measurements/tpm/boot-check.js';
import { diffExtends, formatExtendDiff } from '../../measurements/tpm/extend-diff.js';
import {
  EXIT_BOOT_SERVICES_SUCCESS,
  currentExtends,
  replayTpmLog,
  type TpmReplay,
} from '../../measurements/tpm/replay.js';
import { parseSwtpmLog } from '../../measurements/tpm/swtpm-log.js';
import { decodePcrReadResponse, encodePcrRead, wireHeader } from '../../measurements/tpm/tpm2-wire.js';
import { ctrl, fixtureText, logText, powerOn, tpmCmd, tpmRsp, type Rec } from '../helpers/swtpm-log.js';

const BANKS: HashAlg[] = ['sha1', 'sha256', 'sha384'];
const EVENTLOGS = join(import.meta.dirname, '..', 'fixtures', 'eventlogs');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const fill = (alg: HashAlg, v: number) =>
  new Uint8Array({ sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[alg]).fill(v);

function replayOf(records: readonly (Rec | string)[], banks: HashAlg[] = BANKS): TpmReplay {
  return replayTpmLog(parseSwtpmLog(logText(records)), { banks });
}

function pcrHex(r: TpmReplay, bank: HashAlg, pcr: number): string {
  return hex(r.pcrs[bank]?.[pcr] ?? new Uint8Array());
}

/** The value a PCR gets from zero (or its start value) through `digests`. */
function chain(bank: HashAlg, pcr: number, ...digests: Uint8Array[]): string {
  let reg = initialRegister(bank, pcr);
  for (const d of digests) reg = extend(reg, d);
  return hex(reg.value);
}

/** PCR values read afterwards, from the second swtpm's log (what boot-check's own TPM2_PCR_Read got). */
function readFromLog(text: string): Record<string, string[]> {
  const log = parseSwtpmLog(text);
  const out: Record<string, string[]> = {};
  for (const r of log.records) {
    if (r.kind !== 'tpm-rsp' || wireHeader(r.bytes)?.code !== 0) continue;
    for (const v of decodePcrReadResponse(r.bytes).values)
      (out[v.bank as string] ??= [])[v.pcr] = hex(v.value);
  }
  return out;
}

describe('replay of a real boot (lab disk `direct`, OVMF, swtpm 0.7.1)', () => {
  const replay = replayTpmLog(parseSwtpmLog(fixtureText('direct-boot.log.gz')), { banks: BANKS });
  const guest = JSON.parse(readFileSync(join(EVENTLOGS, 'direct.pcrs.json'), 'utf8')) as {
    pcrs: Record<string, string[]>;
  };
  const eventLog = decodeEventLog(new Uint8Array(readFileSync(join(EVENTLOGS, 'direct.bin'))));

  it('gives the PCRs read from the TPM after the boot, and those the guest read, in every bank', () => {
    const read = readFromLog(fixtureText('direct-read.log'));
    for (const bank of BANKS) {
      const replayed = (replay.pcrs[bank] ?? []).map(hex);
      expect({ bank, replayed }).toEqual({ bank, replayed: read[bank] });
      expect({ bank, replayed }).toEqual({ bank, replayed: guest.pcrs[bank]?.map((x) => x.toLowerCase()) });
    }
  });

  it('sees one TPM2_Startup(CLEAR) at locality 0, 37 extends, ExitBootServices, the kernel TPM2_Shutdown', () => {
    expect(replay.startups).toEqual([{ command: 3, line: 45, locality: 0, epoch: 1 }]);
    expect(replay.extends.length).toBe(37);
    expect(currentExtends(replay).length).toBe(37);
    expect(replay.extends.every((e) => e.via === 'TPM2_PCR_Extend')).toBe(true);
    expect(replay.exitBootServices?.pcr).toBe(5);
    expect(replay.exitBootServices?.digests.sha256).toEqual(
      digest('sha256', bytes(EXIT_BOOT_SERVICES_SUCCESS)),
    );
    expect(replay.shutdowns.map((s) => s.type)).toEqual(['clear']);
    expect(replay.failed).toBe(1); // QEMU's TPM2_ReadClock probe before CMD_INIT
    expect(replay.unanswered).toBe(0);
  });

  it('checks every TPM2_PCR_Read of the firmware and the guest against the replay at that point', () => {
    expect(replay.reads.length).toBeGreaterThan(100);
    expect(replay.reads.flatMap((r) => r.mismatches)).toEqual([]);
  });

  it("agrees with the firmware event log of the same boot, extend by extend (PCR 10 is the kernel's IMA)", () => {
    const c = checkEventLog(eventLog, replay);
    expect(c.ok).toBe(true);
    expect(c.lines.at(-1)).toMatch(/not in the firmware log .*: PCR 10$/);
  });

  it('names the first extend where a prediction departs, with both digests and the predicted event', () => {
    const extendsNow = currentExtends(replay);
    const pcr4 = extendsNow.filter((e) => e.pcr === 4);
    const predicted: ExpectedEvent[] = pcr4.map((e, i) => ({
      pcr: 4,
      type: i === 2 ? EV.EFI_BOOT_SERVICES_APPLICATION : EV.EFI_ACTION,
      digests: i === 2 ? { sha256: fill('sha256', 0xab), sha384: e.digests.sha384 as Uint8Array } : e.digests,
      description: i === 2 ? 'Authenticode of EFI/BOOT/BOOTX64.EFI' : `event ${i + 1}`,
    }));
    const d = diffExtends(predicted, extendsNow, { pcrs: [4] });
    expect(d.ok).toBe(false);
    const first = d.pcrs[0]?.first;
    expect(first?.position).toBe(3);
    expect(first?.bank).toBe('sha256');
    expect(first?.message).toMatch(
      /^PCR 4 extend 3: predicted EV_EFI_BOOT_SERVICES_APPLICATION Authenticode of EFI\/BOOT\/BOOTX64.EFI = sha256:abababababab…, the TPM received sha256:[0-9a-f]{12}… \(TPM2_PCR_Extend, TPM command #\d+, swtpm log line \d+\)$/,
    );
    // one fewer predicted: the TPM got an extra one; one more: one is missing
    const extra = diffExtends(predicted.slice(0, 2), extendsNow, { pcrs: [4] }).pcrs[0]?.first;
    expect([extra?.reason, extra?.position, extra?.count]).toEqual(['extra', 3, pcr4.length - 2]);
    const missing = diffExtends(
      [
        ...pcr4.map((e) => ({ pcr: 4, type: EV.EFI_ACTION, digests: e.digests, description: 'x' })),
        { pcr: 4, type: EV.SEPARATOR, digests: { sha256: fill('sha256', 1) }, description: 'separator' },
      ],
      extendsNow,
      { pcrs: [4] },
    ).pcrs[0]?.first;
    expect(missing?.reason).toBe('missing');
    expect(missing?.message).toMatch(
      /^PCR 4: the TPM received \d+ extend\(s\), predicted \d+; missing extend \d+, first EV_SEPARATOR separator = sha256:010101010101…$/,
    );
    expect(formatExtendDiff(d)).toMatch(/^PCR 4 extend 3/);
    // no common bank
    const nb = diffExtends(
      [{ pcr: 4, type: EV.EFI_ACTION, digests: { sha512: new Uint8Array(64) }, description: 'x' }],
      extendsNow,
      { pcrs: [4] },
    ).pcrs[0]?.first;
    expect(nb?.reason).toBe('no-bank');
  });

  it('checkBoot: the verdict per PCR and bank, the read against the replay, the cross-checks', () => {
    const doc = documentFromLog(eventLog, guest.pcrs, [4, 5, 7, 9, 11]);
    const read = Object.fromEntries(
      BANKS.map((b) => [b, (guest.pcrs[b] ?? []).map((x) => new Uint8Array(Buffer.from(x, 'hex')))]),
    );
    const good = checkBoot({ document: doc, replay, read, eventLog, guestPcrs: guest.pcrs });
    expect(good.ok).toBe(true);
    expect(good.realSource).toBe('tpm-read');
    expect(good.verdicts.length).toBe(5 * 3);
    expect(good.captureMismatches).toEqual([]);
    expect(good.eventLogCheck?.ok).toBe(true);
    expect(good.guestPcrCheck?.ok).toBe(true);
    expect(good.extendDiff.ok).toBe(true);

    // a wrong prediction for PCR 11: the verdict and the first departure say so
    const bad = structuredClone(doc) as unknown as {
      pcrs: Record<
        string,
        { expected: Record<string, string>; events: { digests: Record<string, string> }[] }
      >;
    };
    const p11 = bad.pcrs['11'];
    if (p11 === undefined) throw new Error('no PCR 11');
    p11.expected['sha256'] = '00'.repeat(32);
    (p11.events[1] as { digests: Record<string, string> }).digests['sha256'] = '11'.repeat(32);
    const r = checkBoot({ document: bad as unknown as MeasurementsDocument, replay, read });
    expect(r.ok).toBe(false);
    expect(r.verdicts.filter((v) => !v.ok).map((v) => `${v.pcr} ${v.bank}`)).toEqual(['11 sha256']);
    expect(r.extendDiff.pcrs.find((p) => p.pcr === 11)?.first?.message).toMatch(
      /^PCR 11 extend 2: predicted .* = sha256:111111111111…, the TPM received sha256:/,
    );

    // a read that disagrees with the replay: the capture is not trusted
    const tampered = {
      ...read,
      sha256: (read['sha256'] ?? []).map((v, i) => (i === 7 ? fill('sha256', 7) : v)),
    };
    const c = checkBoot({ document: doc, replay, read: tampered });
    expect(c.captureMismatches).toEqual([
      expect.stringMatching(/^PCR 7 sha256: read 0707.*, the replay of its log gives /),
    ]);
    // no read: the replay stands for the real values
    expect(checkBoot({ document: doc, replay }).realSource).toBe('replay');
  });
});

/** A measurements document whose PCRs are the event log's events (what a perfect prediction says). */
function documentFromLog(
  log: ReturnType<typeof decodeEventLog>,
  pcrs: Record<string, string[]>,
  which: number[],
): MeasurementsDocument {
  const docPcrs: Record<string, unknown> = {};
  for (const pcr of which) {
    docPcrs[String(pcr)] = {
      origin: 'image',
      expected: Object.fromEntries(BANKS.map((b) => [b, (pcrs[b]?.[pcr] ?? '').toLowerCase()])),
      events: log.events
        .filter((e) => e.pcr === pcr && e.untrustedType !== EV.NO_ACTION)
        .map((e) => ({
          type: `EV_${Object.entries(EV).find(([, v]) => v === e.untrustedType)?.[0]}`,
          digests: Object.fromEntries(Object.entries(e.claimedDigests).map(([b, d]) => [b, hex(d)])),
          data: null,
          description: `log event #${e.index}`,
        })),
    };
  }
  return {
    $schema: 'https://nodeimg.dev/schema/measurements/v1.json',
    image: { name: 'direct', kind: 'disk', uki: 'EFI/BOOT/BOOTX64.EFI', ukiAuthenticode: {} },
    boot: {
      mode: 'direct',
      secureBoot: false,
      firmware: 'OVMF',
      systemdStub: '252',
      stubRules: 252,
      systemdBoot: null,
      kernel: null,
    },
    banks: BANKS,
    pcrs: docPcrs as MeasurementsDocument['pcrs'],
    notPredicted: [],
    pcr11Phases: [],
    warnings: [],
  };
}

describe('replay of synthetic logs: every modelled command', () => {
  const d1 = fill('sha256', 1);
  const d2 = fill('sha256', 2);

  it('TPM2_PCR_Extend: only the allocated banks, only on success, not TPM_RH_NULL, not without a response', () => {
    const r = replayOf([
      ...powerOn(),
      tpmCmd.extend(4, [
        ['sha256', d1],
        ['sha512', fill('sha512', 9)],
      ]),
      tpmRsp.okSession(),
      tpmCmd.extend(4, [['sha256', d2]]),
      tpmRsp.fail(0x98e),
      tpmCmd.extend(0x40000007, [['sha256', d2]]),
      tpmRsp.okSession(),
      tpmCmd.extend(4, [['sha256', d2]]), // no response: never executed
    ]);
    expect(pcrHex(r, 'sha256', 4)).toBe(chain('sha256', 4, d1));
    expect(pcrHex(r, 'sha1', 4)).toBe('00'.repeat(20)); // no sha1 digest: sha1 bank untouched
    expect(r.extends.map((e) => [e.pcr, Object.keys(e.digests)])).toEqual([[4, ['sha256']]]);
    expect([r.commands, r.failed, r.unanswered]).toEqual([5, 1, 1]);
  });

  it('TPM2_PCR_Event: the TPM hashes the data in every bank; a response that says otherwise is refused', () => {
    const data = bytes('hello');
    const r = replayOf([
      ...powerOn(),
      tpmCmd.event(8, data),
      tpmRsp.digests(BANKS.map((b) => [b, digest(b, data)])),
    ]);
    for (const b of BANKS) expect(pcrHex(r, b, 8)).toBe(chain(b, 8, digest(b, data)));
    expect(r.extends[0]?.via).toBe('TPM2_PCR_Event');
    expect(r.extends[0]?.eventData).toEqual(data);
    expect(() => replayOf([...powerOn(), tpmCmd.event(8, data), tpmRsp.digests([['sha256', d1]])])).toThrow(
      /not its sha256 hash/,
    );
  });

  it('TPM2_EventSequenceComplete: the digests of its response', () => {
    const r = replayOf([
      ...powerOn(),
      tpmCmd.sequenceComplete(9, 0x80000001, bytes('tail')),
      tpmRsp.digests(
        [
          ['sha1', fill('sha1', 3)],
          ['sha256', d1],
        ],
        2,
      ),
    ]);
    expect(pcrHex(r, 'sha256', 9)).toBe(chain('sha256', 9, d1));
    expect(pcrHex(r, 'sha1', 9)).toBe(chain('sha1', 9, fill('sha1', 3)));
    expect(pcrHex(r, 'sha384', 9)).toBe('00'.repeat(48));
  });

  it('TPM2_PCR_Reset zeroes a PCR (DRTM PCRs too); the extends before it no longer count', () => {
    const r = replayOf([
      ...powerOn(),
      tpmCmd.extend(16, [['sha256', d1]]),
      tpmRsp.okSession(),
      tpmCmd.reset(16),
      tpmRsp.okSession(),
      tpmCmd.reset(17),
      tpmRsp.okSession(),
      tpmCmd.extend(16, [['sha256', d2]]),
      tpmRsp.okSession(),
    ]);
    expect(pcrHex(r, 'sha256', 16)).toBe(chain('sha256', 16, d2));
    expect(pcrHex(r, 'sha256', 17)).toBe('00'.repeat(32));
    expect(pcrHex(r, 'sha256', 18)).toBe('ff'.repeat(32));
    expect(currentExtends(r).map((e) => e.n)).toEqual([2]);
  });

  it('TPM2_Startup at locality 3 seeds PCR 0 with 3; a new _TPM_Init + TPM2_Startup starts over', () => {
    const r = replayOf([...powerOn(3), tpmCmd.extend(0, [['sha256', d1]]), tpmRsp.okSession()]);
    expect(pcrHex(r, 'sha256', 0)).toBe(hex(extend(initialRegister('sha256', 0, 3), d1).value));
    expect(r.startups[0]?.locality).toBe(3);
    const again = replayOf([
      ...powerOn(3),
      tpmCmd.extend(0, [['sha256', d1]]),
      tpmRsp.okSession(),
      ...powerOn(0),
      tpmCmd.extend(4, [['sha256', d2]]),
      tpmRsp.okSession(),
    ]);
    expect(pcrHex(again, 'sha256', 0)).toBe('00'.repeat(32));
    expect(again.startups.map((s) => s.epoch)).toEqual([1, 2]);
    expect(currentExtends(again).map((e) => e.pcr)).toEqual([4]);
  });

  it('a second TPM2_Startup without _TPM_Init fails in the TPM and changes nothing', () => {
    const r = replayOf([
      ...powerOn(),
      tpmCmd.extend(4, [['sha256', d1]]),
      tpmRsp.okSession(),
      tpmCmd.startup(0),
      tpmRsp.fail(0x100),
    ]);
    expect(pcrHex(r, 'sha256', 4)).toBe(chain('sha256', 4, d1));
    expect(r.startups.length).toBe(1);
  });

  it('TPM2_PCR_Allocate takes effect at the next _TPM_Init', () => {
    const r = replayOf([
      ...powerOn(),
      tpmCmd.allocate(['sha256', 'sha512']),
      tpmRsp.okSession(),
      tpmCmd.extend(4, [
        ['sha512', fill('sha512', 5)],
        ['sha256', d1],
      ]),
      tpmRsp.okSession(),
    ]);
    expect(r.banks).toEqual(BANKS);
    const after = replayOf([
      ...powerOn(),
      tpmCmd.allocate(['sha256', 'sha512']),
      tpmRsp.okSession(),
      ...powerOn(),
      tpmCmd.extend(4, [
        ['sha512', fill('sha512', 5)],
        ['sha256', d1],
      ]),
      tpmRsp.okSession(),
    ]);
    expect(after.banks).toEqual(['sha256', 'sha512']);
    expect(pcrHex(after, 'sha512', 4)).toBe(chain('sha512', 4, fill('sha512', 5)));
  });

  it('TPM2_PCR_Read responses are checked against the replay at that point', () => {
    const r = replayOf([
      ...powerOn(),
      tpmCmd.extend(4, [['sha256', d1]]),
      tpmRsp.okSession(),
      tpmCmd.read('sha256', [4, 5]),
      tpmRsp.read('sha256', [4, 5], [Buffer.from(chain('sha256', 4, d1), 'hex'), fill('sha256', 0x55)]),
    ]);
    expect(r.reads.length).toBe(1);
    expect(r.reads[0]?.mismatches.map((m) => [m.pcr, m.bank])).toEqual([[5, 'sha256']]);
  });

  it('ignores what it does not model but does not change PCRs: other commands, a TPM 1.2 probe, failed control commands', () => {
    const r = replayOf([
      tpmCmd.raw(Uint8Array.from([0x00, 0xc1, 0, 0, 0, 0x0a, 0, 0, 0, 0xf1])),
      { kind: 'tpm-rsp', bytes: Uint8Array.from([0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0, 0x84]) },
      ...powerOn(),
      tpmCmd.getRandom(),
      tpmRsp.ok(),
      ctrl.cmd(5, [3, 0, 0, 0]),
      ctrl.fail(),
      'Data client disconnected',
    ]);
    expect(r.extends).toEqual([]);
    expect(r.commands).toBe(3);
  });

  it('refuses what it does not model: TPM2_Startup(STATE), the H-CRTM hash sequence, state blobs, two digests of one bank', () => {
    const unsupported = (records: (Rec | string)[]): ParseError => {
      try {
        replayOf(records);
      } catch (err) {
        expect(err).toBeInstanceOf(ParseError);
        return err as ParseError;
      }
      throw new Error('accepted');
    };
    expect(
      unsupported([ctrl.cmd(2, [0, 0, 0, 0]), ctrl.ok(), tpmCmd.startup(1), tpmRsp.ok()]).message,
    ).toMatch(/Startup\(STATE\).*not modelled/);
    expect(unsupported([ctrl.cmd(6), ctrl.ok()]).code).toBe('PARSE_UNSUPPORTED');
    expect(unsupported([ctrl.cmd(13, [0, 0, 0, 1]), ctrl.ok()]).code).toBe('PARSE_UNSUPPORTED');
    expect(
      unsupported([
        ...powerOn(),
        tpmCmd.extend(4, [
          ['sha256', d1],
          ['sha256', d2],
        ]),
        tpmRsp.okSession(),
      ]).message,
    ).toMatch(/two sha256 digests/);
  });

  it('a successful command that does not decode is a ParseError naming the swtpm log line', () => {
    const bad = tpmCmd.extend(4, [['sha256', d1]]);
    const cut = { kind: 'tpm-cmd' as const, bytes: bad.bytes.subarray(0, bad.bytes.length - 4) };
    new DataView(cut.bytes.buffer, cut.bytes.byteOffset).setUint32(2, cut.bytes.length);
    let err: unknown;
    try {
      replayOf([...powerOn(), cut, tpmRsp.okSession()]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NodeimgError);
    expect((err as NodeimgError).code).toBe('PARSE_TRUNCATED');
    expect((err as Error).message).toMatch(/^TPM2_PCR_Extend \(swtpm log line 13\) at byte \d+/);
    // an unknown hash algorithm in a successful extend
    const odd = tpmCmd.extend(4, [[0x0099, d1]]);
    expect(() => replayOf([...powerOn(), odd, tpmRsp.okSession()])).toThrow(
      /hash algorithm 0x0099 is unknown/,
    );
    // a size field that disagrees with the record
    const lying = tpmCmd.extend(4, [['sha256', d1]]);
    new DataView(lying.bytes.buffer).setUint32(2, 9999);
    expect(() => replayOf([...powerOn(), lying, tpmRsp.okSession()])).toThrow(
      /the header says 9999 bytes, the record has/,
    );
  });

  it('encodePcrRead builds the command swtpm answers (checked against the real read log)', () => {
    const log = parseSwtpmLog(fixtureText('direct-read.log'));
    const cmds = log.records.filter((r) => r.kind === 'tpm-cmd').map((r) => hex(r.bytes));
    const ours = BANKS.flatMap((b) =>
      [0, 8, 16].map((f) =>
        hex(
          encodePcrRead(
            b,
            Array.from({ length: 8 }, (_, i) => f + i),
          ),
        ),
      ),
    );
    expect(cmds).toEqual(ours);
  });
});
