// The single-pass hashing that `nodeimg measure` relies on: hashRangeGroups with some groups on a
// worker thread (image/hash-thread.ts) must give exactly the digests of hashing each group's bytes
// on their own (node:crypto over the concatenated ranges + zero tail), for random layouts,
// overlapping groups, chunks larger than the worker's slots and zero tails; measureFile, which
// starts the worker for a large UKI, must write the same document as one thread; and chunks() with
// reused buffers, through a file, a FAT-like fragmented source and a PE section, must yield the
// same bytes as fresh reads.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileSource, type FileSource } from '../../image/file-source.js';
import {
  HASH_THREAD_MIN_BYTES,
  HashThread,
  hasPrestartedHashThread,
  takeHashThread,
} from '../../image/hash-thread.js';
import { prestartForLargeInput } from '../../pipeline/commands/measure-prestart.js';
import { measureFile, measureSource } from '../../image/measure.js';
import { extentSource } from '../../image/formats/fat/extent-source.js';
import { authenticodeHash } from '../../image/formats/pe/authenticode.js';
import { parsePe } from '../../image/formats/pe/parse.js';
import { sectionDigest, sectionSource } from '../../image/formats/pe/section-data.js';
import { hashRangeGroups, type ByteRange, type RangeGroup } from '../../image/formats/pe/stream-hash.js';
import { chunks, fromBytes, type ByteSource } from '../../image/formats/source.js';
import { loadUki } from '../../measurements/boot/binaries.js';
import type { HashAlg } from '../../measurements/hash.js';
import { Prng } from '../helpers/prng.js';
import { buildPe, prngBytes } from '../helpers/synthetic-pe.js';

const MIB = 1024 * 1024;

function randomBytes(n: number, seed: number): Uint8Array {
  const p = new Prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = p.u32();
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = v >>> 24;
  }
  return out;
}

/** The digest the group stands for, computed the obvious way. */
function expected(bytes: Uint8Array, g: RangeGroup<HashAlg>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of g.algs) {
    const h = createHash(a);
    for (const r of g.ranges) h.update(bytes.subarray(r.start, r.end));
    h.update(new Uint8Array(g.zeroTail ?? 0));
    out[a] = h.digest('hex');
  }
  return out;
}

const hex = (d: Record<string, Uint8Array>) =>
  Object.fromEntries(Object.entries(d).map(([a, v]) => [a, Buffer.from(v).toString('hex')]));

/** Ascending, non-overlapping ranges inside [0, size). */
function ascendingRanges(p: Prng, size: number, count: number): ByteRange[] {
  const cuts = Array.from({ length: count * 2 }, () => p.int(size + 1)).sort((a, b) => a - b);
  const out: ByteRange[] = [];
  for (let i = 0; i < cuts.length; i += 2) out.push({ start: cuts[i] as number, end: cuts[i + 1] as number });
  return out;
}

