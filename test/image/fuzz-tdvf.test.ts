// Fuzzer for readTdvfMetadata + computeMrtd + the TD HOB: >= 10,000 deterministic hostile inputs
// mutated from a synthetic TDVF image (section fields, descriptor header, footer table and entry
// lengths, offsets pointing outside, overlapping sections, truncation) and from the tail of the
// Debian sid TDX firmware, plus random bytes. Every case must end in a result or a NodeimgError.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { fromBytes } from '../../image/formats/source.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import { computeMrtd, tdHobPreimage } from '../../measurements/cvm/tdx/index.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { Prng } from '../helpers/prng.js';
import { SYNTH_DESCRIPTOR, buildTdvfImage } from '../helpers/tdvf-bytes.js';

const SYNTH_CASES = 8000;
const REAL_CASES = 2000;
const RANDOM_CASES = 500;
const SEED = 0x74647666; // "tdvf"
const SID = new URL(
  '../../../shared/cvm-measurement-data/firmware/debian-sid-ovmf-inteltdx_2026.08+ds-2/OVMF.inteltdx.ms.fd',
  import.meta.url,
);

async function exercise(bytes: Uint8Array, mrtd: boolean): Promise<void> {
  const src = fromBytes(bytes, 'fuzz.fd');
  const meta = await readTdvfMetadata(src);
  if (mrtd) await computeMrtd(src, meta);
  tdHobPreimage(meta.sections, 1 << 30);
}

it('survives hostile TDVF images', async () => {
  const rng = new Prng(SEED);
  const tally = new FuzzTally('tdvf', 2000);
  const synth = buildTdvfImage();
  await exercise(synth.bytes, true); // the pristine image is valid
  const m = new Mutator(synth.bytes);
  const fieldOffsets = [0, 4, 8, 12, 16, 20, 24, 28];
  const header = [SYNTH_DESCRIPTOR, SYNTH_DESCRIPTOR + 4, SYNTH_DESCRIPTOR + 8, SYNTH_DESCRIPTOR + 12];
  const gpas = synth.sectionEntries.map((at) => at + 8);

  for (let i = 0; i < SYNTH_CASES; i++) {
    const kind = rng.int(7);
    let input = synth.bytes;
    if (kind === 0) {
      // section fields: sizes, offsets, types, attributes
      for (let n = 1 + rng.int(3); n > 0; n--)
        m.uint(
          rng.pick(synth.sectionEntries) + rng.pick(fieldOffsets),
          4,
          interesting(rng, [0x1000, 0xc000, 0x10000, 0xffff0000, 0x3, 0x2, 0x8]),
        );
    } else if (kind === 1) {
      // overlapping or unaligned GPAs: copy one section's GPA onto another, or shift by a little
      const from = rng.pick(gpas);
      const to = rng.pick(gpas);
      const v = new DataView(synth.bytes.buffer).getBigUint64(from, true);
      m.uint(to, 8, v + BigInt(rng.pick([0, 0x1000, -0x1000, 1, 0x800])));
    } else if (kind === 2) {
      for (let n = 1 + rng.int(2); n > 0; n--)
        m.uint(rng.pick(header), 4, interesting(rng, [0, 1, 2, 5, 6, 64, 65, 16 + 32 * 5]));
    } else if (kind === 3) {
      // footer: table length, entry length, descriptor offset (pointing outside, into the footer, ...)
      const at = rng.pick([synth.tableLength, synth.entryLength, synth.entryData]);
      m.uint(
        at,
        at === synth.entryData ? 4 : 2,
        interesting(rng, [0x1000, 0x10000, 0x10001, 18, 17, 22, 40, 0xfff0]),
      );
    } else if (kind === 4)
      input = synth.bytes.subarray(rng.int(synth.bytes.length)); // cut from the front: offsets from the end stay valid
    else if (kind === 5) input = synth.bytes.subarray(0, rng.int(synth.bytes.length));
    else
      for (let n = 1 + rng.int(8); n > 0; n--)
        m.flip(SYNTH_DESCRIPTOR - 16 + rng.int(synth.bytes.length - SYNTH_DESCRIPTOR + 16), rng.int(8));
    await tally.run(`synth ${i} kind ${kind}`, () => exercise(input, true));
    m.restore();
  }

  // The real firmware: mutate the footer table and descriptor; parse only (MRTD of 3.5 MiB is slow).
  const real = new Uint8Array(readFileSync(SID));
  const rm = new Mutator(real);
  const desc = real.length - 0xa00;
  for (let i = 0; i < REAL_CASES; i++) {
    if (rng.chance(0.5))
      for (let n = 1 + rng.int(4); n > 0; n--) rm.flip(desc - 16 + rng.int(16 + 16 + 32 * 6), rng.int(8));
    else
      for (let n = 1 + rng.int(3); n > 0; n--)
        rm.uint(real.length - 50 - rng.int(160), rng.pick([1, 2, 4] as const), interesting(rng));
    await tally.run(`real ${i}`, () => exercise(real, false));
    rm.restore();
  }

  for (let i = 0; i < RANDOM_CASES; i++) {
    const bytes = rng.bytes(rng.int(4096));
    await tally.run(`random ${i}`, () => exercise(bytes, true));
  }
  console.log(tally.summary());
  expect(tally.cases).toBeGreaterThanOrEqual(10_000);
  expect(tally.ok).toBeGreaterThan(100); // some mutations stay valid
  expect(tally.cases - tally.ok).toBeGreaterThan(1000);
});
