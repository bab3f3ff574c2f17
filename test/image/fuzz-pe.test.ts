// Hostile-input fuzzing of the PE codec: >= 10,000 inputs mutated from small valid images (PE32+
// and PE32 with .sdmagic, a bzImage-like .linux, .osrel and an Authenticode signature with an
// X.509 certificate), plus random bytes. Every operation must end with a value or a NodeimgError;
// nothing may throw anything else, hang, or leave an unhandled rejection. Deterministic seeds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { fromBytes, type ByteSource } from '../../image/formats/source.js';
import {
  authenticodeHash,
  detectPe,
  parseCertificates,
  parsePe,
  readSectionText,
  sectionData,
  sectionDigest,
} from '../../image/formats/pe/index.js';
import { authenticodeSignedData, TEST_CERT_DER } from '../helpers/der.js';
import { buildPe, prngBytes, winCertificates } from '../helpers/synthetic-pe.js';
import { prngFn } from '../helpers/prng.js';

const MUTATED = 10_000;
const RANDOM = 2_000;
const SEED = 0x5eed;

function kernelLike(): Uint8Array {
  const b = prngBytes(0x600, 5);
  b.set(new TextEncoder().encode('HdrS'), 0x202);
  new DataView(b.buffer).setUint16(0x206, 0x020f, true);
  new DataView(b.buffer).setUint16(0x20e, 0x100, true);
  b.set(new TextEncoder().encode('6.1.0-fuzz (x@y) #1\0'), 0x300);
  return b;
}

function base(format: 'PE32' | 'PE32+'): Uint8Array {
  const sig = authenticodeSignedData(prngBytes(32, 9), [TEST_CERT_DER]);
  return buildPe({
    format,
    sections: [
      { name: '.text', data: prngBytes(0x300, 1) },
      { name: '.sdmagic', data: new TextEncoder().encode('#### LoaderInfo: systemd-stub 256.7 ####\0') },
      { name: '.osrel', data: new TextEncoder().encode('ID=fuzz\n') },
      { name: '.data', data: prngBytes(0x80, 2), virtualSize: 0x1800 },
      { name: '.linux', data: kernelLike() },
    ],
    trailing: prngBytes(11, 3),
    certTable: winCertificates([sig]),
  });
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const INTERESTING = [
  0, 1, 2, 7, 8, 0x3c, 0x40, 0x60, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x400, 0xfff, 0x1000, 0x7fff, 0x8000,
  0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
];

/** One mutation strategy per call; returns the mutated copy and the strategy name. */
function mutate(r: Rand, seedBytes: Uint8Array): [Uint8Array, string] {
  let b = seedBytes.slice();
  const v = (): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const lfanew = 0x80;
  const opt = lfanew + 24;
  const plus = v().getUint16(opt, true) === 0x20b;
  const table = opt + v().getUint16(lfanew + 20, true);
  const nsec = v().getUint16(lfanew + 6, true);
  const sect = (i: number, field: number): number => table + 40 * i + field;
  const fields = [
    0x3c,
    lfanew + 6,
    lfanew + 8,
    lfanew + 12,
    lfanew + 20,
    opt,
    opt + 56,
    opt + 60,
    opt + 64,
    opt + (plus ? 108 : 92),
    opt + (plus ? 112 : 96) + 32,
    opt + (plus ? 112 : 96) + 36,
    ...Array.from({ length: nsec }, (_, i) => [sect(i, 8), sect(i, 12), sect(i, 16), sect(i, 20)]).flat(),
  ];
  const set32 = (at: number, val: number): void => {
    if (at + 4 <= b.length) v().setUint32(at, val >>> 0, true);
  };
  const pick = <T>(xs: readonly T[]): T => xs[int(r, xs.length)] as T;
  const strategy = int(r, 10);
  switch (strategy) {
    case 0: // bit flips anywhere
      for (let n = 1 + int(r, 8); n > 0; n--) {
        const at = int(r, b.length);
        b[at] = (b[at] as number) ^ (1 << int(r, 8));
      }
      return [b, 'bitflip'];
    case 1: // bit flips in the headers
      for (let n = 1 + int(r, 4); n > 0; n--) {
        const at = int(r, Math.min(b.length, 0x400));
        b[at] = (b[at] as number) ^ (1 << int(r, 8));
      }
      return [b, 'header-bitflip'];
    case 2: // an interesting value in a header field
      set32(
        pick(fields),
        r() < 0.7 ? pick(INTERESTING) : pick([b.length, b.length - 1, b.length + 1, int(r, 2 ** 32)]),
      );
      return [b, 'field'];
    case 3: // huge or odd NumberOfSections / SizeOfOptionalHeader (u16 fields)
      v().setUint16(
        pick([lfanew + 6, lfanew + 20]),
        pick([0, 1, 95, 96, 97, 0xff, 0x1000, 0xffff, int(r, 0x10000)]),
        true,
      );
      return [b, 'counts'];
    case 4: // truncation
      return [b.slice(0, int(r, b.length)), 'truncate'];
    case 5: // overlapping sections: one section's raw range copied onto another
      if (nsec >= 2) {
        const i = int(r, nsec);
        const j = int(r, nsec);
        set32(sect(i, 20), v().getUint32(sect(j, 20), true) + int(r, 3) * 0x100);
        set32(sect(i, 16), v().getUint32(sect(j, 16), true) * (1 + int(r, 3)));
      }
      return [b, 'overlap'];
    case 6: // offsets and sizes past the end of the file
      set32(sect(int(r, nsec), pick([16, 20, 8])), b.length - int(r, 0x400) + int(r, 0x800));
      return [b, 'past-end'];
    case 7: {
      // the certificate directory pointing anywhere
      const dir = opt + (plus ? 112 : 96) + 32;
      set32(dir, int(r, b.length + 64));
      set32(dir + 4, r() < 0.5 ? int(r, b.length + 64) : pick(INTERESTING));
      return [b, 'certdir'];
    }
    case 8: {
      // damage inside the certificate table (DER walker and WIN_CERTIFICATE walk)
      const certOff = v().getUint32(opt + (plus ? 112 : 96) + 32, true);
      for (let n = 1 + int(r, 3); n > 0 && certOff < b.length; n--) {
        const at = certOff + int(r, b.length - certOff);
        b[at] =
          r() < 0.5
            ? (b[at] as number) ^ (1 << int(r, 8))
            : pick([0, 0x80, 0x81, 0x84, 0x85, 0xff, 0x30, 0xa0, 0x1f]);
      }
      return [b, 'signature'];
    }
    default: {
      // splice: a block copied elsewhere, or random bytes appended
      if (r() < 0.5) {
        const from = int(r, b.length);
        const len = int(r, 256);
        b.copyWithin(int(r, b.length), from, from + len);
      } else {
        const extra = prngBytes(int(r, 64), int(r, 1e9));
        const c = new Uint8Array(b.length + extra.length);
        c.set(b);
        c.set(extra, b.length);
        b = c;
      }
      return [b, 'splice'];
    }
  }
}

type Counts = Record<string, number>;
const bump = (c: Counts, k: string): void => {
  c[k] = (c[k] ?? 0) + 1;
};

/** Runs one step; a failure must be a NodeimgError (recorded by code), anything else fails the test. */
async function step<T>(counts: Counts, name: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    const v = await fn();
    bump(counts, `${name}:ok`);
    return v;
  } catch (err) {
    if (!(err instanceof NodeimgError))
      throw new Error(`${name} threw a non-NodeimgError: ${String(err)}`, { cause: err });
    bump(counts, `${name}:${err.code}`);
    return undefined;
  }
}

