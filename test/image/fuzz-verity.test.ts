// Hostile dm-verity hash devices for image/formats/verity's reader: >= 3,000 mutations of a small
// three-level hash device (superblock fields at their edges, algorithm names, bit flips, truncation,
// noise) that must each end in a parsed device or a ParseError (never another exception, never a
// huge allocation: a mutated data-block count must be refused before the tree is read), and, when
// the superblock still parses, a tree check that reports a damaged hash block instead of throwing.
import { expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { fromBytes } from '../../image/formats/source.js';
import {
  checkVerityHashTree,
  readVerityHashDevice,
  verityHashArea,
  verityTreeOf,
} from '../../image/formats/verity/index.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { fillRandom, Prng } from '../helpers/prng.js';

const CASES = 3_000;
const UUID = '6e6f6465-696d-4467-a972-697465727321';

/** sha256, 512-byte hash blocks (16 digests each): 300 data blocks -> 19 + 2 + 1 hash blocks. */
function sampleDevice(): { image: Uint8Array; root: string } {
  const data = fillRandom(new Uint8Array(300 * 512), 5);
  const tree = verityTreeOf(data, {
    dataBlockSize: 512,
    hashBlockSize: 512,
    salt: Uint8Array.from([1, 2, 3, 4, 5]),
  });
  return { image: verityHashArea(tree, UUID), root: Buffer.from(tree.rootHash).toString('hex') };
}

it('reads the sample device and finds a damaged block at the right level', async () => {
  const { image, root } = sampleDevice();
  const device = await readVerityHashDevice(fromBytes(image, 'hash.img'));
  expect(device.plan.levels.map((l) => l.blocks)).toEqual([19, 2, 1]);
  expect(Buffer.from(device.rootHash ?? []).toString('hex')).toBe(root);
  expect(await checkVerityHashTree(fromBytes(image), device)).toEqual({ ok: true });
  const m = new Mutator(image);
  // a digest in level 0 block 5 (hash block 1 + 1 + 2 + 5 = 9): level 1 no longer matches it
  m.flip(9 * 512 + 40, 0);
  expect(await checkVerityHashTree(fromBytes(image), device)).toMatchObject({
    ok: false,
    level: 1,
    block: 0,
  });
  m.restore();
  // the tail of the last level-0 block (hash block 22; 300 = 18 * 16 + 12 digests) must stay zero
  m.u8(23 * 512 - 1, 1);
  expect(await checkVerityHashTree(fromBytes(image), device)).toMatchObject({
    ok: false,
    level: 0,
    block: 18,
  });
  m.restore();
  // the top block changes the root hash, which only the caller can compare
  m.flip(512 + 3, 7);
  const changed = await readVerityHashDevice(fromBytes(image));
  expect(Buffer.from(changed.rootHash ?? []).toString('hex')).not.toBe(root);
  m.restore();
});

it('names the field of bad superblocks', async () => {
  const { image } = sampleDevice();
  const m = new Mutator(image);
  const expectFail = async (code: string, field: number) => {
    const err = await readVerityHashDevice(fromBytes(image, 'hash.img', 1024)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({ code, offset: 1024 + field });
    m.restore();
  };
  m.u8(0, 0x56);
  await expectFail('PARSE_INVALID', 0);
  m.uint(8, 4, 2);
  await expectFail('PARSE_UNSUPPORTED', 8);
  m.uint(12, 4, 2);
  await expectFail('PARSE_UNSUPPORTED', 12);
  m.write(32, new TextEncoder().encode('whirlpool\0'));
  await expectFail('PARSE_UNSUPPORTED', 32);
  m.write(32, new Uint8Array(32).fill(0x61));
  await expectFail('PARSE_INVALID', 32);
  m.uint(64, 4, 1000);
  await expectFail('PARSE_INVALID', 64);
  m.uint(68, 4, 1024 * 1024);
  await expectFail('PARSE_INVALID', 68);
  m.uint(72, 8, 0);
  await expectFail('PARSE_INVALID', 72);
  m.uint(72, 8, 2n ** 60n);
  await expectFail('PARSE_LIMIT', 72);
  m.uint(80, 2, 257);
  await expectFail('PARSE_INVALID', 80);
  m.uint(72, 8, 305); // 20 level-0 blocks: the tree no longer fits the device
  const err = await readVerityHashDevice(fromBytes(image, 'hash.img')).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'PARSE_TRUNCATED' });
  m.restore();
});

it('survives hostile dm-verity hash devices', async () => {
  const rng = new Prng(0x76657231);
  const tally = new FuzzTally('verity', 1000);
  const { image } = sampleDevice();
  const m = new Mutator(image);
  const u32Fields = [8, 12, 64, 68];
  let treeChecks = 0;
  let treeFailures = 0;
  for (let i = 0; i < CASES; i++) {
    const kind = rng.int(8);
    let input: Uint8Array = image;
    switch (kind) {
      case 0:
        m.uint(rng.pick(u32Fields), 4, interesting(rng, [0, 1, 512, 1024, 4096, 65536, 524288, 1048576]));
        break;
      case 1:
        m.uint(72, 8, BigInt(interesting(rng, [299, 300, 301, 4800])) << BigInt(rng.pick([0, 0, 8, 32, 40])));
        break;
      case 2:
        m.uint(80, 2, interesting(rng, [0, 5, 255, 256, 257]));
        break;
      case 3:
        m.write(
          32,
          new TextEncoder().encode(
            rng.pick(['sha1\0', 'sha512\0', 'md5\0', 'SHA256\0', 'sha256', 'crc32c\0']),
          ),
        );
        break;
      case 4:
        for (let n = 1 + rng.int(8); n > 0; n--)
          m.flip(rng.int(rng.chance(0.7) ? 512 : image.length), rng.int(8));
        break;
      case 5:
        input = image.subarray(0, rng.int(image.length));
        break;
      case 6:
        m.write(512 + rng.int(image.length - 512), rng.bytes(1 + rng.int(64)));
        break;
      default:
        input = rng.bytes(rng.int(4096));
        if (input.length >= 8 && rng.chance(0.7)) input.set(new TextEncoder().encode('verity\0\0'));
    }
    await tally.run(`case ${i} kind ${kind}`, async () => {
      try {
        const src = fromBytes(input, 'fuzz-hash.img');
        const device = await readVerityHashDevice(src);
        treeChecks++;
        if (!(await checkVerityHashTree(src, device)).ok) treeFailures++;
      } catch (err) {
        if (!(err instanceof ParseError)) throw new Error(`not a ParseError: ${String(err)}`, { cause: err });
        throw err;
      }
    });
    m.restore();
  }
  console.log(`${tally.summary()}; tree checked ${treeChecks} times, ${treeFailures} damaged`);
  expect(tally.cases).toBe(CASES);
  expect(tally.ok).toBeGreaterThan(300);
  expect(tally.codes.get('PARSE_INVALID') ?? 0).toBeGreaterThan(300);
  expect(tally.codes.get('PARSE_TRUNCATED') ?? 0).toBeGreaterThan(200);
  expect(tally.codes.get('PARSE_UNSUPPORTED') ?? 0).toBeGreaterThan(50);
  expect(treeFailures).toBeGreaterThan(50);
  expect(tally.slowest.ms).toBeLessThan(500);
});
