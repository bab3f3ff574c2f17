// Benchmark: `nodeimg reproduce` of a released examples/minimal against the original cold build,
// both measured in the same run (issue 11). Run after `npm run build`:
//   node bench/reproduce.mjs [--recipe DIR]
// Anchor: `node dist/pipeline/bin.js build <recipe> --json` as a child process with an empty stage
// cache that already holds the locked .debs (downloads are network, not timed). Then, untimed,
// `nodeimg release` of that build into a fresh dir store with a local log. Measured:
// `node dist/pipeline/bin.js reproduce --version v1.0.0 --store dir:... --key key.pub --offline
// --deb-cache <the same .debs> --json` as a child process in another folder: verification, source
// extraction, a rebuild with an empty stage cache, the comparisons and the download + check of the
// published disk.raw. Target (issue 11): reproduce wall time <= 1.2 x the cold build, and exit 0
// (reproducible).
/* global AbortController */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'dist', 'pipeline', 'bin.js');
const TARGET = 1.2;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const RECIPE = resolve(arg('--recipe', join(ROOT, 'examples', 'minimal')));
if (!existsSync(BIN)) {
  console.error('bench/reproduce.mjs: dist/pipeline/bin.js is missing; run `npm run build` first');
  process.exit(2);
}
const lib = (p) => import(pathToFileURL(join(ROOT, 'dist', ...p.split('/'))).href);
const { fetchStage, debPath } = await lib('image/build/stages/fetch.js');
const { cacheRoot } = await lib('image/build/lab/paths.js');

/** The recipe's locked .debs in the shared store (downloaded once, not timed); returns the store. */
async function sharedDebs() {
  const lock = JSON.parse(await readFile(join(RECIPE, 'nodeimg.lock.json'), 'utf8'));
  const store = join(cacheRoot(), 'build-test', 'debs');
  for (const p of lock.packages) {
    const params = {
      name: p.name,
      version: p.version,
      architecture: p.architecture,
      sha256: p.sha256,
      size: p.size,
    };
    await fetchStage.materialize({
      params,
      storeDir: store,
      signal: new AbortController().signal,
      progress: () => {},
    });
  }
  return { store, lock };
}

/**
 * One timed child process. Every timed run starts from the same state: `sync` first, so neither pays
 * for the write-back of what an untimed step before it wrote (the release writes ~2 GiB).
 */
function nodeimg(args, cwd) {
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, ...r };
}

const dir = await mkdtemp(join(tmpdir(), 'nodeimg-bench-reproduce-'));
try {
  const { store: debs, lock } = await sharedDebs();
  const cache = join(dir, 'cache');
  await mkdir(join(cache, 'debs', 'sha256'), { recursive: true });
  for (const p of lock.packages) await link(debPath(debs, p.sha256), debPath(join(cache, 'debs'), p.sha256));

  // anchor: the original cold build
  const cold = nodeimg(['build', RECIPE, '-o', join(dir, 'out'), '--cache', cache, '--json'], dir);
  if (cold.status !== 0) throw new Error(`nodeimg build exited ${cold.status}: ${cold.stderr}`);

  // the release (from the warm cache; not timed)
  const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyPem = join(dir, 'key.pem');
  const keyPub = join(dir, 'key.pub');
  await writeFile(keyPem, k.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(keyPub, k.publicKey.export({ type: 'spki', format: 'pem' }));
  const store = `dir:${join(dir, 'store')}`;
  const log = `dir:${join(dir, 'tlog')}`;
  const rel = nodeimg(
    [
      'release',
      RECIPE,
      '--version',
      'v1.0.0',
      '--store',
      store,
      '--key',
      keyPem,
      '--log',
      log,
      '--cache',
      cache,
      '-o',
      join(dir, 'out'),
      '--json',
    ],
    dir,
  );
  if (rel.status !== 0) throw new Error(`nodeimg release exited ${rel.status}: ${rel.stderr}`);
  const root = nodeimg(['log', 'trusted-root', '--log', log], dir);
  await writeFile(join(dir, 'trusted_root.json'), root.stdout);

  // measured: reproduce in another folder
  const other = join(dir, 'elsewhere');
  await mkdir(other);
  const rep = nodeimg(
    [
      'reproduce',
      '--version',
      'v1.0.0',
      '--store',
      store,
      '--key',
      keyPub,
      '--trusted-root',
      join(dir, 'trusted_root.json'),
      '--offline',
      '--state',
      join(other, 'state.json'),
      '--deb-cache',
      debs,
      '--json',
    ],
    other,
  );
  if (rep.status !== 0 && rep.status !== 1)
    throw new Error(`nodeimg reproduce exited ${rep.status}: ${rep.stderr}`);
  const report = JSON.parse(rep.stdout);
  console.log(
    `  cold build ${cold.wall.toFixed(2)} s; reproduce ${rep.wall.toFixed(2)} s (verify ${report.elapsedMs.verify} ms, rebuild ${report.elapsedMs.build} ms, compare + download ${report.elapsedMs.compare} ms); ${report.comparison.stagesCompared} stages, ${report.comparison.artefactsCompared} artefacts, ${report.comparison.measurementsCompared} PCR values compared`,
  );
  const ratio = rep.wall / cold.wall;
  const ok = ratio <= TARGET && rep.status === 0 && report.reproducible === true;
  console.log(
    `reproduce: nodeimg reproduce ${rep.wall.toFixed(2)} s vs cold nodeimg build ${cold.wall.toFixed(2)} s (same run), ratio ${ratio.toFixed(2)}, target <= ${TARGET} and reproducible (${report.reproducible ? 'yes' : 'NO'}) ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