async function exercise(counts: Counts, bytes: Uint8Array): Promise<void> {
  const src: ByteSource = fromBytes(bytes, 'fuzz');
  const pe = await step(counts, 'parsePe', () => parsePe(src));
  if (!pe) return;
  await step(counts, 'authenticode', () => authenticodeHash(src, pe, ['sha256', 'sha1']));
  await step(counts, 'certificates', () => parseCertificates(src, pe));
  for (const s of pe.sections) {
    await step(counts, 'sectionDigest', () => sectionDigest(src, pe, s, ['sha256']));
    if (s.virtualSize < 0x10000) await step(counts, 'sectionData', () => sectionData(src, pe, s));
  }
  await step(counts, 'text', () => readSectionText(src, pe, '.osrel'));
  await step(counts, 'detect', () => detectPe(src, pe));
}

describe('PE fuzzing', () => {
  it(`${MUTATED} mutated images end in a value or a NodeimgError`, async () => {
    const bases = [base('PE32+'), base('PE32')];
    // Sanity: the unmutated bases pass every step.
    for (const b of bases) {
      const c: Counts = {};
      await exercise(c, b);
      expect(Object.keys(c).every((k) => k.endsWith(':ok'))).toBe(true);
      const d = await detectPe(fromBytes(b), await parsePe(fromBytes(b)));
      expect(d.systemd?.version).toBe('256.7');
      expect(d.kernel?.version).toBe('6.1.0-fuzz');
    }
    const r = prngFn(SEED);
    const counts: Counts = {};
    const strategies: Counts = {};
    const t0 = performance.now();
    for (let i = 0; i < MUTATED; i++) {
      const [bytes, strategy] = mutate(r, bases[i % 2] as Uint8Array);
      bump(strategies, strategy);
      await exercise(counts, bytes);
    }
    const ms = Math.round(performance.now() - t0);
    console.log(
      `fuzz-pe: ${MUTATED} mutated inputs in ${ms} ms\n strategies ${JSON.stringify(strategies)}\n outcomes ${JSON.stringify(sortKeys(counts))}`,
    );
    expect(counts['parsePe:ok']).toBeGreaterThan(MUTATED / 3); // the mutations stay close enough to reach the later steps
    expect(counts['authenticode:ok']).toBeGreaterThan(1000);
    expect(Object.keys(counts).some((k) => k.startsWith('certificates:PARSE_'))).toBe(true);
  });

  it(`${RANDOM} random byte strings (some with MZ/PE headers) end in a value or a NodeimgError`, async () => {
    const counts: Counts = {};
    const header = fc.uint8Array({ minLength: 0x300, maxLength: 4096 }).map((b) => {
      if (b.length >= 0x300) {
        // MZ, e_lfanew 0x80, "PE\0\0", 0-3 sections, a PE32+ optional header of 240 bytes
        const v = new DataView(b.buffer);
        b.set([0x4d, 0x5a]);
        v.setUint32(0x3c, 0x80, true);
        b.set([0x50, 0x45, 0, 0], 0x80);
        v.setUint16(0x86, (b[0x86] as number) % 4, true);
        v.setUint16(0x94, 240, true);
        v.setUint16(0x98, 0x20b, true);
        v.setUint32(0x98 + 108, (b[0x2ff] as number) % 17, true);
        v.setUint32(0x98 + 60, 0x200 + ((b[0x9a] as number) % 0x100), true);
      }
      return b;
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 4096, size: 'large' }), header), async (bytes) => {
        await exercise(counts, bytes);
      }),
      { seed: SEED, numRuns: RANDOM },
    );
    console.log(`fuzz-pe: ${RANDOM} random inputs\n outcomes ${JSON.stringify(sortKeys(counts))}`);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(RANDOM);
  });
});

function sortKeys(c: Counts): Counts {
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => a.localeCompare(b)));
}
