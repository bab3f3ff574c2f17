// fast-check generators for crypto-agile event logs (test-only).
import fc from 'fast-check';
import { ALL_HASH_ALGS, HASH_ALGS, type HashAlg } from '../../measurements/hash.js';
import { EV, type EventLog, type EventRecord, type SpecIdEvent } from '../../measurements/eventlog/types.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

export const banksArb: fc.Arbitrary<HashAlg[]> = fc.shuffledSubarray([...ALL_HASH_ALGS], { minLength: 1 });

export const specIdArb: fc.Arbitrary<SpecIdEvent> = fc.record({
  platformClass: fc.oneof(fc.constant(0), u32),
  specVersion: fc.oneof(fc.constant({ major: 2, minor: 0 }), fc.record({ major: u8, minor: u8 })),
  errata: u8,
  uintnSize: fc.oneof(fc.constantFrom(1, 2), u8),
  algorithms: banksArb.map((algs) =>
    algs.map((alg) => ({ alg, algId: HASH_ALGS[alg].tpmAlgId, digestSize: HASH_ALGS[alg].size })),
  ),
  vendorInfo: fc.uint8Array({ maxLength: 40 }),
});

const typeArb = fc.oneof(fc.constantFrom(...Object.values(EV)), u32);
const pcrArb = fc.oneof(fc.integer({ min: 0, max: 23 }), u32);

export function eventArb(spec: SpecIdEvent): fc.Arbitrary<EventRecord> {
  const algs = spec.algorithms.map((a) => a.alg);
  return (
    fc
      .record({
        pcr: pcrArb,
        untrustedType: typeArb,
        digestAlgs: fc.shuffledSubarray(algs),
        digestBytes: fc.uint8Array({ minLength: 64, maxLength: 64 }),
        data: fc.uint8Array({ maxLength: 64 }),
      })
      .map(({ pcr, untrustedType, digestAlgs, digestBytes, data }) => ({
        pcr,
        untrustedType,
        claimedDigests: Object.fromEntries(
          digestAlgs.map((a) => [a, digestBytes.slice(0, HASH_ALGS[a].size)]),
        ),
        data,
      }))
      // A record starting with 12 zero bytes is indistinguishable from padding.
      .filter((e) => !(e.pcr === 0 && e.untrustedType === 0 && Object.keys(e.claimedDigests).length === 0))
  );
}

const trailingArb = fc.option(
  fc.oneof(
    fc
      .record({ fill: fc.constantFrom(0, 0xff), n: fc.integer({ min: 1, max: 40 }) })
      .map(({ fill, n }) => new Uint8Array(n).fill(fill)),
    fc
      .uint8Array({ minLength: 1, maxLength: 8 })
      .map((tail) => new Uint8Array([...new Uint8Array(12), ...tail])),
  ),
  { nil: undefined },
);

export const logArb: fc.Arbitrary<EventLog> = specIdArb.chain((specId) =>
  fc.record({
    headerPcr: fc.oneof(fc.constantFrom(0, 1), u32),
    specId: fc.constant(specId),
    events: fc.array(eventArb(specId), { maxLength: 12 }),
    trailing: trailingArb.map((bytes) => (bytes === undefined ? undefined : { bytes })),
  }),
);
