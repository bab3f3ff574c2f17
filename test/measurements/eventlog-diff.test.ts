// diffEvents / formatDiff: per-PCR comparison of an expected event sequence with a log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { diffEvents } from '../../measurements/eventlog/diff.js';
import { expectedFromLog, type ExpectedEvent } from '../../measurements/eventlog/expected-event.js';
import { formatDiff } from '../../measurements/eventlog/diff-format.js';
import { EV, eventTypeName, type TcgEvent } from '../../measurements/eventlog/types.js';
import type { HashAlg } from '../../measurements/hash.js';
import { h, hex, toHexStr } from './helpers.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const utf16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(`${s}\0`, 'utf16le'));
const banks = (
  measured: Uint8Array,
  algs: readonly HashAlg[] = ['sha1', 'sha256', 'sha384'],
): Partial<Record<HashAlg, Uint8Array>> => Object.fromEntries(algs.map((a) => [a, h(a, measured)]));

/** A log event as decodeEventLog returns it (index/offset made up, digests = H(measured)). */
function ev(
  index: number,
  pcr: number,
  type: number,
  data: Uint8Array,
  measured: Uint8Array = data,
): TcgEvent {
  // EV_NO_ACTION digests are all zero (never extended).
  const claimedDigests =
    type === EV.NO_ACTION
      ? { sha1: new Uint8Array(20), sha256: new Uint8Array(32), sha384: new Uint8Array(48) }
      : banks(measured);
  return {
    index,
    offset: 100 * index,
    pcr,
    untrustedType: type,
    typeName: eventTypeName(type),
    claimedDigests,
    data,
  };
}

/** TCG_PCClientTaggedEvent {u32 id, u32 size, data}. */
function tagged(id: number, text: string): Uint8Array {
  const d = ascii(`${text}\0`);
  const out = new Uint8Array(8 + d.length);
  new DataView(out.buffer).setUint32(0, id, true);
  new DataView(out.buffer).setUint32(4, d.length, true);
  out.set(d, 8);
  return out;
}

function exp(
  pcr: number,
  type: number,
  measured: Uint8Array,
  description: string,
  data?: Uint8Array,
): ExpectedEvent {
  return { pcr, type, digests: banks(measured, ['sha256']), data, description };
}

/** A small OVMF + systemd-stub shaped log: PCR 4 (3 events), 5 (2), 9 (2), 12 (0) interleaved. */
function smallLog(): TcgEvent[] {
  const sep = hex`00000000`;
  return [
    ev(1, 4, EV.EFI_ACTION, ascii('Calling EFI Application from Boot Option')),
    ev(2, 4, EV.SEPARATOR, sep),
    ev(3, 5, EV.SEPARATOR, sep),
    ev(4, 4, EV.EFI_BOOT_SERVICES_APPLICATION, hex`1880 6b3d 0000 0000 {24 x 00}`, ascii('uki authenticode')),
    ev(5, 9, EV.EVENT_TAG, tagged(0x8f3b22ed, 'LOADED_IMAGE::LoadOptions'), ascii('console=ttyS0')),
    ev(6, 9, EV.EVENT_TAG, tagged(0x8f3b22ec, 'Linux initrd'), ascii('initrd bytes')),
    ev(7, 5, EV.EFI_ACTION, ascii('Exit Boot Services Invocation')),
  ];
}

const realLog = (variant: string): ReturnType<typeof decodeEventLog> =>
  decodeEventLog(
    new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'eventlogs', `${variant}.bin`))),
  );

