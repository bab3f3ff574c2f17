// Mutation fuzzing of the event-log decoder/replayer: every input must end in a result or a
// NodeimgError, and every input that decodes must re-encode to exactly the same bytes.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { describeEvent } from '../../measurements/eventlog/describe.js';
import { encodeEventLog } from '../../measurements/eventlog/encode.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { ovmfLikeLog } from './ovmf-like-log.js';
import { prngFn } from '../helpers/prng.js';

const ITERATIONS = 12_000;

interface Seed {
  bytes: Uint8Array;
  /** Per event: offsets of the digest count, the first digest's alg id, and EventSize. */
  fields: { count: number; alg: number; size: number }[];
  specIdNumAlgs: number;
}

function seedOf(bytes: Uint8Array): Seed {
  const log = decodeEventLog(bytes);
  const fields = log.events.map((ev) => {
    const end = ev.index < log.events.length ? log.events[ev.index]!.offset : log.size;
    return { count: ev.offset + 8, alg: ev.offset + 12, size: end - ev.data.length - 4 };
  });
  return { bytes, fields, specIdNumAlgs: 32 + 24 };
}

// Real lab logs (test/fixtures/eventlogs, when recorded) join the synthetic seeds.
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'eventlogs');
const REAL = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')) : [];
const SEEDS: Seed[] = [
  seedOf(encodeEventLog(ovmfLikeLog())),
  seedOf(encodeEventLog(ovmfLikeLog(['sha256']))),
  seedOf(encodeEventLog(ovmfLikeLog(['sha1', 'sha256', 'sha384', 'sha512']))),
  ...REAL.map((f) => seedOf(new Uint8Array(readFileSync(join(FIXTURES, f))))),
];

const HUGE = [0xffffffff, 0x7fffffff, 0xbdbbffff, 0x01000001, 0x10000, 0x100];

function mutate(rnd: () => number, seed: Seed): { kind: string; bytes: Uint8Array } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const b = seed.bytes.slice();
  const dv = new DataView(b.buffer);
  const field = pick(seed.fields);
  switch (Math.floor(rnd() * 10)) {
    case 0: {
      for (let n = 1 + Math.floor(rnd() * 8); n > 0; n--)
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return { kind: 'byte flips', bytes: b };
    }
    case 1:
      dv.setUint32(field.size, pick([...HUGE, b.length - field.size, Math.floor(rnd() * 2 ** 32)]), true);
      return { kind: 'huge eventSize', bytes: b };
    case 2:
      dv.setUint32(field.count, pick([...HUGE, 0, 3, 5, Math.floor(rnd() * 2 ** 32)]), true);
      return { kind: 'huge digestCount', bytes: b };
    case 3:
      dv.setUint16(field.alg, pick([0x0000, 0x0012, 0x0027, 0xffff, 0x000d, 0x0004]), true);
      return { kind: 'unknown alg id', bytes: b };
    case 4:
      return { kind: 'truncation', bytes: b.slice(0, Math.floor(rnd() * b.length)) };
    case 5: {
      const fill = pick([0x00, 0xff]);
      const pad = new Uint8Array(1 + Math.floor(rnd() * 64)).fill(fill);
      if (rnd() < 0.3) pad[Math.floor(rnd() * pad.length)] = 0x41;
      return { kind: 'trailing padding', bytes: new Uint8Array([...b, ...pad]) };
    }
    case 6: {
      const from = Math.floor(rnd() * b.length);
      const len = Math.floor(rnd() * 200);
      const at = Math.floor(rnd() * b.length);
      return {
        kind: 'splice',
        bytes: new Uint8Array([...b.subarray(0, at), ...b.subarray(from, from + len), ...b.subarray(at)]),
      };
    }
    case 7:
      // Spec ID header: numberOfAlgorithms, an algorithm id/size, or vendorInfoSize
      if (rnd() < 0.5) dv.setUint32(seed.specIdNumAlgs, pick([0, 1, 5, 17, 0xffffffff]), true);
      else b[seed.specIdNumAlgs + 4 + Math.floor(rnd() * 8)] = Math.floor(rnd() * 256);
      return { kind: 'spec id header', bytes: b };
    case 8:
      dv.setUint32(field.count - 8, pick([24, 0xffffffff, 0x80000000, 0]), true);
      return { kind: 'pcr index', bytes: b };
    default: {
      const r = new Uint8Array(Math.floor(rnd() * 512));
      for (let i = 0; i < r.length; i++) r[i] = Math.floor(rnd() * 256);
      if (rnd() < 0.5) r.set(b.subarray(0, Math.min(r.length, 32 + 37)));
      return { kind: 'random', bytes: r };
    }
  }
}

describe('fuzz: mutated event logs', () => {
  it(`${ITERATIONS} inputs end in a result or a NodeimgError`, () => {
    const rnd = prngFn(0x5eed);
    const counts = new Map<string, number>();
    const bump = (k: string): void => void counts.set(k, (counts.get(k) ?? 0) + 1);
    const started = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const { kind, bytes } = mutate(rnd, SEEDS[i % SEEDS.length]!);
      bump(`input: ${kind}`);
      try {
        const log = decodeEventLog(bytes);
        // any decodable input re-encodes to the same bytes
        if (!Buffer.from(encodeEventLog(log)).equals(bytes))
          throw new Error(`iteration ${i} (${kind}): re-encoding differs`);
        for (const ev of log.events)
          if (typeof describeEvent(ev, { uintnSize: log.specId.uintnSize }) !== 'string')
            throw new Error('no description');
        bump('decode ok');
        replayEventLog(log);
        bump('replay ok');
      } catch (e) {
        if (!(e instanceof NodeimgError))
          throw new Error(`iteration ${i} (${kind}) threw a non-NodeimgError`, { cause: e });
        bump(`error ${e.code}`);
      }
    }
    const ms = Math.round(performance.now() - started);
    console.log(
      `fuzz-eventlog: ${ITERATIONS} inputs (${SEEDS.length} seed logs, ${REAL.length} real) in ${ms} ms\n${[
        ...counts,
      ]
        .sort()
        .map(([k, n]) => `  ${k}: ${n}`)
        .join('\n')}`,
    );
    expect(counts.get('decode ok') ?? 0).toBeGreaterThan(100);
    expect(counts.get('error PARSE_TRUNCATED') ?? 0).toBeGreaterThan(100);
    expect(counts.get('error PARSE_LIMIT') ?? 0).toBeGreaterThan(100);
    expect(counts.get('error PARSE_INVALID') ?? 0).toBeGreaterThan(100);
  });
});
