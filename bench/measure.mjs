// Benchmark: `nodeimg measure` of a lab-style GPT disk whose UKI carries a 64 MiB initrd, against
// `systemd-measure calculate` (systemd 252) over the same UKI sections, already extracted to files,
// timed in the same run. Run after `npm run build`:
//   node bench/measure.mjs [--initrd-mib N] [--runs N] [--profile] [--keep]
// Target: nodeimg wall time <= 1.5 x systemd-measure (median of 5 runs after 1 warm-up each, both
// with the sha256 bank only). The comparison is lopsided on purpose and the summary line says so:
// nodeimg reads the disk (GPT, FAT32, the UKI file) and predicts PCRs 4, 5, 9, 11, 12 and 13
// (Authenticode of the UKI and of the embedded kernel, the initrd as the kernel measures it, the
// GPT, ...), systemd-measure gets the section files and computes PCR 11 only.
// Also printed, not judged: the three banks nodeimg predicts by default against systemd-measure with
// the same three banks, nodeimg on the bare UKI (no GPT/FAT), and a floor: a few lines of node that
// read the UKI once and sha256 it (what any Node implementation pays at least: start-up + one pass).
// --profile also runs nodeimg once under `node --cpu-prof` and prints where its time goes, and counts
// the bytes nodeimg's measureSource reads, by the function that reads them.
// --keep leaves the built files (disk, UKI, sections) in the temporary folder and prints its path.
// Exits non-zero when the target is missed or the two tools disagree on PCR 11.
//
// The disk: the lab's buildUki (image/build/lab/uki.ts) with the random initrd, then a disk built
// like the lab's buildDisk (image/build/lab/disk.ts) but with a larger ESP: buildDisk always uses
// LAB_DISK (64 MiB ESP, config.ts), which cannot hold a 64 MiB initrd plus the kernel, and takes no
// geometry option. diskWithEsp() below repeats its steps (sfdisk with the lab's sfdiskScript and
// GUIDs, mkfs.fat + mmd + mcopy under faketime) with a bigger espSectors.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RATIO_TARGET = 1.5;
const MIB = 1024 * 1024;
const SYSTEMD_MEASURE = '/usr/lib/systemd/systemd-measure';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const INITRD_MIB = arg('--initrd-mib', 64);
const RUNS = arg('--runs', 5);
const PROFILE = process.argv.includes('--profile');
const KEEP = process.argv.includes('--keep');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'pipeline', 'bin.js');
const need = [BIN, join(DIST, 'image', 'build', 'lab', 'index.js')];
for (const f of need) {
  if (!existsSync(f)) {
    console.error(`bench/measure.mjs: ${f} is missing; run \`npm run build\` first`);
    process.exit(2);
  }
}
if (!existsSync(SYSTEMD_MEASURE)) {
  console.error(`bench/measure.mjs: ${SYSTEMD_MEASURE} is missing (Debian package systemd >= 252)`);
  process.exit(2);
}
if (spawnSync(process.execPath, [BIN, 'measure', '--help'], { encoding: 'utf8' }).status !== 0) {
  console.error('bench/measure.mjs: this build has no `nodeimg measure` command; run `npm run build` first');
  process.exit(2);
}

const lab = await import(pathToFileURL(join(DIST, 'image', 'build', 'lab', 'index.js')).href);
const { LAB_OS_RELEASE, fakeTimeArgv } = await import(
  pathToFileURL(join(DIST, 'image', 'build', 'lab', 'config.js')).href
);
const { sfdiskScript, espDirs } = await import(
  pathToFileURL(join(DIST, 'image', 'build', 'lab', 'disk.js')).href
);
const { runTool, DEFAULT_SOURCE_DATE_EPOCH } = await import(
  pathToFileURL(join(DIST, 'image', 'build', 'run-tool.js')).href
);

/** `mib` MiB of AES-128-CTR keystream (zero key and IV): random-looking, incompressible, the same every run. */
async function writeRandomInitrd(path, mib) {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16));
  const zero = Buffer.alloc(8 * MIB);
  const fh = await open(path, 'w');
  try {
    for (let left = mib * MIB; left > 0; left -= zero.length) {
      const n = Math.min(left, zero.length);
      await fh.write(cipher.update(zero.subarray(0, n)));
    }
  } finally {
    await fh.close();
  }
}

