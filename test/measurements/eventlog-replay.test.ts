import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { checkDataDigests, dataDigestMatches } from '../../measurements/eventlog/data-digest.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { createEvent, encodeEventLog } from '../../measurements/eventlog/encode.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { EV, type EventLog } from '../../measurements/eventlog/types.js';
import { ReplayError, assertReplayMatches, verifyAgainst } from '../../measurements/eventlog/verify.js';
import type { PcrValues } from '../../measurements/pcr-banks.js';
import { h, hex, toHexStr } from './helpers.js';
import { fakeAuthenticode, ovmfLikeLog } from './ovmf-like-log.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const roundTrip = (log: EventLog): ReturnType<typeof decodeEventLog> => decodeEventLog(encodeEventLog(log));
const LAB_PARSER = '/work/shared/lab/measured-boot/eventlog.py';

describe('replayEventLog on an OVMF-shaped log', () => {
  const log = roundTrip(ovmfLikeLog());
  const replay = replayEventLog(log);
  const ext = (alg: string, ...digests: Uint8Array[]): Uint8Array =>
    digests.reduce((pcr, d) => h(alg, pcr, d), new Uint8Array(h(alg, '').length));

  it('computes PCR 4, 5, 7 and 11 like an independent extend', () => {
    expect(replay.banks).toEqual(['sha1', 'sha256', 'sha384']);
    expect(replay.extendedPcrs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 11]);
    for (const alg of replay.banks) {
      const sep = h(alg, hex`00000000`);
      expect(replay.pcrs[alg]!.get(4)).toEqual(
        ext(alg, h(alg, 'Calling EFI Application from Boot Option'), sep, fakeAuthenticode([alg])[alg]!),
      );
      expect(replay.pcrs[alg]!.get(5)).toEqual(
        ext(
          alg,
          sep,
          h(alg, log.events[18]!.data),
          h(alg, 'Exit Boot Services Invocation'),
          h(alg, 'Exit Boot Services Returned with Success'),
        ),
      );
      expect(replay.pcrs[alg]!.get(7)).toEqual(
        ext(alg, ...log.events.slice(3, 9).map((e) => h(alg, e.data))),
      );
      expect(replay.pcrs[alg]!.get(8)).toEqual(new Uint8Array(h(alg, '').length));
    }
    // §4.3 systemd-measure vector: .linux = "abc"
    expect(toHexStr(replay.pcrs.sha256!.get(11)!)).toBe(
      'add59ff908ec30e42b7f32f055c9e9831e369067aba40e64693631392fe0166b',
    );
  });

  it('flags data digests only where the digest should be H(data)', () => {
    expect(replay.events.filter((e) => e.dataDigestMatches === false)).toEqual([]);
    const checked = checkDataDigests(log.events).map((c) => c.typeName);
    expect(checked).toContain('EV_EFI_VARIABLE_BOOT'); // matched via H(VariableData)
    expect(checked).not.toContain('EV_IPL');
    expect(checked).not.toContain('EV_EFI_BOOT_SERVICES_APPLICATION');
    const tampered = { ...log.events[8]!, data: hex`ffffffff` };
    expect(tampered.typeName).toBe('EV_SEPARATOR');
    expect(dataDigestMatches(tampered)).toBe(false);
  });

  it('replays a subset of banks and rejects undeclared ones', () => {
    const only = replayEventLog(log, { banks: ['sha384'] });
    expect(Object.keys(only.pcrs)).toEqual(['sha384']);
    expect(only.pcrs.sha384).toEqual(replay.pcrs.sha384);
    expect(() => replayEventLog(log, { banks: ['sha512'] })).toThrow(
      expect.objectContaining({ code: 'USAGE' }) as Error,
    );
  });

  it.skipIf(!existsSync(LAB_PARSER) || spawnSync('python3', ['--version']).status !== 0)(
    'agrees with the lab parser eventlog.py --replay',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'nodeimg-evlog-'));
      try {
        const file = join(dir, 'log.bin');
        writeFileSync(file, encodeEventLog(log));
        const out = spawnSync('python3', [LAB_PARSER, file, '--replay'], { encoding: 'utf8' });
        expect(out.status).toBe(0);
        const lines = out.stdout.trim().split('\n');
        expect(lines).toHaveLength(3 * 24);
        for (const line of lines) {
          const [bank, pcr, value] = line.split(' ') as ['sha1' | 'sha256' | 'sha384', string, string];
          expect(toHexStr(replay.pcrs[bank]!.get(Number(pcr))!)).toBe(value);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('verifyAgainst', () => {
  const replay = replayEventLog(roundTrip(ovmfLikeLog(['sha256', 'sha384'])));
  const quoted = (): { sha256: Map<number, Uint8Array>; sha384: Map<number, Uint8Array> } => ({
    sha256: new Map(replay.pcrs.sha256!),
    sha384: new Map(replay.pcrs.sha384!),
  });

  it('accepts the matching quote and returns verified events', () => {
    const v = verifyAgainst(replay, quoted());
    expect(v).toMatchObject({ ok: true, checked: 48, mismatches: [] });
    expect(v.verifiedEvents).toHaveLength(replay.events.length);
    expect(v.verifiedEvents[0]?.verifiedBanks).toEqual(['sha256', 'sha384']);
  });

  it('reports every mismatching register at once and withholds their events', () => {
    const q = quoted();
    q.sha256.set(4, new Uint8Array(32).fill(1));
    q.sha384.set(4, new Uint8Array(48).fill(2));
    q.sha384.set(7, new Uint8Array(48).fill(3));
    const sha512: PcrValues['sha512'] = new Map([[0, new Uint8Array(64)]]);
    const v = verifyAgainst(replay, { ...q, sha512 });
    expect(v.ok).toBe(false);
    expect(v.mismatches.map((m) => [m.alg, m.pcr, m.got === undefined])).toEqual([
      ['sha256', 4, false],
      ['sha384', 4, false],
      ['sha384', 7, false],
      ['sha512', 0, true],
    ]);
    expect(v.mismatches[0]?.expected).toEqual(new Uint8Array(32).fill(1));
    expect(v.verifiedEvents.some((e) => e.pcr === 4 || e.pcr === 7 || e.pcr === 0)).toBe(false);
    expect(v.verifiedEvents.some((e) => e.pcr === 5)).toBe(true);
    expect(() => assertReplayMatches(replay, { ...q, sha512 })).toThrow(ReplayError);
    try {
      assertReplayMatches(replay, q);
    } catch (e) {
      expect(e).toMatchObject({ code: 'CHECK_FAILED', name: 'ReplayError' });
      expect((e as ReplayError).mismatches).toHaveLength(3);
      expect((e as Error).message).toContain('sha384 PCR 7: quoted 0303');
    }
  });

  it('is not ok when nothing was compared', () => {
    expect(verifyAgainst(replay, {})).toMatchObject({ ok: false, checked: 0 });
    expect(() => assertReplayMatches(replay, {})).toThrow(/no quoted PCR values/);
  });
});

describe('replayEventLog errors and quirks', () => {
  const base = ovmfLikeLog(['sha256']);
  const spec = base.specId;

  it('rejects an event without a digest for a declared bank, with its offset', () => {
    const twoBanks = ovmfLikeLog(['sha256', 'sha384']);
    const events = [...twoBanks.events];
    events[2] = { ...events[2]!, claimedDigests: { sha256: events[2]!.claimedDigests.sha256! } };
    const log = roundTrip({ ...twoBanks, events });
    let err: unknown;
    try {
      replayEventLog(log);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({
      code: 'PARSE_INVALID',
      offset: log.events[2]!.offset,
      structure: 'TCG_PCR_EVENT2 #3',
    });
    expect((err as Error).message).toContain('no sha384 digest');
    // replaying only the bank that is present works
    expect(replayEventLog(log, { banks: ['sha256'] }).events).toHaveLength(log.events.length);
  });

  it('rejects a PCR index outside 0-23 but not on EV_NO_ACTION', () => {
    const bad = roundTrip({
      ...base,
      events: [createEvent(spec, { pcr: 24, type: EV.EFI_ACTION, data: ascii('x') })],
    });
    expect(() => replayEventLog(bad)).toThrow(/PCR index 24 is out of range/);
    const noAction = roundTrip({
      ...base,
      events: [createEvent(spec, { pcr: 0xffffffff, type: EV.NO_ACTION, data: ascii('x') })],
    });
    expect(replayEventLog(noAction).events).toHaveLength(0);
  });

  it('ignores a StartupLocality after PCR 0 was extended (go-eventlog), and rejects locality > 4', () => {
    const loc = (n: number, pcr = 0): ReturnType<typeof createEvent> =>
      createEvent(spec, {
        pcr,
        type: EV.NO_ACTION,
        data: new Uint8Array([...ascii('StartupLocality\0'), n]),
      });
    const late = replayEventLog(
      roundTrip({
        ...base,
        events: [createEvent(spec, { pcr: 0, type: EV.SEPARATOR, data: hex`00000000` }), loc(3)],
      }),
    );
    expect(late.startupLocality).toBe(0);
    expect(late.warnings[0]).toContain('after PCR 0 was extended');
    const wrongPcr = replayEventLog(roundTrip({ ...base, events: [loc(3, 1)] }));
    expect(wrongPcr.warnings[0]).toContain('PCR 1');
    expect(() => replayEventLog(roundTrip({ ...base, events: [loc(7)] }))).toThrow(/StartupLocality 7/);
    const early = replayEventLog(
      roundTrip({
        ...base,
        events: [loc(3), createEvent(spec, { pcr: 0, type: EV.SEPARATOR, data: hex`00000000` })],
      }),
    );
    expect(early.pcrs.sha256!.get(0)).toEqual(
      h('sha256', hex(`${'00'.repeat(31)}03`), h('sha256', hex`00000000`)),
    );
  });

  it('never extends EV_NO_ACTION even with non-zero digests', () => {
    const ev = {
      ...createEvent(spec, { pcr: 4, type: EV.NO_ACTION, data: ascii('SP800-155 Event3') }),
      claimedDigests: { sha256: h('sha256', 'x') },
    };
    const r = replayEventLog(roundTrip({ ...base, events: [ev] }));
    expect(r.extendedPcrs).toEqual([]);
    expect(r.pcrs.sha256!.get(4)).toEqual(new Uint8Array(32));
  });
});