describe('hashRangeGroups with a HashThread', () => {
  let thread: HashThread;
  beforeAll(() => {
    thread = new HashThread();
  });
  afterAll(async () => {
    await thread.close();
  });

  it('gives the same digests as hashing each group alone, over random layouts', async () => {
    const size = 3 * MIB + 12345;
    const bytes = randomBytes(size, 1);
    const src = fromBytes(bytes, 'random');
    const p = new Prng(7);
    for (let round = 0; round < 12; round++) {
      const algs: HashAlg[][] = [['sha256'], ['sha1', 'sha256', 'sha384'], ['sha512']];
      const groups: RangeGroup<HashAlg>[] = Array.from({ length: 1 + p.int(6) }, () => ({
        ranges: ascendingRanges(p, size, 1 + p.int(5)),
        algs: p.pick(algs),
        ...(p.chance(0.4) ? { zeroTail: p.int(3 * MIB) } : {}),
        offload: p.chance(0.6),
      }));
      // a chunk size past a worker slot (1 MiB) reads slot-sized chunks when anything is offloaded
      const chunkSize = p.pick([64 * 1024, MIB, 3 * MIB, 4 * MIB]);
      const got = await hashRangeGroups(src, groups, { offload: thread, chunkSize });
      expect(got.map(hex)).toEqual(groups.map((g) => expected(bytes, g)));
    }
  });

  it('a read that fails mid-way rejects and returns every lent slot (30 failures, then it still hashes)', async () => {
    const bytes = randomBytes(5 * MIB, 3);
    const good = fromBytes(bytes, 'random');
    const failing: ByteSource = {
      ...good,
      read: (offset, length, into) =>
        offset >= 3 * MIB ? Promise.reject(new Error(`EIO at ${offset}`)) : good.read(offset, length, into),
    };
    const groups: RangeGroup<HashAlg>[] = [
      { ranges: [{ start: 0, end: 5 * MIB }], algs: ['sha256'] },
      { ranges: [{ start: 0, end: 5 * MIB }], algs: ['sha256'], offload: true },
    ];
    // 30 x 3 slots taken before the failure: more than the worker's 24 if any stayed lent
    for (let i = 0; i < 30; i++)
      await expect(hashRangeGroups(failing, groups, { offload: thread })).rejects.toThrow(/EIO at 3145728/);
    const got = await hashRangeGroups(good, groups, { offload: thread });
    expect(got.map(hex)).toEqual(groups.map((g) => expected(bytes, g)));
  }, 20_000); // a lost slot shows as borrow() waiting forever

  it('hashes groups with descending ranges here, and empty groups too', async () => {
    const bytes = randomBytes(MIB, 2);
    const groups: RangeGroup<HashAlg>[] = [
      {
        ranges: [
          { start: 5000, end: 9000 },
          { start: 0, end: 100 },
        ],
        algs: ['sha256'],
        offload: true,
      },
      { ranges: [], algs: ['sha256'], offload: true },
      { ranges: [{ start: 0, end: MIB }], algs: ['sha1'], offload: true, zeroTail: 7 },
    ];
    const got = await hashRangeGroups(fromBytes(bytes), groups, { offload: thread });
    expect(got.map(hex)).toEqual(groups.map((g) => expected(bytes, g)));
  });

  it('loadUki: UKI Authenticode, section digests and kernel Authenticode equal the one-by-one ones', async () => {
    const kernel = buildPe({ sections: [{ name: '.text', data: prngBytes(300_000, 4) }] });
    const uki = buildPe({
      sections: [
        { name: '.osrel', data: new TextEncoder().encode('ID=test\n') },
        { name: '.linux', data: kernel },
        // VirtualSize past the raw data: the stub measures the loader's zero fill too
        { name: '.initrd', data: prngBytes(2 * MIB + 4321, 5), virtualSize: 2 * MIB + 4321 + 9000 },
      ],
      trailing: prngBytes(1000, 6),
    });
    const dir = await mkdtemp(join(tmpdir(), 'nodeimg-uki-'));
    try {
      await writeFile(join(dir, 'uki.efi'), uki);
      const src = await openFileSource(join(dir, 'uki.efi'));
      try {
        const banks: HashAlg[] = ['sha1', 'sha256', 'sha384'];
        const here = await loadUki(src, 'uki.efi', banks);
        const there = await loadUki(src, 'uki.efi', banks, { offload: thread });
        const pe = await parsePe(src);
        expect(hex(there.authenticode)).toEqual(hex(await authenticodeHash(src, pe, banks)));
        expect(hex(here.authenticode)).toEqual(hex(there.authenticode));
        for (const s of pe.sections) {
          const one = hex(await sectionDigest(src, pe, s, banks));
          expect(hex(await there.sectionDigest(s.index))).toEqual(one);
          expect(hex(await here.sectionDigest(s.index))).toEqual(one);
        }
        const linux = pe.sections.find((s) => s.name === '.linux');
        const ksrc = sectionSource(src, pe, linux as NonNullable<typeof linux>);
        const kernelAc = hex(await authenticodeHash(ksrc, await parsePe(ksrc), banks));
        expect(hex(there.kernel?.authenticode ?? {})).toEqual(kernelAc);
        expect(hex(here.kernel?.authenticode ?? {})).toEqual(kernelAc);
      } finally {
        await src.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses work after close()', async () => {
    const t = new HashThread();
    await t.close();
    expect(() => t.begin(['sha256'])).toThrow(/after close/);
  });
});

describe('measureFile on a UKI past HASH_THREAD_MIN_BYTES (section digests on the worker)', () => {
  it('writes the same measurements document as measuring the bytes on one thread', async () => {
    const block = prngBytes(MIB, 8);
    const initrd = new Uint8Array(HASH_THREAD_MIN_BYTES + 3 * MIB + 17);
    for (let at = 0; at < initrd.length; at += MIB) initrd.set(block.subarray(0, initrd.length - at), at);
    const uki = buildPe({
      sections: [
        { name: '.osrel', data: new TextEncoder().encode('ID=test\n') },
        { name: '.cmdline', data: new TextEncoder().encode('console=ttyS0') },
        { name: '.linux', data: buildPe({ sections: [{ name: '.text', data: prngBytes(200_000, 9) }] }) },
        { name: '.initrd', data: initrd, virtualSize: initrd.length + 4096 },
      ],
    });
    expect(uki.length).toBeGreaterThanOrEqual(HASH_THREAD_MIN_BYTES);
    const dir = await mkdtemp(join(tmpdir(), 'nodeimg-uki-'));
    try {
      await writeFile(join(dir, 'uki.efi'), uki);
      const opts = { banks: ['sha1', 'sha256', 'sha384'] as HashAlg[], secureBoot: false, stubVersion: 252 };
      const threaded = await measureFile(join(dir, 'uki.efi'), opts);
      const single = await measureSource(fromBytes(uki, join(dir, 'uki.efi')), opts);
      expect(threaded.document).toEqual(single.document);
      expect(threaded.document.pcrs['11']).toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('chunks() with reused buffers', () => {
  let dir: string;
  let file: FileSource;
  const size = 5 * MIB + 777;
  const bytes = randomBytes(size, 3);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nodeimg-chunks-'));
    await writeFile(join(dir, 'f.bin'), bytes);
    file = await openFileSource(join(dir, 'f.bin'));
  });
  afterAll(async () => {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  });

  const collect = async (src: ByteSource, offset: number, length: number, chunkSize: number) => {
    const seen = new Set<ArrayBufferLike>();
    const h = createHash('sha256');
    let n = 0;
    for await (const c of chunks(src, offset, length, chunkSize, { reuse: true })) {
      h.update(c);
      seen.add(c.buffer);
      n += c.length;
    }
    return { digest: h.digest('hex'), n, buffers: seen.size };
  };
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('a file source reads into the two buffers in turn', async () => {
    const got = await collect(file, 1000, size - 2000, MIB);
    expect(got).toEqual({ digest: sha(bytes.subarray(1000, size - 1000)), n: size - 2000, buffers: 2 });
  });

  it('a fragmented (FAT) source fills the buffer piece by piece, across runs', async () => {
    // the "volume" is the file; the file's clusters are laid out out of order
    const clusterSize = 4096;
    const clusters = Math.floor(size / clusterSize);
    const order = [7, 8, 9, 2, 3, 4, 5, 6, 10];
    for (let c = 11; c < clusters + 2; c++) order.push(c);
    const extents = order.map((c) => ({ cluster: c, count: 1 }));
    const fileSize = order.length * clusterSize - 100;
    const src = extentSource(
      file,
      { clusterSize, dataOffset: 0, clusterCount: clusters },
      { size: fileSize, firstCluster: 7 },
      'fragmented',
      () => Promise.resolve(extents),
    );
    const logical = new Uint8Array(order.length * clusterSize);
    order.forEach((c, i) =>
      logical.set(bytes.subarray((c - 2) * clusterSize, (c - 1) * clusterSize), i * clusterSize),
    );
    for (const chunkSize of [clusterSize * 3 + 5, MIB]) {
      const got = await collect(src, 10, fileSize - 10, chunkSize);
      expect(got.digest).toBe(sha(logical.subarray(10, fileSize)));
    }
  });

  it('lent buffers: a file reads in place, a copying source is copied in, every buffer comes back', async () => {
    const slotSize = 64 * 1024;
    const pool: Uint8Array[] = Array.from({ length: 4 }, () => new Uint8Array(slotSize));
    const free = [...pool];
    const lend = {
      slotSize,
      borrow: () => Promise.resolve(free.pop() as Uint8Array), // 4 suffice: one held, one in flight
      giveBack: (b: Uint8Array) => {
        expect(pool.some((p) => p.buffer === b.buffer)).toBe(true);
        free.push(pool.find((p) => p.buffer === b.buffer) as Uint8Array);
      },
    };
    for (const src of [file, fromBytes(bytes, 'copying')]) {
      const h = createHash('sha256');
      let n = 0;
      for await (const c of chunks(src, 3, 300_000, MIB, { lend })) {
        expect(c.length).toBeLessThanOrEqual(slotSize);
        expect(pool.some((p) => p.buffer === c.buffer && p.byteOffset === c.byteOffset)).toBe(true);
        h.update(c);
        n += c.length;
        lend.giveBack(c);
      }
      expect(n).toBe(300_000);
      expect(h.digest('hex')).toBe(sha(bytes.subarray(3, 300_003)));
      expect(free).toHaveLength(4);
      // a consumer that stops early: the read in flight gives its buffer back
      for await (const c of chunks(src, 0, 300_000, MIB, { lend })) {
        lend.giveBack(c);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(free).toHaveLength(4);
    }
  });
});

describe('prestartForLargeInput (nodeimg measure starts the worker before loading its modules)', () => {
  it('starts one worker for a file argument of HASH_THREAD_MIN_BYTES, none for small files or option values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nodeimg-prestart-'));
    try {
      await writeFile(join(dir, 'small.efi'), new Uint8Array(1024));
      // sparse: the size is what counts
      const big = join(dir, 'disk.raw');
      await writeFile(big, new Uint8Array(0));
      const { truncate } = await import('node:fs/promises');
      await truncate(big, HASH_THREAD_MIN_BYTES);
      const io = { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: dir };
      prestartForLargeInput(['--banks', 'sha256', 'small.efi', 'missing.raw', '--json'], io);
      expect(hasPrestartedHashThread()).toBe(false);
      // paths that stat refuses (not a directory, too long) are no reason to fail
      prestartForLargeInput(['small.efi/x', 'a'.repeat(5000), 'disk.raw'], io);
      expect(hasPrestartedHashThread()).toBe(true);
      await takeHashThread().close();
      prestartForLargeInput(['--banks', 'sha256', 'disk.raw'], io);
      expect(hasPrestartedHashThread()).toBe(true);
      prestartForLargeInput([big], io); // a second call keeps the one worker
      const first = takeHashThread();
      expect(hasPrestartedHashThread()).toBe(false);
      const second = takeHashThread();
      expect(second).not.toBe(first);
      // the prestarted worker hashes like any other
      const id = first.begin(['sha256']);
      const slot = await first.borrowed.borrow();
      slot.set([1, 2, 3]);
      first.borrowed.feedBorrowed(slot, [{ id, start: 0, end: 3 }]);
      const d = await first.digests(id);
      expect(Buffer.from(d.sha256 as Uint8Array).toString('hex')).toBe(
        createHash('sha256')
          .update(new Uint8Array([1, 2, 3]))
          .digest('hex'),
      );
      await Promise.all([first.close(), second.close()]);
      // the cleanup the CLI runs after the command closes one nobody took
      const cleanup = prestartForLargeInput([big], io);
      expect(hasPrestartedHashThread()).toBe(true);
      await cleanup();
      expect(hasPrestartedHashThread()).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
