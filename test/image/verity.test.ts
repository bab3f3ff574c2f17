// image/formats/verity against veritysetup 2.6.1: the spec's vectors (reproducible-build.md §4.8),
// then seeded random cases (data sizes around the level boundaries, data and hash block sizes
// 512-4096, salts of 0-256 bytes, sha1/sha224/sha256/sha384/sha512, formats 0 and 1, separate hash
// file, hash area appended to the data file, no superblock) where the hash device bytes and the
// root hash must equal what `veritysetup format` writes with the same salt and UUID. Also: the
// streaming builder with chunks of any size, the superblock round trip, the hash device reader and
// its tree check on veritysetup's own output.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBytes } from '../../image/formats/source.js';
import {
  checkVerityHashTree,
  encodeVeritySuperblock,
  parseVeritySuperblock,
  planVerity,
  readVerityHashDevice,
  verityHashArea,
  verityTable,
  verityTreeOf,
  VerityTreeBuilder,
  VERITY_HASH_ALGORITHMS,
  type VerityHashAlgorithm,
} from '../../image/formats/verity/index.js';
import { fillRandom, Prng } from '../helpers/prng.js';
import { veritysetupFormat, type VeritysetupCase } from '../helpers/veritysetup.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const UUID1 = '00000000-0000-0000-0000-000000000001';

describe('spec vectors (§4.8: block i = 4096 bytes of i mod 256, salt 32 x 0xab)', () => {
  const vectors: [number, number, string, number?][] = [
    [1, 32, 'dd2661f29736b994bb4d44940a72e328d0b56887df8761a1274e7d51cc525eed', 4096],
    [2, 32, '566b29324e44c5ef1704b1e0a46fb7d4e52f7d29acdfa35620b71e5c93ab3d22'],
    [128, 32, 'e80eab6ef027bcf3d0545a7ce3813aa4d773133efcfb2ec79e5d07165bea255b'],
    [129, 32, '9dc25b527d37c03cd1db20c64a3a3355605133b98147936afc77f8440e580546', 16384],
    [16385, 32, '525ecc1e3a7e55c5f3de257df7ee5e890c3086b61741cce49281984033e05a15', 544768],
    [129, 0, 'f0dbc433d6188c4e8e30ee2de31ee90ab1edf2fd7438d97feab12f75375886ad'],
  ];
  it.each(vectors)('N=%i salt %i bytes', (n, saltLength, root, size) => {
    const data = new Uint8Array(n * 4096);
    for (let i = 0; i < n; i++) data.fill(i % 256, i * 4096, (i + 1) * 4096);
    const tree = verityTreeOf(data, { salt: new Uint8Array(saltLength).fill(0xab) });
    expect(hex(tree.rootHash)).toBe(root);
    if (size !== undefined) expect(verityHashArea(tree, UUID1).length).toBe(size);
  });

  it('lays out N=46,367 as 363 + 3 + 1 blocks after the superblock (1,507,328 bytes)', () => {
    const plan = planVerity({ dataBlocks: 46_367, salt: new Uint8Array(32) });
    expect(plan.levels.map((l) => [l.blocks, l.startBlock])).toEqual([
      [363, 5],
      [3, 2],
      [1, 1],
    ]);
    expect(plan.hashDeviceSize).toBe(1_507_328);
  });
});

describe('against veritysetup format', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nodeimg-verity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sizes = [512, 1024, 2048, 4096];

  // every algorithm several times, sha256 (the default) most
  const ROTATION: VerityHashAlgorithm[] = ['sha256', 'sha1', 'sha512', 'sha256', 'sha224', 'sha384'];

  function randomCase(
    rng: Prng,
    hashAlgorithm: VerityHashAlgorithm,
  ): VeritysetupCase & { readonly data: Uint8Array } {
    const hashType = rng.chance(0.8) ? 1 : 0;
    const dataBlockSize = rng.pick(sizes);
    const hashBlockSize = rng.pick(sizes);
    const digest = VERITY_HASH_ALGORITHMS[hashAlgorithm];
    const per = 2 ** Math.floor(Math.log2(Math.floor(hashBlockSize / digest)));
    const boundaries = [1, 2, per - 1, per, per + 1, per * per, per * per + 1, 3 * per + 7];
    const maxBlocks = Math.floor((6 * 1024 * 1024) / dataBlockSize);
    const dataBlocks = Math.max(
      1,
      Math.min(maxBlocks, rng.chance(0.5) ? rng.pick(boundaries) : 1 + rng.int(Math.min(maxBlocks, 3000))),
    );
    const salt = rng.bytes(rng.pick([0, 0, 1, 7, 32, 32, 64, 255, 256, 1 + rng.int(256)]));
    const superblock = rng.chance(0.85);
    const appended = rng.chance(0.3);
    const dataBytes = dataBlocks * dataBlockSize;
    // appended: right after the data or further on (a multiple of 512, or of HBS without superblock)
    const align = superblock ? 512 : hashBlockSize;
    const appendAt = appended
      ? Math.ceil(dataBytes / align) * align + (rng.chance(0.5) ? 0 : align * (1 + rng.int(4)))
      : undefined;
    return {
      hashAlgorithm,
      hashType,
      dataBlockSize,
      hashBlockSize,
      salt,
      uuid: [8, 4, 4, 4, 12].map((n) => hex(rng.bytes(n / 2))).join('-'),
      superblock,
      dataBlocks,
      ...(appendAt === undefined ? {} : { appendAt }),
      data: fillRandom(new Uint8Array(dataBytes), rng.u32()),
    };
  }

  const rng = new Prng(0x76657269);
  const cases = Array.from({ length: 24 }, (_, i) => {
    const c = randomCase(rng, ROTATION[i % ROTATION.length] as VerityHashAlgorithm);
    const name = `${c.hashAlgorithm} format ${c.hashType}, ${c.dataBlocks} x ${c.dataBlockSize} B, HBS ${c.hashBlockSize}, salt ${c.salt.length} B, ${c.superblock ? 'superblock' : 'no superblock'}, ${c.appendAt === undefined ? 'separate' : `appended at ${c.appendAt}`}`;
    return { i, name, c };
  });
  for (const { i, name, c } of cases)
    it(`case ${i}: ${name}`, async () => {
      const data = join(dir, `data-${i}`);
      const hash = c.appendAt === undefined ? join(dir, `hash-${i}`) : data;
      await writeFile(data, c.data);
      const theirRoot = await veritysetupFormat(c, data, hash);
      const theirs = new Uint8Array(await readFile(hash));
      const tree = verityTreeOf(c.data, {
        hashAlgorithm: c.hashAlgorithm,
        hashType: c.hashType,
        dataBlockSize: c.dataBlockSize,
        hashBlockSize: c.hashBlockSize,
        salt: c.salt,
        superblock: c.superblock,
        hashOffset: c.appendAt ?? 0,
      });
      expect(hex(tree.rootHash)).toBe(theirRoot);
      const area = verityHashArea(tree, c.uuid);
      const offset = c.appendAt ?? 0;
      expect(theirs.length).toBe(offset + area.length);
      expect(hex(theirs.subarray(0, Math.min(offset, c.data.length)))).toBe(hex(c.data.subarray(0, offset)));
      expect(Buffer.compare(theirs.subarray(offset), area)).toBe(0);
      if (c.superblock) {
        const device = await readVerityHashDevice(fromBytes(theirs, 'hash'), offset);
        expect(device.superblock.uuid).toBe(c.uuid);
        expect(hex(device.superblock.salt)).toBe(hex(c.salt));
        expect(device.plan.hashDeviceSize).toBe(theirs.length);
        if (device.rootHash !== undefined) expect(hex(device.rootHash)).toBe(theirRoot);
        expect(await checkVerityHashTree(fromBytes(theirs, 'hash'), device)).toEqual({ ok: true });
      }
    });
});