describe('diffEvents', () => {
  const log = smallLog();
  const expected = expectedFromLog(log);

  it('finds nothing between a log and itself', () => {
    const r = diffEvents(expected, log);
    expect(r.ok).toBe(true);
    expect(r.pcrs.map((p) => [p.pcr, p.expectedEvents, p.actualEvents, p.ok])).toEqual([
      [4, 3, 3, true],
      [5, 2, 2, true],
      [9, 2, 2, true],
    ]);
    expect(formatDiff(r)).toBe(
      'same events: PCR 4 (3), PCR 5 (2), PCR 9 (2)\nthe event sequences agree on all 3 compared PCR(s)\n',
    );
  });

  it('names a changed digest: position within the PCR, log-wide index, both digests', () => {
    const actual = log.map((e) =>
      e.index === 4 ? { ...e, claimedDigests: banks(ascii('another UKI')) } : e,
    );
    const r = diffEvents(
      [
        ...expected.slice(0, 3),
        { ...expected[3]!, description: 'Authenticode of EFI/BOOT/BOOTX64.EFI' },
        ...expected.slice(4),
      ],
      actual,
    );
    expect(r.ok).toBe(false);
    const p4 = r.pcrs.find((p) => p.pcr === 4)!;
    expect(p4.firstMismatch).toMatchObject({ position: 3, reason: 'digest', bank: 'sha256' });
    expect(p4.firstMismatch!.actual!.index).toBe(4);
    const want = toHexStr(h('sha256', ascii('uki authenticode'))).slice(0, 12);
    const got = toHexStr(h('sha256', ascii('another UKI'))).slice(0, 12);
    expect(p4.firstMismatch!.message).toBe(
      `PCR 4 event 3 (log event #4): expected EV_EFI_BOOT_SERVICES_APPLICATION Authenticode of EFI/BOOT/BOOTX64.EFI = sha256:${want}…, ` +
        `got EV_EFI_BOOT_SERVICES_APPLICATION sha256:${got}… (image at 0x3d6b8018 length 0x0 link 0x0 devicePath[0] (none))`,
    );
    expect(r.pcrs.filter((p) => !p.ok).map((p) => p.pcr)).toEqual([4]);
  });

  it('names a missing event', () => {
    const r = diffEvents(
      expected,
      log.filter((e) => e.index !== 6),
    );
    const p9 = r.pcrs.find((p) => p.pcr === 9)!;
    expect(p9).toMatchObject({
      ok: false,
      expectedEvents: 2,
      actualEvents: 1,
      firstMismatch: { position: 2, reason: 'missing', count: 1 },
    });
    expect(p9.firstMismatch!.actual).toBeUndefined();
    expect(p9.firstMismatch!.message).toBe(
      `PCR 9: missing event 2 (EV_EVENT_TAG tag 0x8f3b22ec INITRD_EVENT_TAG_ID (Linux initrd): "Linux initrd" = sha256:${toHexStr(h('sha256', ascii('initrd bytes'))).slice(0, 12)}…); expected 2 event(s), got 1`,
    );
  });

  it('names extra events, on a PCR with none expected', () => {
    const actual = [
      ...log,
      ev(8, 12, EV.IPL, utf16('console=ttyS0'), utf16('console=ttyS0')),
      ev(9, 12, EV.IPL, utf16('x')),
    ];
    const r = diffEvents(expected, actual);
    const p12 = r.pcrs.find((p) => p.pcr === 12)!;
    expect(p12.firstMismatch).toMatchObject({
      position: 1,
      reason: 'extra',
      count: 2,
      actual: { index: 8, pcr: 12 },
    });
    expect(p12.firstMismatch!.message).toBe(
      `PCR 12: expected 0 event(s), got 2 extra, from event 1 (log event #8): EV_IPL sha256:${toHexStr(h('sha256', utf16('console=ttyS0'))).slice(0, 12)}… ("console=ttyS0")`,
    );
  });

  it('names a changed type before a changed digest', () => {
    const actual = log.map((e) =>
      e.index === 2
        ? { ...e, untrustedType: EV.ACTION, typeName: 'EV_ACTION', claimedDigests: banks(hex`ffffffff`) }
        : e,
    );
    const m = diffEvents(expected, actual).pcrs.find((p) => p.pcr === 4)!.firstMismatch!;
    expect(m).toMatchObject({ position: 2, reason: 'type' });
    expect(m.message).toMatch(
      /^PCR 4 event 2 \(log event #2\): expected EV_SEPARATOR separator 00000000 = sha256:df3f619804a9…, got EV_ACTION sha256:ad95131bc0b7… \(/,
    );
  });

  it('compares data only where the expectation has it', () => {
    const moved = log.map((e) => (e.index === 4 ? { ...e, data: hex`1890 6b3d 0000 0000 {24 x 00}` } : e));
    const strict = expectedFromLog(log, { strictData: true });
    expect(diffEvents(strict, moved).ok).toBe(false);
    const m = diffEvents(strict, moved).pcrs.find((p) => p.pcr === 4)!.firstMismatch!;
    expect(m).toMatchObject({ position: 3, reason: 'data', dataOffset: 1 });
    expect(m.message).toBe(
      'PCR 4 event 3 (log event #4): EV_EFI_BOOT_SERVICES_APPLICATION digests agree but the data differs at byte 1 (expected 0x80, got 0x90): ' +
        'expected image at 0x3d6b8018 length 0x0 link 0x0 devicePath[0] (none), got image at 0x3d6b9018 length 0x0 link 0x0 devicePath[0] (none)',
    );
    // expectedFromLog leaves image load data (memory addresses) out unless strictData.
    expect(expected[3]!.data).toBeUndefined();
    expect(strict[3]!.data).toEqual(log[3]!.data);
    expect(diffEvents(expected, moved).ok).toBe(true);
    // Shorter data differs at its end.
    const cut = log.map((e) => (e.index === 7 ? { ...e, data: e.data.subarray(0, 10) } : e));
    expect(diffEvents(expected, cut).pcrs.find((p) => p.pcr === 5)!.firstMismatch).toMatchObject({
      reason: 'data',
      dataOffset: 10,
    });
  });

  it('ignores how events of different PCRs interleave', () => {
    const reordered = [log[2]!, log[6]!, log[4]!, log[0]!, log[5]!, log[1]!, log[3]!];
    expect(diffEvents(expected, reordered).ok).toBe(true);
    const swapped = [log[1]!, log[0]!, ...log.slice(2)];
    expect(diffEvents(expected, swapped).pcrs.find((p) => p.pcr === 4)!.firstMismatch).toMatchObject({
      position: 1,
      reason: 'type',
    });
  });

  it('compares only the selected PCRs and banks, and banks present in both', () => {
    const actual = log.map((e) =>
      e.index === 4 ? { ...e, claimedDigests: { ...e.claimedDigests, sha1: new Uint8Array(20) } } : e,
    );
    const full = expectedFromLog(log);
    expect(diffEvents(full, actual).ok).toBe(false);
    expect(diffEvents(full, actual, { banks: ['sha256', 'sha384'] }).ok).toBe(true);
    expect(diffEvents(full, actual, { pcrs: [5, 9] }).pcrs.map((p) => p.pcr)).toEqual([5, 9]);
    expect(diffEvents(full, actual, { pcrs: [5, 9] }).ok).toBe(true);
    expect(diffEvents(full, actual, { pcrs: [8] })).toEqual({
      ok: true,
      pcrs: [{ pcr: 8, ok: true, expectedEvents: 0, actualEvents: 0 }],
    });
    // A prediction with only sha256 digests is compared on sha256.
    const sha256Only = full.map((e) => ({ ...e, digests: { sha256: e.digests.sha256! } }));
    expect(diffEvents(sha256Only, actual).ok).toBe(true);
    // A prediction in a bank the log lacks cannot be confirmed.
    const sha512Only = full.map((e) => ({ ...e, digests: { sha512: new Uint8Array(64) } }));
    const m = diffEvents(sha512Only, log).pcrs[0]!.firstMismatch!;
    expect(m).toMatchObject({ position: 1, reason: 'digest' });
    expect(m.bank).toBeUndefined();
    expect(m.message).toContain('no bank to compare (expected sha512; the log has sha256, sha384, sha1)');
  });

  it('skips EV_NO_ACTION events but compares StartupLocality', () => {
    const noAction = ev(10, 0, EV.NO_ACTION, ascii('SP800-155 Event3 ...........'));
    const locality = (n: number): TcgEvent =>
      ev(11, 0, EV.NO_ACTION, new Uint8Array([...ascii('StartupLocality\0'), n]));
    expect(diffEvents(expected, [noAction, ...log]).ok).toBe(true);
    expect(diffEvents(expectedFromLog([locality(3), ...log]), [locality(3), ...log]).ok).toBe(true);
    const m = diffEvents(expectedFromLog([locality(3), ...log]), [locality(0), ...log]).pcrs[0]!;
    expect(m).toMatchObject({ pcr: 0, firstMismatch: { reason: 'data', dataOffset: 16 } });
  });

  it('takes predictions on both sides (no log index)', () => {
    const a = [exp(11, EV.IPL, ascii('.linux\0'), '.linux section name', utf16('.linux'))];
    const b = [exp(11, EV.IPL, ascii('.linuy\0'), 'something else', utf16('.linux'))];
    const m = diffEvents(a, b).pcrs[0]!.firstMismatch!;
    expect(m.message).toMatch(
      /^PCR 11 event 1: expected EV_IPL \.linux section name = sha256:0da293e37ad5…, got EV_IPL sha256:[0-9a-f]{12}… \(something else\)$/,
    );
  });

  it('formats a failing diff', () => {
    const r = diffEvents(
      expected,
      log.filter((e) => e.index !== 7),
    );
    expect(formatDiff(r)).toBe(
      [
        `PCR 5: missing event 2 (EV_EFI_ACTION "Exit Boot Services Invocation" = sha256:d8043d6b7b85…); expected 2 event(s), got 1`,
        'same events: PCR 4 (3), PCR 9 (2)',
        'the event sequences part on 1 of 3 compared PCR(s): 5',
        '',
      ].join('\n'),
    );
  });
});

describe('diffEvents on the real lab logs', () => {
  const direct = realLog('direct');

  it('direct vs sdboot: systemd-boot is PCR 4 event 3, and PCR 12 gets the loader cmdline', () => {
    const r = diffEvents(expectedFromLog(direct.events), realLog('sdboot').events);
    expect(r.pcrs.filter((p) => !p.ok).map((p) => p.pcr)).toEqual([4, 12]);
    const m4 = r.pcrs.find((p) => p.pcr === 4)!.firstMismatch!;
    expect(m4).toMatchObject({ position: 3, reason: 'digest', bank: 'sha256', actual: { index: 23 } });
    expect(m4.message).toMatch(
      /^PCR 4 event 3 \(log event #23\): expected EV_EFI_BOOT_SERVICES_APPLICATION .*\\EFI\\BOOT\\BOOTX64\.EFI = sha256:55b17fa34916…, got EV_EFI_BOOT_SERVICES_APPLICATION sha256:7843e376e573… \(image at /,
    );
    expect(r.pcrs.find((p) => p.pcr === 12)!.firstMismatch!.message).toMatch(
      /^PCR 12: expected 0 event\(s\), got 2 extra, from event 1 \(log event #25\): EV_IPL sha256:a8a7090c096e… \("console=ttyS0 quiet panic=-1"\)$/,
    );
  });

  it('direct vs direct-sb: Secure Boot shows in PCR 7 event 1 (and PCR 0, 4)', () => {
    const r = diffEvents(expectedFromLog(direct.events), realLog('direct-sb').events);
    expect(
      r.pcrs.filter((p) => !p.ok).map((p) => [p.pcr, p.firstMismatch!.reason, p.firstMismatch!.position]),
    ).toEqual([
      [0, 'digest', 2],
      [4, 'missing', 4],
      [7, 'digest', 1],
    ]);
    expect(r.pcrs.find((p) => p.pcr === 7)!.firstMismatch!.message).toContain(
      'SecureBoot = 0 = sha256:115aa827dbcc…, got EV_EFI_VARIABLE_DRIVER_CONFIG sha256:',
    );
  });

  it('every interleaving of the per-PCR sequences compares equal; dropping an event breaks only its PCR', () => {
    const expected = expectedFromLog(direct.events);
    const pcrs = [...new Set(direct.events.map((e) => e.pcr))];
    const perPcr = pcrs.map((p) => direct.events.filter((e) => e.pcr === p));
    fc.assert(
      fc.property(
        fc.array(fc.nat(pcrs.length - 1), {
          minLength: direct.events.length,
          maxLength: direct.events.length,
        }),
        fc.nat(direct.events.length - 1),
        (picks, drop) => {
          const queues = perPcr.map((q) => [...q]);
          const merged: TcgEvent[] = [];
          for (const pick of picks) {
            const q = queues[pick]!.length > 0 ? queues[pick]! : queues.find((x) => x.length > 0)!;
            merged.push(q.shift()!);
          }
          expect(diffEvents(expected, merged).ok).toBe(true);
          const gone = direct.events[drop]!;
          const r = diffEvents(
            expected,
            merged.filter((e) => e !== gone),
          );
          const position = direct.events.filter((e) => e.pcr === gone.pcr).indexOf(gone) + 1;
          expect(r.pcrs.filter((p) => !p.ok).map((p) => p.pcr)).toEqual([gone.pcr]);
          expect(r.pcrs.find((p) => p.pcr === gone.pcr)!.firstMismatch!.position).toBeGreaterThanOrEqual(
            position,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
