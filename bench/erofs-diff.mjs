// Benchmark: the reproduce diff of two erofs root file systems (pipeline/reproduce/erofs-diff.ts
// from dist/: nodeimg's own erofs reader, metadata + xattrs + sha256 of every file of both images)
// against the tool route the reproduce brief weighed, in the same run: `fsck.erofs --extract=DIR`
// of both images (erofs-utils) and `diff -r --no-dereference` of the two folders. Run after
// `npm run build`:
//   node bench/erofs-diff.mjs [--runs N]
// The images: a synthetic root of 20,000 files (16,000 small text files of 100 B - 8 KiB in 400
// folders, 4,000 binary files of 16 KiB - 256 KiB of AES-CTR keystream, about 580 MiB) made by
// mkfs.erofs with the erofs stage's options (-T, -U), and a copy of that tree with three files
// changed by one byte, made the same way; written once to $TMPDIR/nodeimg-bench-erofs-{a,b}.erofs
// and reused. Both sides are warmed once (page cache). nodeimg is timed in-process around the call
// (as reproduce calls it); the anchor as child processes, including removing its extracted folders.
// Target: median of 3 wall times <= 1.5 x the anchor, and both find exactly the three files (the
// anchor compares contents only; nodeimg also compares modes, owners, times, link targets and
// xattrs, which diff -r does not).
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RATIO_TARGET = 1.5;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 3);
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const LIB = join(DIST, 'pipeline', 'reproduce', 'erofs-diff.js');
if (!existsSync(LIB)) {
  console.error(
    'bench/erofs-diff.mjs: dist/pipeline/reproduce/erofs-diff.js is missing; run `npm run build` first',
  );
  process.exit(2);
}
const { erofsDifferences } = await import(pathToFileURL(LIB).href);
const { withFileSource } = await import(pathToFileURL(join(DIST, 'image', 'file-source.js')).href);

const IMAGE_A = join(tmpdir(), 'nodeimg-bench-erofs-a.erofs');
const IMAGE_B = join(tmpdir(), 'nodeimg-bench-erofs-b.erofs');
const CHANGED = ['/d007/text-00007.txt', '/d123/bin-00123.bin', '/d399/text-15999.txt'];
const UUID = '6e6f6465-696d-4467-a964-656269616e21';

/** The synthetic tree (deterministic: AES-CTR keystream and counters). */
async function writeTree(dir, changed) {
  const ks = createCipheriv('aes-128-ctr', Buffer.alloc(16, 3), Buffer.alloc(16));
  const zero = Buffer.alloc(256 * 1024);
  for (let d = 0; d < 400; d++) await mkdir(join(dir, `d${String(d).padStart(3, '0')}`), { recursive: true });
  for (let i = 0; i < 20_000; i++) {
    const d = `d${String(i % 400).padStart(3, '0')}`;
    let name;
    let data;
    if (i < 16_000) {
      name = `text-${String(i).padStart(5, '0')}.txt`;
      const lines = 2 + ((i * 7919) % 200);
      data = Buffer.from(
        Array.from({ length: lines }, (_, l) => `line ${l} of file ${i}: key=value-${(i * l) % 997}`).join(
          '\n',
        ) + '\n',
      );
    } else {
      name = `bin-${String(i - 16_000).padStart(5, '0')}.bin`;
      data = ks.update(zero.subarray(0, 16 * 1024 + ((i * 104729) % (240 * 1024))));
    }
    if (changed && CHANGED.includes(`/${d}/${name}`)) data[Math.floor(data.length / 2)] ^= 1;
    await writeFile(join(dir, d, name), data);
  }
}

async function ensureImages() {
  const ok = async (p) => (await stat(p).catch(() => undefined))?.isFile() === true;
  if ((await ok(IMAGE_A)) && (await ok(IMAGE_B))) return;
  const work = await mkdtemp(join(tmpdir(), 'nodeimg-bench-erofs-tree-'));
  try {
    for (const [image, changed] of [
      [IMAGE_A, false],
      [IMAGE_B, true],
    ]) {
      const tree = join(work, changed ? 'b' : 'a');
      await writeTree(tree, changed);
      spawnSync('find', [tree, '-exec', 'touch', '-h', '-d', '@1700000000', '{}', '+']);
      const r = spawnSync(
        'mkfs.erofs',
        ['--quiet', '-T', '1700000000', '-U', UUID, `${image}.partial`, tree],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`mkfs.erofs failed: ${r.stderr}`);
      await rename(`${image}.partial`, image);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');

await ensureImages();
const dir = await mkdtemp(join(tmpdir(), 'nodeimg-bench-erofs-'));
try {
  let ours = [];
  let theirs = [];
  const nodeimg = async () => {
    const t0 = process.hrtime.bigint();
    const d = await withFileSource(IMAGE_A, (a) => withFileSource(IMAGE_B, (b) => erofsDifferences(a, b)));
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    ours = d.entries.map((e) => e.path);
    return { wall, compared: d.compared };
  };
  const anchor = () => {
    const xa = join(dir, 'a');
    const xb = join(dir, 'b');
    const t0 = process.hrtime.bigint();
    for (const [image, x] of [
      [IMAGE_A, xa],
      [IMAGE_B, xb],
    ]) {
      const r = spawnSync('fsck.erofs', [`--extract=${x}`, image], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`fsck.erofs failed: ${r.stderr}`);
    }
    const r = spawnSync('diff', ['-rq', '--no-dereference', xa, xb], { encoding: 'utf8' });
    spawnSync('rm', ['-rf', xa, xb]);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    theirs = [...r.stdout.matchAll(/^Files \S+?\/[ab](\/\S+) and/gm)].map((m) => m[1]).sort();
    return wall;
  };
  const { compared } = await nodeimg();
  anchor();
  const a = [];
  const b = [];
  for (let i = 0; i < RUNS; i++) {
    a.push((await nodeimg()).wall);
    b.push(anchor());
  }
  const same =
    JSON.stringify(ours) === JSON.stringify(CHANGED) && JSON.stringify(theirs) === JSON.stringify(CHANGED);
  const size = ((await stat(IMAGE_A)).size / 1024 / 1024).toFixed(0);
  console.log(`  nodeimg erofsDifferences: ${fmt(a)} s; fsck.erofs --extract x2 + diff -rq: ${fmt(b)} s`);
  console.log(
    `  ${compared} paths compared; nodeimg found ${ours.join(' ')}; diff -rq found ${theirs.join(' ')}`,
  );
  const ratio = median(a) / median(b);
  const ok = ratio <= RATIO_TARGET && same;
  console.log(
    `erofs-diff bench 2 x ${size} MiB erofs (20,000 files): nodeimg ${median(a).toFixed(2)} s vs fsck.erofs --extract + diff -r ${median(b).toFixed(2)} s = ratio ${ratio.toFixed(2)} (target <= ${RATIO_TARGET}) [median of ${RUNS}, warm cache; nodeimg in-process, also compares metadata and xattrs; both found the 3 changed files: ${same}] ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