/** buildDisk (image/build/lab/disk.ts) with the lab's GUIDs and volume id but an ESP of espMib MiB. */
async function diskWithEsp(files, outFile, espMib, work) {
  const d = { ...lab.LAB_DISK, espSectors: espMib * 2048 };
  const epoch = DEFAULT_SOURCE_DATE_EPOCH;
  const run = (file, args) => {
    const [f, a] = fakeTimeArgv(epoch, file, args);
    return runTool(f, a, { sourceDateEpoch: epoch, env: { MTOOLS_SKIP_CHECK: '1' }, timeoutMs: 120_000 });
  };
  const esp = join(work, 'esp.img');
  await writeFile(outFile, '');
  await truncate(outFile, (d.espStartSector + d.espSectors + d.tailSectors) * 512);
  await runTool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', outFile], {
    input: sfdiskScript(d),
    timeoutMs: 60_000,
  });
  await writeFile(esp, '');
  await truncate(esp, d.espSectors * 512);
  await run('mkfs.fat', ['-F', '32', '-n', 'ESP', '-i', d.fatVolumeId, '-h', String(d.espStartSector), esp]);
  const dirs = espDirs(files.map((f) => f.path));
  if (dirs.length > 0) await run('mmd', ['-i', esp, ...dirs.map((x) => `::${x}`)]);
  for (const f of files) await run('mcopy', ['-i', esp, f.source, `::${f.path}`]);
  // copy the ESP into the disk, skipping zero blocks (the disk stays sparse, like writeSparse)
  const src = await open(esp, 'r');
  const dst = await open(outFile, 'r+');
  try {
    const buf = Buffer.alloc(MIB);
    for (let pos = 0; pos < d.espSectors * 512; pos += buf.length) {
      const { bytesRead } = await src.read(buf, 0, buf.length, pos);
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.some((b) => b !== 0)) await dst.write(chunk, 0, bytesRead, d.espStartSector * 512 + pos);
    }
  } finally {
    await src.close();
    await dst.close();
  }
  await rm(esp);
}

function objcopySection(uki, section, out) {
  const r = spawnSync('objcopy', ['-O', 'binary', `--only-section=${section}`, uki, out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`objcopy ${section} failed (${r.status}): ${r.stderr}`);
}

async function sha256File(path) {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c);
  return h.digest('hex');
}

/** Wall seconds and stdout of one child process. */
function timed(cmd, args, env = process.env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MIB, env });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { wall, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(', ');

/** PCR 11 values (hex, by bank) from `systemd-measure calculate` text output ("11:sha256=..."). */
function measurePcr11(stdout) {
  const out = {};
  for (const m of stdout.matchAll(/^\s*11:(sha\d+)=([0-9a-f]+)\s*$/gm)) out[m[1]] = m[2];
  return out;
}

/** Where a CPU-profile sample's time goes, from its stack (leaf first). */
function category(stack) {
  const leaf = stack[0].callFrame;
  const urls = stack.map((n) => n.callFrame.url);
  if (
    urls.some((u) => u.includes('/node_modules/ajv/')) ||
    stack.some((n) => n.callFrame.url.includes('/schema/validate.js'))
  )
    return 'schema validation (ajv import + compile)';
  if (urls.some((u) => u.startsWith('node:internal/modules/'))) return 'module loading (ESM graph)';
  if (urls.some((u) => u.includes('/formats/fat/table.js'))) return 'FAT cluster-chain walk';
  if (leaf.functionName === 'update' && leaf.url === 'node:internal/crypto/hash')
    return 'hashing (crypto update)';
  if (leaf.functionName === 'read' && leaf.url === '') return 'file reads (fs read)';
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.functionName === '(idle)') return 'idle (waiting for I/O)';
  if (leaf.functionName === '(program)') return '(program: V8/native, unattributed)';
  return 'other JS';
}

