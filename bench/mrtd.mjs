// Benchmark: whole-process wall time (Node start included) to compute the TDX MRTD of Debian sid's
// OVMF.inteltdx.ms.fd (4 MiB, 3.5 MiB measured), the way a user of the library runs it: a fresh
// `node` that imports nodeimg's TDVF parser and MRTD code from dist/, reads the file and prints
// the MRTD. Also times `nodeimg launch-digest --mode tdx` (the CLI loads every command, so its start
// is slower; reported, not judged). Run after `npm run build`:
//   node bench/mrtd.mjs [--runs N]
// Target: median of N runs (default 7, after one warm-up run) < 300 ms, and the MRTD equal to the
// single-pass value in ../shared/vectors/tdx/vectors.json. Exits non-zero when a target is missed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TARGET_MS = 300;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const VECTORS = join(ROOT, '..', 'shared', 'vectors', 'tdx', 'vectors.json');
const FIRMWARE = join(
  ROOT,
  '..',
  'shared',
  'cvm-measurement-data',
  'firmware',
  'debian-sid-ovmf-inteltdx_2026.08+ds-2',
  'OVMF.inteltdx.ms.fd',
);

for (const f of [join(DIST, 'measurements', 'cvm', 'tdx', 'mrtd.js'), join(DIST, 'pipeline', 'bin.js')]) {
  if (!existsSync(f)) {
    console.error(`bench/mrtd.mjs: ${f} is missing; run \`npm run build\` first`);
    process.exit(2);
  }
}
if (!existsSync(FIRMWARE)) {
  console.error(`bench/mrtd.mjs: ${FIRMWARE} is missing (../shared/cvm-measurement-data)`);
  process.exit(2);
}
const vectors = JSON.parse(readFileSync(VECTORS, 'utf8'));
const expected = vectors.mrtd.find((v) => v.firmware === 'sid-inteltdx')?.mrtd_single_pass;

const url = (p) => pathToFileURL(join(DIST, p)).href;
const LIB = `
import { readFile } from 'node:fs/promises';
import { fromBytes } from '${url('image/formats/source.js')}';
import { readTdvfMetadata } from '${url('image/formats/tdvf/index.js')}';
import { computeMrtd } from '${url('measurements/cvm/tdx/mrtd.js')}';
const src = fromBytes(new Uint8Array(await readFile(process.argv[1])));
const m = await computeMrtd(src, await readTdvfMetadata(src), ['single-pass']);
process.stdout.write(Buffer.from(m.get('single-pass')).toString('hex') + '\\n');
`;

function timeRun(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, out: r.stdout.trim() };
}

function measure(label, args) {
  timeRun(args); // warm the page cache and the module cache on disk
  const runs = Array.from({ length: RUNS }, () => timeRun(args));
  const times = runs.map((r) => r.ms).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const outputs = new Set(runs.map((r) => r.out));
  console.log(
    `  ${label}: median ${median.toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)}) over ${RUNS} runs; MRTD ${[...outputs].join(', ')}`,
  );
  return { median, out: [...outputs] };
}

const node = measure('node -e 0 (Node start alone)', ['-e', '0']);
const lib = measure('library process (import + read + MRTD)', ['--input-type=module', '-e', LIB, FIRMWARE]);
const cli = measure('nodeimg launch-digest --mode tdx (CLI, not judged)', [
  join(DIST, 'pipeline', 'bin.js'),
  'launch-digest',
  '--mode',
  'tdx',
  '--ovmf',
  FIRMWARE,
]);
const correct =
  lib.out.length === 1 && lib.out[0] === expected && cli.out.length === 1 && cli.out[0] === expected;
const ok = correct && lib.median < TARGET_MS;
console.log(
  `mrtd: sid TDX firmware MRTD in ${lib.median.toFixed(0)} ms whole process (target < ${TARGET_MS} ms; Node start ${node.median.toFixed(0)} ms; CLI ${cli.median.toFixed(0)} ms), ` +
    `MRTD ${correct ? 'matches the vector' : 'DIFFERS from the vector'} ${ok ? 'PASS' : 'FAIL'}`,
);
process.exit(ok ? 0 : 1);
