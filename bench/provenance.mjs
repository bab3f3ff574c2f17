// Benchmark: package provenance (issue 12) on a warm local repository holding the debian-node
// example's package set: the 114 real .debs examples/debian-node/nodeimg.lock.json pins, taken from
// the build cache ($NODEIMG_CACHE, .cache/nodeimg or ~/.cache/nodeimg: `nodeimg lock` or a build of
// the example puts them there); without them (or with --synthetic) N small made-up .debs.
// Run after `npm run build`:
//   node bench/provenance.mjs [--synthetic [--packages N]] [--runs N]
// Setup (not timed): the .debs (real ones copied to their pool paths, or made with dpkg-deb, 1-48
// KiB of incompressible data each), a signed suite
// (apt-ftparchive packages/release, InRelease clearsigned with a throwaway gpg key), served by
// node:http on 127.0.0.1.
// Timed, into an empty cache each run: authenticateSuite (InRelease + gpgv + Packages.xz checked
// against the Release) + resolvePackages of all N names + fetchDeb of each (streamed, sha256
// checked). Anchor, same run, same server: apt itself doing the same chain,
// `apt-get update` + `apt-get download <N names>` with private lists/cache directories and the
// test key as signed-by (printed, not judged: apt is C++ and fetches in parallel).
// Archive: archivePackages into a dir: store; the .deb bytes sent must equal the sum of the .deb
// sizes (stored as they are, no re-compression), and archiving again must send nothing.
// Targets (issue 12): lock + fetch median < 30 s; archive upload = sum of .deb sizes.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
/* global URL, performance */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_S = 30;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('--packages', 100);
const RUNS = arg('--runs', 3);
const lib = (p) => import(pathToFileURL(join(ROOT, 'dist', ...p.split('/'))).href);
if (!existsSync(join(ROOT, 'dist', 'pipeline', 'packages', 'index.js'))) {
  console.error('bench/provenance.mjs: dist/pipeline/packages is missing; run `npm run build` first');
  process.exit(2);
}
const apt = await lib('image/build/apt-archive/index.js');
const { archivePackages } = await lib('pipeline/packages/index.js');
const { DirStore } = await lib('pipeline/adapters/store/dir-store.js');

