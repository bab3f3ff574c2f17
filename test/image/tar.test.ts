// image/formats/archive/tar.ts against GNU tar: the gnu, oldgnu, ustar and pax (posix) formats,
// with names beyond 100 bytes (ustar prefix, GNU 'L', pax path), a long symlink target ('K', pax
// linkpath), hard links, devices, a uid beyond the octal field (base-256, pax) and a GNU sparse
// member; then 2,000 mutations that must each end in a member list or a ParseError. (The GCE
// tarball nodeimg writes is read in test/pipeline/reproduce/tar-diff.test.ts.)
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, type TarMember } from '../../image/formats/archive/index.js';
import { fromBytes, type ByteSource } from '../../image/formats/source.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { fillRandom, Prng } from '../helpers/prng.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-tar-'));
const tree = join(tmp, 'tree');
const LONG_DIR = `d${'x'.repeat(80)}`;
const LONG_FILE = `f${'y'.repeat(60)}`;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(join(tree, LONG_DIR), { recursive: true });
  writeFileSync(join(tree, 'fstab'), '/dev/root / erofs ro 0 0\n');
  writeFileSync(join(tree, LONG_DIR, LONG_FILE), 'deep\n');
  writeFileSync(join(tree, 'big.bin'), fillRandom(new Uint8Array(5000), 9));
  symlinkSync('fstab', join(tree, 'link'));
  symlinkSync('t'.repeat(150), join(tree, 'longlink'));
  linkSync(join(tree, 'fstab'), join(tree, 'hard'));
  execFileSync('mknod', [join(tree, 'null'), 'c', '1', '3']);
  execFileSync('mkfifo', [join(tree, 'fifo')]);
  chownSync(join(tree, 'big.bin'), 3_000_000, 7); // > 07777777: base-256 (gnu) or pax
  execFileSync('truncate', ['-s', '1M', join(tree, 'sparse')]);
  execFileSync('sh', [
    '-c',
    `printf data | dd of='${join(tree, 'sparse')}' bs=1 seek=500000 conv=notrunc 2>/dev/null`,
  ]);
  execFileSync('sh', ['-c', `find '${tree}' -exec touch -h -d @1700000000 {} +`]);
});

