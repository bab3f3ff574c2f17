// The VHD footer codec (image/formats/vhd): encode/parse round trips, the spec's CHS geometry
// algorithm at its branch points, and >= 3,000 hostile footers (field values at the edges, bit
// flips, wrong lengths, noise, with and without a fixed-up checksum so the deeper checks are
// reached) that must each end in a footer or a ParseError, through parseVhdFooter and through
// readFixedVhd over a whole (small) image.
import { expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { fromBytes } from '../../image/formats/source.js';
import {
  encodeVhdFooter,
  parseVhdFooter,
  readFixedVhd,
  vhdChecksum,
  vhdGeometry,
  vhdTimestamp,
  VHD_FOOTER_SIZE,
  VHD_MAX_CHS_SECTORS,
} from '../../image/formats/vhd/index.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { Prng } from '../helpers/prng.js';

const CASES = 3_000;
const MiB = 1024 * 1024;

it('round-trips random footers', () => {
  const rng = new Prng(0x76686431);
  for (let i = 0; i < 500; i++) {
    const currentSize = (1 + rng.int(0x7fffffff)) * 512 * (rng.chance(0.5) ? 1 : 2048);
    const input = {
      currentSize,
      timestamp: rng.u32(),
      uniqueId: rng.bytes(16),
      creatorVersion: rng.u32(),
    };
    const b = encodeVhdFooter(input);
    expect(b.length).toBe(VHD_FOOTER_SIZE);
    const f = parseVhdFooter(b);
    expect(f).toMatchObject({
      currentSize,
      originalSize: currentSize,
      timestamp: input.timestamp,
      creatorVersion: input.creatorVersion,
      creatorApp: 'nimg',
      diskType: 'fixed',
      geometry: vhdGeometry(currentSize / 512),
    });
    expect(f.uniqueId).toEqual(input.uniqueId);
    expect(f.checksum).toBe(vhdChecksum(b));
  }
});

it('encodes the fixed fields as the spec lays them out', () => {
  const b = encodeVhdFooter({
    currentSize: 41 * MiB,
    timestamp: vhdTimestamp(1_700_000_000),
    uniqueId: new Uint8Array(16),
  });
  const hex = Buffer.from(b.subarray(0, 85)).toString('hex');
  expect(hex.slice(0, 16)).toBe(Buffer.from('conectix').toString('hex'));
  expect(hex.slice(16, 24)).toBe('00000002'); // features
  expect(hex.slice(24, 32)).toBe('00010000'); // version
  expect(hex.slice(32, 48)).toBe('ffffffffffffffff'); // data offset
  expect(hex.slice(48, 56)).toBe((1_700_000_000 - 946_684_800).toString(16).padStart(8, '0'));
  expect(hex.slice(56, 64)).toBe(Buffer.from('nimg').toString('hex'));
  expect(hex.slice(72, 80)).toBe(Buffer.from('Wi2k').toString('hex'));
  expect(hex.slice(80, 96)).toBe((41 * MiB).toString(16).padStart(16, '0'));
  expect(hex.slice(112, 120)).toBe('03db0511'); // 987 cylinders, 5 heads, 17 sectors
  expect(hex.slice(120, 128)).toBe('00000002'); // fixed
  expect(b.subarray(84).every((x) => x === 0)).toBe(true);
  // the checksum: one's complement of the byte sum without the checksum field
  let sum = 0;
  for (let i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += b[i]!;
  expect(Buffer.from(b.subarray(64, 68)).readUInt32BE()).toBe(~sum >>> 0);
  expect(() => vhdTimestamp(946_684_799)).toThrow(RangeError);
  expect(() => encodeVhdFooter({ currentSize: 1000, timestamp: 0, uniqueId: new Uint8Array(16) })).toThrow(
    RangeError,
  );
});

it('computes the CHS geometry at the branch points of the spec algorithm', () => {
  // 17 sectors, heads raised to 4
  expect(vhdGeometry(2048)).toEqual({ cylinders: 30, heads: 4, sectorsPerTrack: 17 });
  // 17 -> 31 sectors when cylinders*heads reaches heads*1024
  expect(vhdGeometry(16 * 1024 * 17)).toEqual({ cylinders: 561, heads: 16, sectorsPerTrack: 31 });
  // 31 -> 63
  expect(vhdGeometry(16 * 1024 * 31)).toEqual({ cylinders: 503, heads: 16, sectorsPerTrack: 63 });
  // 255 sectors from 65535*16*63 on, clamped at the maximum
  expect(vhdGeometry(65535 * 16 * 63)).toEqual({ cylinders: 16191, heads: 16, sectorsPerTrack: 255 });
  expect(vhdGeometry(VHD_MAX_CHS_SECTORS * 4)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
  for (let s = 1; s < 200_000; s += 997) {
    const g = vhdGeometry(s);
    expect(g.cylinders * g.heads * g.sectorsPerTrack).toBeLessThanOrEqual(s);
  }
});

it('survives hostile VHD footers', async () => {
  const rng = new Prng(0x76686432);
  const tally = new FuzzTally('vhd-footer', 1000);
  const dataSize = 64 * 1024;
  const image = new Uint8Array(dataSize + VHD_FOOTER_SIZE);
  image.set(rng.bytes(dataSize));
  image.set(encodeVhdFooter({ currentSize: dataSize, timestamp: 12345, uniqueId: rng.bytes(16) }), dataSize);
  const m = new Mutator(image);
  const fields8 = [16, 40, 48];
  const fields4 = [8, 12, 24, 28, 32, 36, 60, 64];
  const small = [0, 1, 2, 56, 57, 58, 59, 84];
  for (let i = 0; i < CASES; i++) {
    const kind = rng.int(7);
    let input: Uint8Array = image;
    switch (kind) {
      case 0:
        m.uint(
          dataSize + rng.pick(fields8),
          8,
          BigInt(interesting(rng, [dataSize, dataSize + 512])) << BigInt(rng.pick([0, 0, 9, 32, 48])),
        );
        break;
      case 1:
        m.uint(dataSize + rng.pick(fields4), 4, interesting(rng, [2, 3, 4, 0x10000, 0x20000, 0x5769326b]));
        break;
      case 2:
        m.uint(dataSize + rng.pick(small), 1, interesting(rng, [16, 17, 255]));
        break;
      case 3:
        for (let n = 1 + rng.int(8); n > 0; n--) m.flip(dataSize + rng.int(VHD_FOOTER_SIZE), rng.int(8));
        break;
      case 4:
        input = rng.chance(0.5)
          ? image.subarray(0, rng.int(image.length))
          : image.subarray(rng.int(image.length));
        break;
      case 5:
        m.write(dataSize + rng.int(100), rng.bytes(1 + rng.int(40)));
        break;
      default:
        input = rng.bytes(rng.chance(0.5) ? VHD_FOOTER_SIZE : rng.int(2048));
        if (input.length >= VHD_FOOTER_SIZE && rng.chance(0.7))
          input.set(new TextEncoder().encode('conectix'), input.length - VHD_FOOTER_SIZE);
    }
    // often fix the checksum up so the later checks see the mutated fields
    if (input === image && rng.chance(0.7)) {
      const f = image.subarray(dataSize);
      m.uint(dataSize + 64, 4, 0);
      const sum = vhdChecksum(f);
      m.write(
        dataSize + 64,
        new Uint8Array([sum >>> 24, (sum >>> 16) & 0xff, (sum >>> 8) & 0xff, sum & 0xff]),
      );
    }
    await tally.run(`case ${i} kind ${kind}`, async () => {
      try {
        if (input.length >= VHD_FOOTER_SIZE)
          parseVhdFooter(input.subarray(input.length - VHD_FOOTER_SIZE), 7);
        else parseVhdFooter(input);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
      await readFixedVhd(fromBytes(input, 'fuzz.vhd'));
    });
    m.restore();
  }
  console.log(tally.summary());
  expect(tally.cases).toBe(CASES);
  expect(tally.ok).toBeGreaterThan(200);
  expect(tally.codes.get('PARSE_INVALID') ?? 0).toBeGreaterThan(500);
  expect(tally.codes.get('PARSE_TRUNCATED') ?? 0).toBeGreaterThan(20);
  expect(tally.slowest.ms).toBeLessThan(500);
});
