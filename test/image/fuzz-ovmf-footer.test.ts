// Fuzzer for the OVMF footer codec and the AMD SEV launch digests behind it: >= 10,000 hostile
// firmware suffixes mutated from sev-snp-measure's two 4 KiB fixtures (AmdSev and OvmfX64 builds)
// and from a synthetic AmdSev-like image: truncated (either end), table_len and entry lengths that
// point outside the image or into other entries, SEV metadata offsets outside the file, bad header
// fields, sections that overlap, are unaligned or reach past 4 GiB, bit flips near the end, and
// pure noise with a planted footer GUID. Every case must end in a result or a NodeimgError, quickly;
// when the footer parses, every launch mode is computed over it as well.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { guidFromString } from '../../image/formats/gpt/guid.js';
import { OVMF_TABLE_FOOTER_GUID, parseOvmfFooter } from '../../image/formats/ovmf-footer/index.js';
import {
  amdLaunchDigests,
  loadAmdSevFirmware,
  type AmdSevMode,
  type VmmType,
} from '../../measurements/cvm/snp/index.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { amdSevLikeImage } from '../helpers/ovmf-footer-bytes.js';
import { Prng } from '../helpers/prng.js';

const CASES = 10_500;
const SEED = 0x73657673; // "sevs"
const FIXTURES = '../../../shared/cvm-measurement-data/sev-snp-measure-fixtures/';
const KERNEL = {
  kernel: new Uint8Array(32).fill(1),
  initrd: new Uint8Array(32).fill(2),
  cmdline: new Uint8Array(32).fill(3),
};
const MODES: readonly AmdSevMode[] = ['snp', 'seves', 'sev'];
const VMMS: readonly VmmType[] = ['QEMU', 'ec2', 'gce'];

/** Offsets of the fields worth hitting in one image: table_len, each entry's length, metadata header and items. */
function fieldsOf(img: Uint8Array): { u16: number[]; u32: number[]; sections: number[] } {
  const footer = parseOvmfFooter(img);
  const u16 = [img.length - 50, ...footer.table.entries.map((e) => e.offset + e.data.length)];
  const md = footer.sevMetadata;
  const u32 = [
    ...footer.table.entries.map((e) => e.offset),
    ...(md ? [md.offset + 4, md.offset + 8, md.offset + 12] : []),
  ];
  return { u16, u32, sections: md ? md.sections.map((s) => s.offset) : [] };
}

function exercise(img: Uint8Array, i: number): void {
  const footer = parseOvmfFooter(img, 0x100000000 - img.length);
  if (!footer.table.present) return;
  const fw = loadAmdSevFirmware(img, 'fuzz.fd');
  const mode = MODES[i % MODES.length] as AmdSevMode;
  amdLaunchDigests({
    mode,
    firmware: fw,
    vcpus: [1, 2],
    vmmType: VMMS[(i >> 2) % VMMS.length] as VmmType,
    vcpuSig: 0xa00f11,
    guestFeatures: 1,
    kernel: i % 2 === 0 ? KERNEL : undefined,
  });
}

it('survives hostile OVMF footer tables and SEV metadata', async () => {
  const rng = new Prng(SEED);
  const tally = new FuzzTally('ovmf-footer', 2000);
  const bases = [
    new Uint8Array(readFileSync(new URL(`${FIXTURES}ovmf_AmdSev_suffix.bin`, import.meta.url))),
    new Uint8Array(readFileSync(new URL(`${FIXTURES}ovmf_OvmfX64_suffix.bin`, import.meta.url))),
    amdSevLikeImage(),
  ];
  const info = bases.map(fieldsOf);
  expect(info.map((f) => f.sections.length)).toEqual([7, 6, 4]);
  const mutators = bases.map((b) => new Mutator(b));
  const footerGuid = guidFromString(OVMF_TABLE_FOOTER_GUID);

  for (let i = 0; i < CASES; i++) {
    const which = rng.int(bases.length);
    const base = bases[which] as Uint8Array;
    const m = mutators[which] as Mutator;
    const f = info[which] as ReturnType<typeof fieldsOf>;
    const kind = rng.int(9);
    let input = base;
    switch (kind) {
      case 0: // truncated at the front (the table or metadata now points before byte 0) or at the end
        input = rng.chance(0.5)
          ? base.subarray(rng.int(base.length))
          : base.subarray(0, rng.int(base.length));
        break;
      case 1: // table_len and entry lengths: outside the image, into neighbouring entries, too small
        for (let n = 1 + rng.int(2); n > 0; n--)
          m.uint(
            rng.pick(f.u16),
            2,
            interesting(rng, [17, 18, 19, 22, 26, 0x2e, 0xb6, 0xb7, 4000, 4046, 4047]),
          );
        break;
      case 2: // entry data: metadata offset, reset EIP, hash table GPA/size
        m.uint(
          rng.pick(f.u32),
          4,
          interesting(rng, [0, 16, 28, 0x3c8, 0x3d0, 4096, 4097, 0x810c00, 0x810ff0]),
        );
        break;
      case 3: // overlapping sections: copy one section's GPA/size over another's
      case 4: {
        const a = rng.pick(f.sections);
        const b = rng.pick(f.sections);
        if (kind === 3) m.write(b, base.slice(a, a + 8));
        else m.uint(b + rng.pick([0, 4]), 4, (base[a] as number) + 0x1000 * rng.int(8));
        break;
      }
      case 5: // section fields: unaligned, huge, past 4 GiB, unknown types
        for (let n = 1 + rng.int(3); n > 0; n--)
          m.uint(
            rng.pick(f.sections) + rng.pick([0, 4, 8]),
            4,
            interesting(rng, [0x1000, 0x2000, 0xfffff000, 0x10, 4, 5, 0x11, 0x4000000, 0x4001000]),
          );
        break;
      case 6: // bit flips in the last 512 bytes (table, footer, reset vector)
        for (let n = 1 + rng.int(6); n > 0; n--) m.flip(base.length - 1 - rng.int(512), rng.int(8));
        break;
      case 7: // random bytes over the table region
        m.write(base.length - 32 - 18 - rng.int(200), rng.bytes(1 + rng.int(24)));
        break;
      default: {
        // noise of a random size, often with the footer GUID planted where the parser looks
        const noise = rng.bytes(rng.chance(0.5) ? 4096 : rng.int(8192));
        if (noise.length >= 50 && rng.chance(0.7)) noise.set(footerGuid, noise.length - 48);
        input = noise;
      }
    }
    await tally.run(`case ${i} kind ${kind} base ${which}`, async () => exercise(input, i));
    m.restore();
  }
  console.log(tally.summary());
  expect(tally.cases).toBeGreaterThanOrEqual(10_000);
  expect(tally.ok).toBeGreaterThan(1000); // plenty of mutants still parse and get digested
  expect(tally.codes.get('PARSE_INVALID') ?? 0).toBeGreaterThan(500);
  expect(tally.slowest.ms).toBeLessThan(1500);
});