const run = (file, args, opts = {}) => {
  const r = spawnSync(file, args, { encoding: 'buffer', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0)
    throw new Error(`${file} ${args.slice(0, 4).join(' ')}: ${r.stderr?.toString().slice(-500)}`);
  return r.stdout;
};
// the anchor runs while this process serves the repository: never block the event loop
const runAsync = (file, args, opts = {}) => promisify(execFile)(file, args, { maxBuffer: 1 << 30, ...opts });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SUITE = 'nodeimg-bench';

// ---- setup: debs, a signed suite, a server ----
const work = await mkdtemp(join(tmpdir(), 'nodeimg-bench-prov-'));
const home = join(work, 'gnupg');
await mkdir(home, { mode: 0o700 });
const gpg = (args) =>
  run('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
gpg(['--quick-gen-key', 'nodeimg bench <bench@nodeimg.invalid>', 'ed25519', 'sign', 'never']);
const keyringPath = join(work, 'keyring.gpg');
gpg(['--output', keyringPath, '--export']);
const mirror = join(work, 'repo', 'debian');
const names = [];
let debSum = 0;
const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };

/** The debian-node lock's .debs in a build cache, or undefined naming what is missing. */
async function realSet() {
  const lock = JSON.parse(await readFile(join(ROOT, 'examples', 'debian-node', 'nodeimg.lock.json'), 'utf8'));
  const caches = [
    process.env.NODEIMG_CACHE,
    join(ROOT, '.cache', 'nodeimg'),
    process.env.XDG_CACHE_HOME && join(process.env.XDG_CACHE_HOME, 'nodeimg'),
    process.env.HOME && join(process.env.HOME, '.cache', 'nodeimg'),
  ].filter(Boolean);
  const out = [];
  for (const p of lock.packages) {
    const path = caches.map((c) => join(c, 'debs', 'sha256', `${p.sha256}.deb`)).find((f) => existsSync(f));
    if (path === undefined) return { missing: `${p.name} ${p.version} (looked in ${caches.join(', ')})` };
    out.push({ ...p, path });
  }
  return { packages: out };
}
const real = process.argv.includes('--synthetic') ? { missing: '--synthetic' } : await realSet();
if (real.packages) {
  for (const p of real.packages) {
    const target = join(mirror, p.filename);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readFile(p.path));
    names.push(p.name);
    debSum += p.size;
  }
  console.log(`  the debian-node example's ${names.length} locked .debs (${(debSum / 1e6).toFixed(1)} MB)`);
} else console.log(`  ${N} synthetic .debs (the debian-node set is not in the cache: ${real.missing})`);
for (let i = 0; i < (real.packages ? 0 : N); i++) {
  const name = `bench-pkg-${String(i).padStart(3, '0')}`;
  names.push(name);
  const pkg = join(work, 'build', name);
  await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
  await mkdir(join(pkg, 'usr/share', name), { recursive: true });
  await writeFile(
    join(pkg, 'DEBIAN/control'),
    `Package: ${name}\nVersion: 1.${i}-1\nArchitecture: amd64\nMaintainer: bench <b@nodeimg.invalid>\nSection: misc\nPriority: optional\nDescription: bench package\n`,
  );
  await writeFile(join(pkg, 'usr/share', name, 'data.bin'), randomBytes(1024 * (1 + (i % 48))));
  const pool = join(mirror, 'pool/main/b', name);
  await mkdir(pool, { recursive: true });
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', pkg, join(pool, `${name}_1.${i}-1_amd64.deb`)], {
    env,
  });
  debSum += (await stat(join(pool, `${name}_1.${i}-1_amd64.deb`))).size;
}
const bin = join(mirror, 'dists', SUITE, 'main', 'binary-amd64');
await mkdir(bin, { recursive: true });
const packagesText = run('apt-ftparchive', ['packages', 'pool'], { cwd: mirror });
await writeFile(join(bin, 'Packages'), packagesText);
await writeFile(join(bin, 'Packages.gz'), gzipSync(packagesText));
run('xz', ['-k', join(bin, 'Packages')]);
const o = (k, v) => ['-o', `APT::FTPArchive::Release::${k}=${v}`];
const release = run(
  'apt-ftparchive',
  [
    ...o('Suite', SUITE),
    ...o('Codename', SUITE),
    ...o('Architectures', 'amd64'),
    ...o('Components', 'main'),
    ...o('ValidTime', '604800'),
    'release',
    join('dists', SUITE),
  ],
  { cwd: mirror },
);
await writeFile(join(mirror, 'dists', SUITE, 'Release'), release);
gpg([
  '--digest-algo',
  'SHA256',
  '--clearsign',
  '--output',
  join(mirror, 'dists', SUITE, 'InRelease'),
  join(mirror, 'dists', SUITE, 'Release'),
]);
const server = createServer((req, res) => {
  const rel = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
  readFile(join(work, 'repo', rel)).then(
    (b) => res.writeHead(200, { 'content-length': b.length }).end(req.method === 'HEAD' ? undefined : b),
    () => res.writeHead(404).end(),
  );
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/debian`;
const keyring = await apt.loadKeyring(keyringPath);

// ---- timed: nodeimg lock + fetch ----
async function ours(i) {
  const debDir = join(work, `ours-${i}`, 'debs');
  const metaDir = join(work, `ours-${i}`, 'meta');
  const t = performance.now();
  const suite = await apt.authenticateSuite({
    mirror: url,
    suite: SUITE,
    architecture: 'amd64',
    keyring,
    clock: { now: () => Date.now() },
    metaDir,
  });
  const locked = apt.resolvePackages([suite], names).map(apt.provenanceOf);
  for (const p of locked) await apt.fetchDeb(p, p.url, debDir);
  return { s: (performance.now() - t) / 1000, locked, debDir, metaDir };
}

// ---- anchor: apt-get update + apt-get download ----
async function anchor(i) {
  const d = join(work, `apt-${i}`);
  await mkdir(join(d, 'lists', 'partial'), { recursive: true });
  await mkdir(join(d, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(d, 'out'), { recursive: true });
  await writeFile(join(d, 'sources.list'), `deb [signed-by=${keyringPath}] ${url} ${SUITE} main\n`);
  const opts = [
    '-q',
    '-o',
    `Dir::Etc::SourceList=${join(d, 'sources.list')}`,
    '-o',
    'Dir::Etc::SourceParts=/nonexistent',
    '-o',
    `Dir::State::Lists=${join(d, 'lists')}`,
    '-o',
    `Dir::Cache=${join(d, 'cache')}`,
    '-o',
    'APT::Sandbox::User=root',
    '-o',
    'Acquire::Languages=none',
  ];
  const t = performance.now();
  await runAsync('apt-get', [...opts, 'update']);
  await runAsync('apt-get', [...opts, 'download', ...names], { cwd: join(d, 'out') });
  const s = (performance.now() - t) / 1000;
  const got = (await readdir(join(d, 'out'))).filter((f) => f.endsWith('.deb')).length;
  if (got !== names.length) throw new Error(`apt-get download fetched ${got} of ${names.length}`);
  return s;
}

let ok;
try {
  const a = [];
  const b = [];
  let last;
  await ours('warmup');
  await anchor('warmup');
  for (let i = 0; i < RUNS; i++) {
    last = await ours(i);
    a.push(last.s);
    b.push(await anchor(i));
  }
  console.log(
    `  nodeimg authenticate + resolve + fetch ${names.length} debs: ${a.map((x) => x.toFixed(3)).join(', ')} s`,
  );
  console.log(
    `  apt-get update + apt-get download ${names.length} debs: ${b.map((x) => x.toFixed(3)).join(', ')} s`,
  );
  const sumLocked = last.locked.reduce((n, p) => n + p.size, 0);
  if (sumLocked !== debSum) throw new Error(`locked sizes ${sumLocked} != pool ${debSum}`);

  // ---- archive upload size ----
  const store = new DirStore(join(work, 'store'));
  const t = performance.now();
  const r1 = await archivePackages(store, {
    packages: last.locked,
    debDir: last.debDir,
    metaDir: last.metaDir,
    keyring,
    architecture: 'amd64',
  });
  const archiveS = (performance.now() - t) / 1000;
  const sent = r1.objects
    .filter((x) => x.kind === 'deb' && x.result === 'created')
    .reduce((n, x) => n + x.size, 0);
  let stored = 0;
  for (const f of await readdir(join(work, 'store', 'packages', 'sha256')))
    stored += (await stat(join(work, 'store', 'packages', 'sha256', f))).size;
  const meta = r1.objects.filter((x) => x.kind !== 'deb').reduce((n, x) => n + x.size, 0);
  const r2 = await archivePackages(store, {
    packages: last.locked,
    debDir: last.debDir,
    metaDir: last.metaDir,
    keyring,
    architecture: 'amd64',
  });
  console.log(
    `  archive: ${r1.objects.filter((x) => x.kind === 'deb').length} debs, sent ${sent} B, stored ${stored} B, sum of .deb sizes ${debSum} B; + ${meta} B of InRelease/Packages.xz; ${archiveS.toFixed(3)} s; again: ${r2.uploadedBytes} B sent`,
  );
  const med = median(a);
  const ratio = med / median(b);
  ok = med < TARGET_S && sent === debSum && stored === debSum && r2.uploadedBytes === 0;
  const digest = createHash('sha256').update(r1.provenance.text).digest('hex').slice(0, 16);
  console.log(
    `provenance bench ${real.packages ? `debian-node's ${names.length}` : `${names.length} synthetic`} debs (warm local repo): nodeimg lock+fetch ${med.toFixed(3)} s vs apt-get update+download ${median(b).toFixed(3)} s = ratio ${ratio.toFixed(2)} (not judged) (target < ${TARGET_S} s); archive upload ${sent} B = sum of .deb sizes ${debSum} B (target: equal), re-archive ${r2.uploadedBytes} B; packages.json ${digest}… ${ok ? 'PASS' : 'FAIL'}`,
  );
} finally {
  server.close();
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  await rm(work, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
