// Benchmark: nodeimg's dm-verity (image/build/verity writeVerityHashImage from dist/: the leaf level
// hashed on worker threads, the upper levels on the main thread) over a 1 GiB file of AES-CTR
// keystream, against `veritysetup format` on the same file with the same salt and UUID, in the same
// run. Run after `npm run build`:
//   node bench/verity.mjs [--runs N] [--workers N]
// Target: median of 3 wall times <= 1.0 x veritysetup (issue 6; both cores may be used). Both are
// warmed once first (page cache, JIT); nodeimg is timed in-process around the call (as a build stage
// calls it), veritysetup as a child process. The root hashes and the hash files must be identical.
// The data file is written once to $TMPDIR/nodeimg-bench-verity-1g.img and reused by later runs.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RATIO_TARGET = 1.0;
const MIB = 1024 * 1024;
const SIZE = 1024 * MIB;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 3);
const WORKERS = arg('--workers', undefined);
const LIB = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'image', 'build', 'verity.js');
if (!existsSync(LIB)) {
  console.error('bench/verity.mjs: dist/image/build/verity.js is missing; run `npm run build` first');
  process.exit(2);
}
const { writeVerityHashImage } = await import(pathToFileURL(LIB).href);

const SALT = Buffer.alloc(32, 0xab);
const UUID = '6e6f6465-696d-4467-a972-697465727321';
const DATA = join(tmpdir(), 'nodeimg-bench-verity-1g.img');

/** 1 GiB of AES-CTR keystream (incompressible, the same every time), written once. */
async function ensureData() {
  const st = await stat(DATA).catch(() => undefined);
  if (st?.size === SIZE) return;
  const tmp = `${DATA}.partial`;
  const fh = await open(tmp, 'w');
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  const zero = Buffer.alloc(64 * MIB);
  for (let at = 0; at < SIZE; at += zero.length) await fh.write(c.update(zero), 0, zero.length, at);
  await fh.close();
  await rename(tmp, DATA);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(', ');

await ensureData();
const dir = await mkdtemp(join(tmpdir(), 'nodeimg-bench-verity-'));
try {
  const ours = join(dir, 'ours.hash');
  const theirs = join(dir, 'theirs.hash');
  let ourRoot = '';
  let theirRoot = '';
  const nodeimg = async () => {
    await rm(ours, { force: true });
    const t0 = process.hrtime.bigint();
    const r = await writeVerityHashImage(DATA, ours, {
      salt: SALT,
      uuid: UUID,
      ...(WORKERS === undefined ? {} : { workers: WORKERS }),
    });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    ourRoot = r.rootHash;
    return wall;
  };
  const veritysetup = () => {
    spawnSync('rm', ['-f', theirs]);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(
      'veritysetup',
      ['format', '--salt', SALT.toString('hex'), '--uuid', UUID, DATA, theirs],
      { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin`, LC_ALL: 'C' } },
    );
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`veritysetup failed (${r.status}): ${r.stderr}`);
    theirRoot = /^Root hash:\s+([0-9a-f]+)$/m.exec(r.stdout)?.[1] ?? '';
    return wall;
  };
  await nodeimg();
  veritysetup();
  const a = [];
  const b = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(await nodeimg());
    b.push(veritysetup());
  }
  const sameFile = spawnSync('cmp', ['-s', ours, theirs]).status === 0;
  const same = sameFile && ourRoot === theirRoot && ourRoot !== '';
  console.log(`  nodeimg writeVerityHashImage: ${fmt(a)} s; veritysetup format: ${fmt(b)} s`);
  console.log(
    `  root hash nodeimg ${ourRoot}, veritysetup ${theirRoot}; hash files identical: ${sameFile} (${(await stat(ours)).size} bytes)`,
  );
  const ratio = median(a) / median(b);
  const ok = ratio <= RATIO_TARGET && same;
  console.log(
    `verity bench 1 GiB (sha256, 4 KiB blocks, 32-byte salt): nodeimg ${median(a).toFixed(3)} s vs veritysetup format ${median(b).toFixed(3)} s = ratio ${ratio.toFixed(2)} (target <= ${RATIO_TARGET}) [median of ${RUNS}, warm cache; nodeimg in-process, ${WORKERS ?? 'default'} worker threads; same root hash and bytes: ${same}] ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
