// Benchmark: nodeimg's streaming Authenticode sha256 of a 512 MiB PE image against `sha256sum` of
// the same file, and the peak RSS of the hashing process. Run after `npm run build`:
//   node bench/authenticode.mjs [--size-mib N]
// Targets: wall time <= 1.15 x sha256sum (median of 3 warm runs), child peak RSS < 120 MiB.
// Exits non-zero when a target is missed. The page cache cannot be dropped (no root assumptions),
// so both commands are run once to warm it before the measured runs.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RATIO_TARGET = 1.15;
const RSS_TARGET_MIB = 120;
const RUNS = 3;
const CHUNK_SIZES_MIB = [1, 2, 4, 8];
const MIB = 1024 * 1024;

const sizeArg = process.argv.indexOf('--size-mib');
const SIZE_MIB = sizeArg > 0 ? Number(process.argv[sizeArg + 1]) : 512;
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'image');
if (!existsSync(join(DIST, 'formats', 'pe', 'index.js'))) {
  console.error(
    'bench/authenticode.mjs: dist/image/formats/pe/index.js is missing; run `npm run build` first',
  );
  process.exit(2);
}

/** PE32+ headers (one section .data covering the rest of the file) for a file of `total` bytes. */
function headers(total) {
  const h = Buffer.alloc(0x400);
  h.write('MZ', 0, 'latin1');
  h.writeUInt32LE(0x80, 0x3c);
  h.write('PE\0\0', 0x80, 'latin1');
  const coff = 0x84;
  h.writeUInt16LE(0x8664, coff); // Machine amd64
  h.writeUInt16LE(1, coff + 2); // NumberOfSections
  h.writeUInt16LE(240, coff + 16); // SizeOfOptionalHeader (PE32+, 16 directories)
  h.writeUInt16LE(0x0206, coff + 18);
  const opt = coff + 20;
  h.writeUInt16LE(0x20b, opt);
  h.writeUInt32LE(0x1000, opt + 32); // SectionAlignment
  h.writeUInt32LE(0x200, opt + 36); // FileAlignment
  h.writeUInt32LE(0x1000 + total, opt + 56); // SizeOfImage
  h.writeUInt32LE(0x400, opt + 60); // SizeOfHeaders
  h.writeUInt16LE(10, opt + 68); // EFI application
  h.writeUInt32LE(16, opt + 108); // NumberOfRvaAndSizes
  const sec = opt + 240;
  h.write('.data', sec, 'latin1');
  h.writeUInt32LE(total - 0x400, sec + 8); // VirtualSize
  h.writeUInt32LE(0x1000, sec + 12); // VirtualAddress
  h.writeUInt32LE(total - 0x400, sec + 16); // SizeOfRawData
  h.writeUInt32LE(0x400, sec + 20); // PointerToRawData
  return h;
}

async function makeImage(path, total) {
  const fh = await open(path, 'w');
  try {
    await fh.write(headers(total), 0, 0x400, 0);
    const block = randomFillSync(Buffer.alloc(8 * MIB)); // real bytes: no sparse file
    for (let pos = 0x400; pos < total; pos += block.length)
      await fh.write(block, 0, Math.min(block.length, total - pos), pos);
  } finally {
    await fh.close();
  }
}

/** Runs a command under /usr/bin/time; returns wall seconds, peak RSS (MiB) and stdout. */
function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 16 * MIB });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const rssKiB = Number(r.stderr.trim().split('\n').pop());
  return { wall, rssMiB: rssKiB / 1024, stdout: r.stdout.trim() };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await mkdtemp(join(tmpdir(), 'nodeimg-bench-'));
try {
  const image = join(dir, 'big.efi');
  const script = join(dir, 'hash.mjs');
  await makeImage(image, SIZE_MIB * MIB);
  await writeFile(
    script,
    `import { withFileSource } from ${JSON.stringify(pathToFileURL(join(DIST, 'file-source.js')).href)};
import { parsePe, authenticodeHash } from ${JSON.stringify(pathToFileURL(join(DIST, 'formats', 'pe', 'index.js')).href)};
const [file, chunk] = process.argv.slice(2);
const d = await withFileSource(file, async (src) => authenticodeHash(src, await parsePe(src), ['sha256'], chunk ? { chunkSize: Number(chunk) } : {}));
console.log(Buffer.from(d.sha256).toString('hex'));
`,
  );
  const node = process.execPath;
  // Warm the page cache and both programs.
  timed('sha256sum', [image]);
  timed(node, [script, image]);

  const sums = Array.from({ length: RUNS }, () => timed('sha256sum', [image]).wall);
  const base = median(sums);
  const digests = new Set();
  const perChunk = {};
  for (const mib of CHUNK_SIZES_MIB) {
    const runs = Array.from({ length: RUNS }, () => timed(node, [script, image, String(mib * MIB)]));
    runs.forEach((r) => digests.add(r.stdout));
    perChunk[mib] = { wall: median(runs.map((r) => r.wall)), rss: Math.max(...runs.map((r) => r.rssMiB)) };
    console.log(
      `  chunk ${mib} MiB: median ${perChunk[mib].wall.toFixed(3)} s, peak RSS ${perChunk[mib].rss.toFixed(1)} MiB`,
    );
  }
  // The default chunk size (what users get) is what the targets judge.
  const def = Array.from({ length: RUNS }, () => timed(node, [script, image]));
  def.forEach((r) => digests.add(r.stdout));
  const wall = median(def.map((r) => r.wall));
  const rss = Math.max(...def.map((r) => r.rssMiB));
  if (digests.size !== 1) throw new Error(`chunk sizes gave different digests: ${[...digests].join(', ')}`);
  const ratio = wall / base;
  const ok = ratio <= RATIO_TARGET && rss < RSS_TARGET_MIB;
  console.log(`  sha256sum: median ${base.toFixed(3)} s (${sums.map((s) => s.toFixed(3)).join(', ')})`);
  console.log(
    `authenticode bench ${SIZE_MIB} MiB: nodeimg ${wall.toFixed(3)} s vs sha256sum ${base.toFixed(3)} s = ratio ${ratio.toFixed(2)} (target <= ${RATIO_TARGET}), ` +
      `peak RSS ${rss.toFixed(1)} MiB (target < ${RSS_TARGET_MIB}), ${(SIZE_MIB / wall).toFixed(0)} MiB/s, digest ${[...digests][0].slice(0, 16)}… ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