function tar(format: string, ...extra: string[]): Buffer {
  const out = join(tmp, `${format}.tar`);
  const members = ['fstab', 'hard', 'link', 'null', 'fifo', LONG_DIR];
  // ustar has no room for a 150-byte link target, a uid of 3,000,000 or sparse files
  if (format !== 'ustar') members.push('longlink', 'big.bin', 'sparse');
  execFileSync('tar', [`--format=${format}`, ...extra, '-cf', out, '-C', tree, ...members], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return readFileSync(out);
}

async function all(src: ByteSource): Promise<TarMember[]> {
  const out: TarMember[] = [];
  for await (const m of readTar(src)) out.push(m);
  return out;
}

describe('tar reader on GNU tar archives', () => {
  for (const format of ['gnu', 'oldgnu', 'posix', 'ustar']) {
    it(`reads the ${format} format`, async () => {
      const bytes = tar(format, ...(format === 'ustar' ? [] : ['-S']));
      const src = fromBytes(bytes, `${format}.tar`);
      const ms = await all(src);
      const by = new Map(ms.map((m) => [m.name.replace(/\/$/, ''), m]));
      const fstab = by.get('fstab');
      expect(fstab).toMatchObject({ type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: 25 });
      expect(Buffer.from(await src.read(fstab?.dataOffset ?? 0, 25)).toString()).toBe(
        '/dev/root / erofs ro 0 0\n',
      );
      expect(by.get('hard')).toMatchObject({ type: 'hardlink', linkname: 'fstab', size: 0 });
      expect(by.get('link')).toMatchObject({ type: 'symlink', linkname: 'fstab' });
      expect(by.get('null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
      expect(by.get('fifo')).toMatchObject({ type: 'fifo' });
      expect(by.get(LONG_DIR)).toMatchObject({ type: 'dir' });
      const deep = by.get(`${LONG_DIR}/${LONG_FILE}`);
      expect(deep).toMatchObject({ type: 'file', size: 5 });
      expect(Buffer.from(await src.read(deep?.dataOffset ?? 0, 5)).toString()).toBe('deep\n');
      if (format !== 'ustar') {
        expect(by.get('longlink')).toMatchObject({ type: 'symlink', linkname: 't'.repeat(150) });
        const big = by.get('big.bin');
        expect(big).toMatchObject({ uid: 3_000_000, gid: 7, size: 5000 });
        expect(Buffer.from(await src.read(big?.dataOffset ?? 0, 5000))).toEqual(
          readFileSync(join(tree, 'big.bin')),
        );
      }
      if (format === 'gnu' || format === 'oldgnu')
        expect(by.get('sparse')).toMatchObject({ type: 'sparse', typeflag: 'S' });
    });
  }

  it('refuses a damaged header checksum and data running past the end', async () => {
    const bytes = tar('gnu');
    const m = new Mutator(bytes);
    m.u8(0, 0x41);
    await expect(all(fromBytes(bytes))).rejects.toMatchObject({ code: 'PARSE_INVALID', offset: 0 });
    m.restore();
    await expect(all(fromBytes(bytes.subarray(0, 700)))).rejects.toMatchObject({ code: 'PARSE_TRUNCATED' });
  });

  it('survives hostile tar archives', async () => {
    const images = [tar('gnu', '-S'), tar('posix', '-S')];
    const heads = await Promise.all(
      images.map(async (b) => (await all(fromBytes(b))).map((m) => m.headerOffset)),
    );
    const rng = new Prng(0x74617231);
    const tally = new FuzzTally('tar', 1000);
    const mutators = images.map((b) => new Mutator(b));
    for (let i = 0; i < 2_000; i++) {
      const which = rng.int(2);
      const image = images[which] as Buffer;
      const m = mutators[which] as Mutator;
      const head = rng.pick(heads[which] as number[]);
      const kind = rng.int(5);
      let input: Uint8Array = image;
      const field = rng.pick([100, 108, 116, 124, 136, 156, 257, 345, 482]);
      if (kind === 0) {
        // a numeric field in octal or base-256, with the checksum fixed so the value is parsed
        const v = interesting(rng);
        const text = rng.chance(0.5)
          ? `${v.toString(8)}\0`
          : `\x80${'\0'.repeat(6)}${String.fromCharCode(v & 0xff)}`;
        m.write(head + field, new Uint8Array([...text].map((c) => c.charCodeAt(0))));
        fixChecksum(m, image, head);
      } else if (kind === 1) {
        for (let n = 1 + rng.int(6); n > 0; n--) m.flip(head + rng.int(512), rng.int(8));
        if (rng.chance(0.7)) fixChecksum(m, image, head);
      } else if (kind === 2) input = image.subarray(0, rng.int(image.length));
      else if (kind === 3) {
        m.write(head + rng.int(512), rng.bytes(1 + rng.int(40)));
        fixChecksum(m, image, head);
      } else input = rng.bytes(rng.int(4096));
      await tally.run(`case ${i} kind ${kind}`, async () => {
        await all(fromBytes(input, 'fuzz.tar'));
      });
      m.restore();
    }
    console.log(tally.summary());
    expect(tally.ok).toBeGreaterThan(100);
    expect(tally.codes.get('PARSE_INVALID') ?? 0).toBeGreaterThan(100);
    expect(tally.codes.get('PARSE_TRUNCATED') ?? 0).toBeGreaterThan(50);
  });
});

/** Recomputes a header's checksum so a mutation reaches the field parsers. */
function fixChecksum(m: Mutator, image: Uint8Array, head: number): void {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (image[head + i] as number);
  m.write(head + 148, new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `));
}