describe('streaming builder', () => {
  it('gives the same tree for any chunking', () => {
    const rng = new Prng(7);
    const data = fillRandom(new Uint8Array(300 * 1024), 99);
    const params = {
      salt: rng.bytes(17),
      dataBlockSize: 1024,
      hashBlockSize: 512,
      hashAlgorithm: 'sha512' as const,
    };
    const whole = verityTreeOf(data, params);
    for (let round = 0; round < 20; round++) {
      const b = new VerityTreeBuilder({ ...params, dataBlocks: data.length / 1024 });
      for (let at = 0; at < data.length;) {
        const n = Math.min(data.length - at, rng.chance(0.3) ? rng.int(5) : rng.int(70_000));
        b.update(data.subarray(at, at + n));
        at += n;
      }
      const t = b.digest();
      expect(hex(t.rootHash)).toBe(hex(whole.rootHash));
      expect(t.levels.map(hex)).toEqual(whole.levels.map(hex));
    }
  });

  it('refuses too little or too much data and bad parameters with USAGE', () => {
    const b = new VerityTreeBuilder({ dataBlocks: 2, salt: new Uint8Array(0) });
    b.update(new Uint8Array(4096));
    expect(() => b.digest()).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => b.update(new Uint8Array(8192))).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => verityTreeOf(new Uint8Array(5000), { salt: new Uint8Array(0) })).toThrow(/multiple of 4096/);
    for (const bad of [
      { dataBlockSize: 256 },
      { hashBlockSize: 3000 },
      { hashBlockSize: 1024 * 1024 },
      { salt: new Uint8Array(257) },
      { hashOffset: 100 },
      { superblock: false, hashOffset: 512 },
      { dataBlocks: 0 },
    ])
      expect(() => planVerity({ dataBlocks: 1, salt: new Uint8Array(0), ...bad })).toThrow(
        expect.objectContaining({ code: 'USAGE' }),
      );
  });
});

describe('superblock', () => {
  it('round-trips and writes the fields where struct verity_sb has them', () => {
    const plan = planVerity({
      dataBlocks: 0x1_0000_0001,
      dataBlockSize: 512,
      hashBlockSize: 1024,
      hashAlgorithm: 'sha384',
      hashType: 0,
      salt: Uint8Array.from([1, 2, 3]),
    });
    const b = encodeVeritySuperblock(plan, '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0');
    expect(hex(b.subarray(0, 32))).toBe('766572697479000001000000000000000f1e2d3c4b5a69788796a5b4c3d2e1f0');
    expect(Buffer.from(b.subarray(32, 38)).toString()).toBe('sha384');
    expect(hex(b.subarray(64, 96))).toBe(
      '000200000004000001000000010000000300000000000000010203' + '0'.repeat(10),
    );
    expect(parseVeritySuperblock(b, 4096)).toEqual({
      version: 1,
      hashType: 0,
      uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      hashAlgorithm: 'sha384',
      dataBlockSize: 512,
      hashBlockSize: 1024,
      dataBlocks: 0x1_0000_0001,
      salt: Uint8Array.from([1, 2, 3]),
    });
  });

  it('gives the kernel table line', () => {
    const tree = verityTreeOf(new Uint8Array(129 * 4096), { salt: Uint8Array.from([0xab]) });
    expect(verityTable(tree, '/dev/vda2', '/dev/vda3')).toBe(
      `0 1032 verity 1 /dev/vda2 /dev/vda3 4096 4096 129 1 sha256 ${hex(tree.rootHash)} ab`,
    );
  });
});
