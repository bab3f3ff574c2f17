import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { HASH_ALGS, type HashAlg } from '../../measurements/hash.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { describeEvent } from '../../measurements/eventlog/describe.js';
import { createEvent, encodeEventLog } from '../../measurements/eventlog/encode.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { buildSpecIdEvent, encodeSpecIdEvent } from '../../measurements/eventlog/spec-id.js';
import { EV } from '../../measurements/eventlog/types.js';
import { verifyAgainst } from '../../measurements/eventlog/verify.js';
import { banksArb, logArb } from './log-arbitraries.js';
import { h } from './helpers.js';

const RUNS = { numRuns: 400 };

/** Runs fn; returns 'ok' or the NodeimgError code; anything else fails the property. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof NodeimgError) return e.code;
    throw e;
  }
}

describe('event log properties', () => {
  it('decode(encode(log)) gives the log back and encode(decode(x)) == x', () => {
    fc.assert(
      fc.property(logArb, (log) => {
        const bytes = encodeEventLog(log);
        const decoded = decodeEventLog(bytes);
        expect(decoded.headerPcr).toBe(log.headerPcr);
        expect(decoded.specId).toEqual(log.specId);
        expect(
          decoded.events.map(({ pcr, untrustedType, claimedDigests, data }) => ({
            pcr,
            untrustedType,
            claimedDigests,
            data,
          })),
        ).toEqual(log.events);
        expect(decoded.events.map((e) => Object.keys(e.claimedDigests))).toEqual(
          log.events.map((e) => Object.keys(e.claimedDigests)),
        );
        expect(decoded.trailing?.bytes).toEqual(log.trailing?.bytes);
        expect(encodeEventLog(decoded)).toEqual(bytes);
      }),
      RUNS,
    );
  });

  it('replay of a simulated log equals extending the banks directly (node:crypto)', () => {
    const step = fc.record({
      pcr: fc.integer({ min: 0, max: 23 }),
      type: fc.constantFrom(
        EV.SEPARATOR,
        EV.EFI_ACTION,
        EV.IPL,
        EV.EVENT_TAG,
        EV.NO_ACTION,
        EV.EFI_GPT_EVENT,
      ),
      data: fc.uint8Array({ maxLength: 48 }),
      measured: fc.option(fc.uint8Array({ maxLength: 48 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        banksArb,
        fc.constantFrom(0, 3, 4),
        fc.array(step, { maxLength: 30 }),
        (banks, locality, steps) => {
          const specId = buildSpecIdEvent(banks);
          const locEvent = createEvent(specId, {
            pcr: 0,
            type: EV.NO_ACTION,
            data: new Uint8Array([...new TextEncoder().encode('StartupLocality\0'), locality]),
          });
          const events = [
            locEvent,
            ...steps.map((s) =>
              createEvent(specId, {
                pcr: s.pcr,
                type: s.type,
                data: s.data,
                ...(s.measured ? { measured: s.measured } : {}),
              }),
            ),
          ];
          // the simulator: independent extend per bank
          const expected = new Map<HashAlg, Uint8Array[]>();
          for (const alg of banks) {
            const size = HASH_ALGS[alg].size;
            const regs: Uint8Array[] = Array.from({ length: 24 }, (_, i) =>
              new Uint8Array(size).fill(i >= 17 && i <= 22 ? 0xff : 0),
            );
            regs[0]![size - 1] = locality;
            for (const s of steps)
              if (s.type !== EV.NO_ACTION) regs[s.pcr] = h(alg, regs[s.pcr]!, h(alg, s.measured ?? s.data));
            expected.set(alg, regs);
          }
          const replay = replayEventLog(decodeEventLog(encodeEventLog({ headerPcr: 0, specId, events })));
          for (const alg of banks) expect([...replay.pcrs[alg]!.values()]).toEqual(expected.get(alg));
          expect(replay.events).toHaveLength(steps.filter((s) => s.type !== EV.NO_ACTION).length);
          const quoted = Object.fromEntries(
            banks.map((a) => [a, new Map(expected.get(a)!.map((v, i) => [i, v]))]),
          );
          const v = verifyAgainst(replay, quoted);
          expect(v.ok).toBe(true);
          expect(v.verifiedEvents).toHaveLength(replay.events.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('arbitrary bytes only ever produce a NodeimgError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(['ok', 'PARSE_TRUNCATED', 'PARSE_INVALID', 'PARSE_LIMIT', 'PARSE_UNSUPPORTED']).toContain(
          outcome(() => decodeEventLog(bytes)),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary records after a valid header only ever produce a NodeimgError; decoded logs replay or fail cleanly', () => {
    const header = fc.constantFrom(...(['sha256', 'sha384', 'sha1'] as const)).map((a) => {
      const spec = encodeSpecIdEvent(buildSpecIdEvent([a]));
      const rec = new Uint8Array(32 + spec.length);
      new DataView(rec.buffer).setUint32(4, 3, true);
      new DataView(rec.buffer).setUint32(28, spec.length, true);
      rec.set(spec, 32);
      return rec;
    });
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 200 }), (head, tail) => {
        const bytes = new Uint8Array([...head, ...tail]);
        const res = outcome(() => {
          const log = decodeEventLog(bytes);
          for (const ev of log.events) describeEvent(ev);
          replayEventLog(log);
        });
        expect(['ok', 'PARSE_TRUNCATED', 'PARSE_INVALID', 'PARSE_LIMIT']).toContain(res);
      }),
      { numRuns: 2000 },
    );
  });

  it('describeEvent never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...Object.values(EV)), fc.integer({ min: 0, max: 0xffffffff })),
        fc.uint8Array({ maxLength: 120 }),
        (type, data) => {
          expect(typeof describeEvent({ untrustedType: type, data })).toBe('string');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
