// Benchmark: `nodeimg fetch-measurements --offline` with full verification (pointer, signed version
// index and its bundle, measurements.json digest + bundle, schema, enforced set, rollback state) of
// a release published into a local directory store, as a whole child process, median over 20 runs
// (issue 9: target < 300 ms including Node's start-up). Anchor, same run: `node -e 0` (Node's
// start-up alone), printed for context. The release is made in-process with publishRelease from
// dist (a small document set; the cost being measured is the verifier's, not the build's).
// Run after `npm run build`: node bench/fetch-measurements.mjs [--runs N]
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TARGET_MS = 300;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'pipeline', 'bin.js');
if (!existsSync(BIN)) {
  console.error('bench/fetch-measurements.mjs: run `npm run build` first');
  process.exit(2);
}
const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 20;
const load = (p) => import(pathToFileURL(join(DIST, p)).href);
const { KeySigner } = await load('pipeline/adapters/key-signer.js');
const { LocalLog } = await load('pipeline/adapters/local-log/local-log.js');
const { DirStore } = await load('pipeline/adapters/store/dir-store.js');
const { publishRelease } = await load('pipeline/release/publish.js');
const { canonicalText } = await load('pipeline/release/canonical-text.js');
const { coordinates } = await load('pipeline/release/names.js');
const { sha256Hex } = await load('pipeline/release/version-index.js');

const work = mkdtempSync(join(tmpdir(), 'nodeimg-bench-fetch-'));
try {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyPub = join(work, 'key.pub');
  writeFileSync(keyPub, publicKey.export({ type: 'spki', format: 'pem' }));
  const signer = KeySigner.fromPem(
    privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'bench',
    {},
  );
  const log = await LocalLog.open(join(work, 'tlog'), { now: () => Date.now() });
  const root = join(work, 'trusted_root.json');
  writeFileSync(root, JSON.stringify(log.trustedRoot()));
  const disk = join(work, 'disk.raw');
  const bytes = Buffer.alloc(1 << 20, 1);
  writeFileSync(disk, bytes);
  const h = (s, n) => sha256Hex(s).repeat(2).slice(0, n);
  const pcr = (k) => ({
    origin: 'image',
    expected: { sha256: h(`p${k}`, 64), sha384: h(`q${k}`, 96) },
    events: Array.from({ length: 8 }, (_, e) => ({
      type: 'EV_IPL',
      digests: { sha256: h(`e${k}${e}`, 64), sha384: h(`f${k}${e}`, 96) },
      data: null,
      description: `event ${e} of PCR ${k}`,
    })),
  });
  const doc = {
    $schema: 'https://nodeimg.dev/schema/measurements/v1.json',
    image: {
      name: 'disk.raw',
      kind: 'disk',
      uki: 'EFI/BOOT/BOOTX64.EFI',
      ukiAuthenticode: { sha256: h('u', 64) },
    },
    boot: {
      mode: 'direct',
      secureBoot: false,
      firmware: 'ovmf',
      systemdStub: '252',
      stubRules: 252,
      systemdBoot: null,
      kernel: '6.1',
    },
    banks: ['sha256', 'sha384'],
    pcrs: Object.fromEntries([4, 5, 7, 9, 11, 12, 13].map((k) => [String(k), pcr(k)])),
    notPredicted: [],
    pcr11Phases: [],
    warnings: [],
  };
  for (const version of ['v1.0.0', 'v1.1.0', 'v1.2.0'])
    await publishRelease({
      store: new DirStore(join(work, 'store')),
      coords: coordinates(version),
      name: 'bench',
      artefacts: [{ name: 'disk.raw', path: disk, sha256: sha256Hex(bytes), size: bytes.length }],
      manifestText: canonicalText({ bench: version }),
      measurements: doc,
      signer,
      log,
    });
  await log.close();
  const args = [
    BIN,
    'fetch-measurements',
    '--version',
    'v1.2.0',
    '--store',
    `dir:${join(work, 'store')}`,
    '--key',
    keyPub,
    '--trusted-root',
    root,
    '--offline',
    '--state',
    join(work, 'state.json'),
    '-o',
    join(work, 'out.json'),
  ];
  const time = (argv) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
    return ms;
  };
  time(args);
  time(['-e', '0']);
  const ours = [];
  const bare = [];
  for (let run = 0; run < RUNS; run++) {
    ours.push(time(args));
    bare.push(time(['-e', '0']));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const m = median(ours);
  const ok = m < TARGET_MS;
  console.log(`  runs: min ${Math.min(...ours).toFixed(0)} ms, max ${Math.max(...ours).toFixed(0)} ms`);
  console.log(
    `fetch-measurements bench (offline, full verification, dir store, 3 released versions): median ${m.toFixed(0)} ms over ${RUNS} whole-process runs (target < ${TARGET_MS} ms) vs node -e 0 ${median(bare).toFixed(0)} ms = ratio ${(m / median(bare)).toFixed(2)} (not judged) ${ok ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