/** Runs nodeimg once under --cpu-prof; prints time by category and the top self-time frames. */
async function profile(args, dir) {
  const profDir = join(dir, 'prof');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * MIB,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`profiled run failed: ${r.stderr}`);
  const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  const p = JSON.parse(await readFile(join(profDir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const rootUrl = `${pathToFileURL(ROOT).href}/`;
  const key = (n) => {
    const f = n.callFrame;
    const url = f.url.replace(rootUrl, '');
    return `${f.functionName || '(anonymous)'}${url ? ` ${url}:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const cats = new Map();
  let all = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1e3; // ms
    all += dt;
    const stack = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur));
    const k = key(stack[0]);
    self.set(k, (self.get(k) ?? 0) + dt);
    const c = category(stack);
    cats.set(c, (cats.get(c) ?? 0) + dt);
  });
  const pct = (ms) => `${ms.toFixed(0).padStart(5)} ms ${((100 * ms) / all).toFixed(0).padStart(3)}%`;
  console.log(
    `  profile: one \`nodeimg measure --banks sha256\` under --cpu-prof (wall ${wall.toFixed(3)} s; ${all.toFixed(0)} ms sampled after V8 start-up):`,
  );
  for (const [c, ms] of [...cats].sort((a, b) => b[1] - a[1])) console.log(`    ${pct(ms)}  ${c}`);
  console.log('    top self time:');
  for (const [k, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 8))
    console.log(`    ${pct(ms)}  ${k}`);
}

/**
 * Bytes nodeimg's measureSource (dist/image/measure.js) reads from the UKI file, by the function
 * that asked for them (V8 async stack traces; reads through the FAT layer lose their callers, so
 * the bare UKI is used: the same PE, the same reads, minus GPT and FAT).
 */
async function bytesByReader(ukiPath, dir) {
  const script = join(dir, 'bytes.mjs');
  await writeFile(
    script,
    `import { openFileSource } from ${JSON.stringify(pathToFileURL(join(DIST, 'image', 'file-source.js')).href)};
import { measureSource } from ${JSON.stringify(pathToFileURL(join(DIST, 'image', 'measure.js')).href)};
Error.stackTraceLimit = 64;
const WHO = [
  ['hashRangeGroups', 'one pass: UKI + kernel Authenticode (PCR 4), section digests (PCR 11, and PCR 9 when .initrd is served as is): binaries.ts loadUki -> hashRangeGroups'],
  ['kernelOf', 'Authenticode of the kernel in .linux (PCR 4): binaries.ts kernelOf'],
  ['efiBinaryOf', 'Authenticode of the UKI (PCR 4): binaries.ts efiBinaryOf'],
  ['initrdOf', 'initrd handed to the kernel (PCR 9): stub.ts initrdOf'],
  ['sectionDigest', 'PCR 11 section digests: stub.ts predictStub -> uki.sectionDigest'],
  ['hashRanges', 'PCR 11 section digests: stub.ts predictStub -> uki.sectionDigest'],
];
const src = await openFileSource(process.argv[2]);
const by = new Map();
let total = 0;
const counted = { ...src, read(offset, length) {
  const stack = new Error().stack ?? '';
  const who = WHO.find(([fn]) => stack.includes(' ' + fn + ' (') || stack.includes('.' + fn + ' ('))?.[1] ?? 'headers, markers, small sections';
  by.set(who, (by.get(who) ?? 0) + length);
  total += length;
  return src.read(offset, length);
} };
try {
  await measureSource(counted, { banks: ['sha256'], secureBoot: false, phases: [] });
} finally {
  await src.close();
}
console.log(JSON.stringify({ total, by: Object.fromEntries(by) }));
`,
  );
  const r = spawnSync(process.execPath, [script, ukiPath], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(
      `  (byte count skipped: dist/image/measure.js measureSource failed: ${r.stderr.trim().split('\n').pop()})`,
    );
    return;
  }
  const { total, by } = JSON.parse(r.stdout);
  const size = (await stat(ukiPath)).size;
  console.log(
    `  bytes measureSource reads from the ${(size / MIB).toFixed(1)} MiB UKI: ${(total / MIB).toFixed(1)} MiB = ${(total / size).toFixed(2)} x the file (systemd-measure: 1 x):`,
  );
  for (const [who, n] of Object.entries(by).sort((a, b) => b[1] - a[1]))
    console.log(`    ${(n / MIB).toFixed(1).padStart(6)} MiB  ${who}`);
}

