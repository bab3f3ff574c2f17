// Benchmark: end-to-end `nodeimg release examples/minimal` with a warm build cache (issue 8: target
// < 20 s), as whole child processes into a fresh local directory store and local transparency log
// each run: build (all stages from the cache), sign and log 4 documents, publish ~2 GiB of
// artefacts (disk.raw, disk.vhd are 1 GiB each; the directory store writes every byte) and the
// version index. Anchor, same run: `cp --sparse=never` of the same output folder into a fresh
// directory, i.e. the cost of merely copying what gets published. Run after `npm run build`:
//   node bench/release.mjs [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET_S = 20;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'dist', 'pipeline', 'bin.js');
if (!existsSync(BIN)) {
  console.error('bench/release.mjs: run `npm run build` first');
  process.exit(2);
}
const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 3;
const work = mkdtempSync(join(tmpdir(), 'nodeimg-bench-release-'));
const cache = process.env.NODEIMG_CACHE ?? join(ROOT, '.cache', 'nodeimg');
const env = { ...process.env, NODEIMG_CACHE: cache, CI: '1' };
const nodeimg = (args) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`nodeimg ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { s, stdout: r.stdout };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  nodeimg(['keygen', '-o', join(work, 'keys')]);
  const out = join(work, 'out');
  const warm = nodeimg(['build', join(ROOT, 'examples', 'minimal'), '-o', out]);
  console.log(`  warm-up build (fills the cache if it was cold): ${warm.s.toFixed(2)} s`);
  const ours = [];
  const anchor = [];
  for (let run = 0; run < RUNS; run++) {
    const dir = join(work, `run-${run}`);
    const r = nodeimg([
      'release',
      join(ROOT, 'examples', 'minimal'),
      '--version',
      'v1.0.0',
      '--key',
      join(work, 'keys', 'key.pem'),
      '--store',
      `dir:${join(dir, 'store')}`,
      '--log',
      `dir:${join(dir, 'tlog')}`,
      '-o',
      out,
      '--json',
    ]);
    const summary = JSON.parse(r.stdout);
    if (!summary.newIndex) throw new Error('the release did not publish a new index');
    ours.push(r.s);
    const t0 = process.hrtime.bigint();
    execFileSync('cp', ['-r', '--sparse=never', out, join(dir, 'copy')]);
    anchor.push(Number(process.hrtime.bigint() - t0) / 1e9);
    console.log(
      `  run ${run + 1}: release ${r.s.toFixed(2)} s (${summary.written} objects), cp of the output ${anchor.at(-1).toFixed(2)} s`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
  const m = median(ours);
  const a = median(anchor);
  const ok = m < TARGET_S;
  console.log(
    `release bench examples/minimal (warm cache): nodeimg release ${m.toFixed(2)} s (target < ${TARGET_S} s) vs cp of the published output ${a.toFixed(2)} s = ratio ${(m / a).toFixed(2)} (not judged) [median of ${RUNS}, whole processes, dir store + local log] ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
