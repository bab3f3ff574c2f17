// Benchmark: nodeimg writing a 1 GiB GPT disk (image/build/disk writeDisk from dist/) with a 200 MiB
// FAT32 ESP holding 150 MiB of files (10 x 15 MiB of pseudo-random bytes, incompressible, no zero
// blocks) and an empty root partition filling the rest, against `dd if=disk.raw of=copy.raw bs=4M`
// copying the produced image (all 1 GiB, zeros included: the same number of bytes the disk has)
// in the same run. Run after `npm run build`:
//   node bench/disk-write.mjs [--runs N]
// Target: median of 3 wall times <= 2 x dd. Both are warmed once first (page cache, JIT); nodeimg is
// timed in-process around the writeDisk call (inputs already in memory, as a build stage has them),
// dd as a child process. The disk written by nodeimg is sparse (zero runs are holes), dd's copy is
// not (no conv=sparse): dd writes 1 GiB, nodeimg about 150 MiB plus the FAT and GPT structures.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RATIO_TARGET = 2;
const MIB = 1024 * 1024;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const LIB = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'image', 'build', 'disk', 'index.js');
if (!existsSync(LIB)) {
  console.error('bench/disk-write.mjs: dist/image/build/disk/index.js is missing; run `npm run build` first');
  process.exit(2);
}
const { writeDisk } = await import(pathToFileURL(LIB).href);

/** `n` bytes of AES-CTR keystream for key byte `k`: incompressible and identical every run. */
function keystream(n, k) {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, k), Buffer.alloc(16));
  return new Uint8Array(Buffer.concat([c.update(Buffer.alloc(n)), c.final()]));
}

const files = Array.from({ length: 10 }, (_, i) => ({
  path: `EFI/Linux/blob${i}.bin`,
  data: keystream(15 * MIB, i + 1),
}));
const spec = {
  diskSize: 1024 * MIB,
  seed: '6e6f6465-696d-4467-a972-697465727321',
  partitions: [
    {
      type: 'esp',
      size: 200 * MIB,
      contents: {
        kind: 'fat',
        fat: { files, volumeId: 0x4e4f4445, label: 'ESP', fatType: 'FAT32', sourceDateEpoch: 1_700_000_000 },
      },
    },
    { type: 'root-x86-64', size: 'rest' },
  ],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(', ');

const dir = await mkdtemp(join(tmpdir(), 'nodeimg-bench-disk-'));
try {
  const disk = join(dir, 'disk.raw');
  const copy = join(dir, 'copy.raw');
  const nodeimg = async () => {
    await rm(disk, { force: true });
    const t0 = process.hrtime.bigint();
    await writeDisk(spec, disk);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const dd = () => {
    spawnSync('rm', ['-f', copy]);
    const t0 = process.hrtime.bigint();
    const r = spawnSync('dd', [`if=${disk}`, `of=${copy}`, 'bs=4M', 'status=none'], { encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`dd failed (${r.status}): ${r.stderr}`);
    return wall;
  };
  // warm-up
  await nodeimg();
  dd();
  const ours = [];
  const theirs = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await nodeimg());
    theirs.push(dd());
  }
  const st = await stat(disk);
  const same = spawnSync('cmp', ['-s', disk, copy]).status === 0;
  console.log(`  nodeimg writeDisk: ${fmt(ours)} s; dd bs=4M copy: ${fmt(theirs)} s`);
  console.log(
    `  disk ${st.size / MIB} MiB, ${((st.blocks * 512) / MIB).toFixed(0)} MiB allocated (sparse); dd's copy is identical: ${same}`,
  );
  const a = median(ours);
  const b = median(theirs);
  const ratio = a / b;
  const ok = ratio <= RATIO_TARGET && same;
  console.log(
    `disk-write bench 1 GiB (200 MiB FAT32 ESP, 150 MiB of files): nodeimg ${a.toFixed(3)} s vs dd bs=4M copy ${b.toFixed(3)} s = ratio ${ratio.toFixed(2)} (target <= ${RATIO_TARGET}) [median of ${RUNS}, warm cache; nodeimg in-process writeDisk, writes the disk sparse] ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