const dir = await mkdtemp(join(tmpdir(), 'nodeimg-bench-measure-'));
try {
  // ---- build (not timed) ------------------------------------------------------------------------
  const tBuild = Date.now();
  const inputs = await lab.fetchLabInputs();
  const initrd = join(dir, 'initrd.img');
  await writeRandomInitrd(initrd, INITRD_MIB);
  const uki = join(dir, 'uki.efi');
  await lab.buildUki({
    stub: inputs.stub,
    kernel: inputs.kernel,
    initrd,
    cmdline: lab.LAB_CMDLINE,
    osRelease: LAB_OS_RELEASE,
    outFile: uki,
  });
  const ukiSize = (await stat(uki)).size;
  // room for the UKI, FAT32 tables and slack; the lab's own ESP is 64 MiB
  const espMib = Math.max(64, Math.ceil((ukiSize * 1.1) / MIB) + 16);
  const disk = join(dir, 'disk.img');
  await diskWithEsp(lab.labEspFiles('direct', uki), disk, espMib, dir);
  const sec = {};
  for (const s of ['linux', 'osrel', 'cmdline', 'initrd']) {
    sec[s] = join(dir, `section.${s}`);
    objcopySection(uki, `.${s}`, sec[s]);
  }
  if (
    (await sha256File(sec.initrd)) !== (await sha256File(initrd)) ||
    (await sha256File(sec.linux)) !== (await sha256File(inputs.kernel))
  ) {
    throw new Error('objcopy did not give back the .initrd/.linux bytes that went into the UKI');
  }
  const kernelMib = (await stat(sec.linux)).size / MIB;
  console.log(
    `  built in ${((Date.now() - tBuild) / 1000).toFixed(1)} s: UKI ${(ukiSize / MIB).toFixed(1)} MiB (initrd ${INITRD_MIB} MiB, kernel ${kernelMib.toFixed(1)} MiB), ` +
      `disk ${((await stat(disk)).size / MIB).toFixed(0)} MiB with a ${espMib} MiB ESP`,
  );

  // ---- timed ------------------------------------------------------------------------------------
  const node = process.execPath;
  const ours = (banks) => [BIN, 'measure', disk, '--banks', banks, '--json'];
  const ref = (banks) => [
    'calculate',
    `--linux=${sec.linux}`,
    `--osrel=${sec.osrel}`,
    `--cmdline=${sec.cmdline}`,
    `--initrd=${sec.initrd}`,
    ...banks.map((b) => `--bank=${b}`),
    '--phase=:',
  ];
  /** RUNS interleaved pairs after one warm-up of each (the page cache cannot be dropped). */
  const pair = (a, b) => {
    timed(node, a);
    timed(SYSTEMD_MEASURE, b);
    const x = [];
    const y = [];
    let outA;
    let outB;
    for (let i = 0; i < RUNS; i++) {
      const ra = timed(node, a);
      const rb = timed(SYSTEMD_MEASURE, b);
      x.push(ra.wall);
      y.push(rb.wall);
      outA = ra.stdout;
      outB = rb.stdout;
    }
    return { ours: x, ref: y, outA, outB };
  };

  // Fixed costs, for the reader: starting node, and nodeimg doing nearly nothing.
  const nodeStart = median(Array.from({ length: RUNS }, () => timed(node, ['-e', '0']).wall));
  const cliStart = median(Array.from({ length: RUNS }, () => timed(node, [BIN, '--version']).wall));

  const judged = pair(ours('sha256'), ref(['SHA256']));
  const three = pair(ours('sha1,sha256,sha384'), ref(['SHA1', 'SHA256', 'SHA384']));
  // Floor: any Node implementation pays start-up plus one read + sha256 pass over the UKI.
  const floorScript = join(dir, 'floor.cjs');
  await writeFile(
    floorScript,
    `const fs = require('node:fs'), h = require('node:crypto').createHash('sha256'), b = Buffer.allocUnsafe(4 << 20);
const fd = fs.openSync(process.argv[2], 'r');
for (let p = 0, n; (n = fs.readSync(fd, b, 0, b.length, p)) > 0; p += n) h.update(b.subarray(0, n));
console.log(h.digest('hex'));
`,
  );
  const floor = Array.from({ length: RUNS + 1 }, () => timed(node, [floorScript, uki]).wall).slice(1);
  // The UKI file alone (no GPT/FAT): how much the disk path costs.
  const ukiOnly = Array.from(
    { length: RUNS + 1 },
    () => timed(node, [BIN, 'measure', uki, '--banks', 'sha256', '--json']).wall,
  ).slice(1);

  // NODE_EXTRA_CA_CERTS (set on some build machines for a TLS proxy) makes every Node start read
  // and parse that PEM bundle before any script runs: shown apart, not judged (measure needs no TLS)
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  let withoutCa;
  if (extraCa) {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const runs = (args) =>
      median(Array.from({ length: RUNS + 1 }, () => timed(node, args, env).wall).slice(1));
    withoutCa = { node: runs(['-e', '0']), ours: runs(ours('sha256')), floor: runs([floorScript, uki]) };
  }

  // ---- agreement on PCR 11 -------------------------------------------------------------------------
  const doc = JSON.parse(judged.outA);
  const ref11 = measurePcr11(judged.outB);
  const ours11 = doc.pcrs['11']?.expected?.sha256;
  const doc3 = JSON.parse(three.outA);
  const ref3 = measurePcr11(three.outB);
  const agree3 = ['sha1', 'sha256', 'sha384'].every(
    (b) => ref3[b] !== undefined && doc3.pcrs['11']?.expected?.[b] === ref3[b],
  );
  const agree = ours11 !== undefined && ours11 === ref11.sha256 && agree3;
  const pcrList = Object.keys(doc.pcrs).join(',');

  const base = median(judged.ref);
  const wall = median(judged.ours);
  const ratio = wall / base;
  const ratio3 = median(three.ours) / median(three.ref);
  const ok = ratio <= RATIO_TARGET && agree;
  console.log(
    `  node -e 0: ${nodeStart.toFixed(3)} s; nodeimg --version: ${cliStart.toFixed(3)} s (fixed start-up cost included in every nodeimg run)`,
  );
  console.log(`  sha256 bank: nodeimg ${fmt(judged.ours)} s; systemd-measure ${fmt(judged.ref)} s`);
  console.log(
    `  sha1+sha256+sha384 banks: nodeimg median ${median(three.ours).toFixed(3)} s (${fmt(three.ours)}); systemd-measure median ${median(three.ref).toFixed(3)} s (${fmt(three.ref)}) = ratio ${ratio3.toFixed(2)} (not judged)`,
  );
  console.log(
    `  nodeimg measure uki.efi (no GPT/FAT), sha256: median ${median(ukiOnly).toFixed(3)} s (${fmt(ukiOnly)}) (not judged)`,
  );
  console.log(
    `  floor, node reading the UKI once + sha256: median ${median(floor).toFixed(3)} s (${fmt(floor)}) = ratio ${(median(floor) / median(judged.ref)).toFixed(2)} ` +
      `against systemd-measure (the best any single Node process can do here)`,
  );
  if (withoutCa)
    console.log(
      `  NODE_EXTRA_CA_CERTS=${extraCa} is set: node -e 0 ${nodeStart.toFixed(3)} s with it, ${withoutCa.node.toFixed(3)} s without; ` +
        `without it nodeimg ${withoutCa.ours.toFixed(3)} s = ratio ${(withoutCa.ours / median(judged.ref)).toFixed(2)}, ` +
        `floor ${withoutCa.floor.toFixed(3)} s = ratio ${(withoutCa.floor / median(judged.ref)).toFixed(2)} (not judged)`,
    );
  console.log(
    `  PCR 11 sha256: nodeimg ${ours11 ?? 'missing'}, systemd-measure ${ref11.sha256 ?? 'missing'}; 3 banks ${agree3 ? 'agree' : 'DISAGREE'}`,
  );
  if (PROFILE) {
    await profile(ours('sha256'), dir);
    await bytesByReader(uki, dir);
  }
  console.log(
    `measure bench: nodeimg ${wall.toFixed(3)} s vs systemd-measure ${base.toFixed(3)} s = ratio ${ratio.toFixed(2)} (target <= ${RATIO_TARGET}) ` +
      `[sha256 bank, median of ${RUNS}, ${INITRD_MIB} MiB initrd; nodeimg reads the disk and predicts PCRs ${pcrList} ` +
      `(Authenticode of UKI + kernel, initrd, GPT), systemd-measure gets the section files and computes PCR 11 only; ` +
      `PCR 11 ${agree ? 'agrees' : 'DISAGREES'}] ${ok ? 'PASS' : 'FAIL'}`,
  );
  if (!ok && !PROFILE)
    console.log('  (run `node bench/measure.mjs --profile` to see where nodeimg spends its time)');
  process.exitCode = ok ? 0 : 1;
} finally {
  if (KEEP) console.log(`  kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
