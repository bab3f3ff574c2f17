// Benchmark: `nodeimg boot-check` of the lab `direct` disk against a bare boot of the same disk with
// the same accelerator, timed in the same run. Run after `npm run build`:
//   node bench/boot-check.mjs [--runs N]
// Target: median boot-check wall time <= 1.10 x the median bare boot (default 3 runs each,
// interleaved: bare, boot-check, bare, boot-check, ...).
//
// The bare boot is the lab's bootAndCapture (image/build/lab/boot.ts) in a child node process:
// swtpm_setup, swtpm (log level 1), QEMU with the argv boot-check uses (lab qemuArgs: q35, OVMF,
// tpm-tis, the disk as a snapshot), until the guest powers off, then the console is parsed.
// boot-check on top of that: predicting the image (`nodeimg measure`), swtpm logging every command
// (level 20) and the log's replay, the final PCR read from the saved TPM state, the verdict. Both
// are whole processes (node start-up included) and both get NODEIMG_ACCEL / the same accelerator,
// which detectAccel() picks once (KVM if it can run OVMF here, else TCG).
// Exits non-zero when the target is missed or a boot-check run does not exit 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TARGET = 1.1;
const argIndex = process.argv.indexOf('--runs');
const RUNS = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 3;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'pipeline', 'bin.js');
const LAB = join(DIST, 'image', 'build', 'lab', 'index.js');
for (const f of [BIN, LAB]) {
  if (!existsSync(f)) {
    console.log(`boot-check bench: ${f} missing; run npm run build first FAIL`);
    process.exit(1);
  }
}
const lab = await import(pathToFileURL(LAB).href);

/** Runs a command to its end; resolves to its wall time, exit code and output. */
function timed(file, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t) => (stderr += t));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ s: Number(process.hrtime.bigint() - t0) / 1e9, code, stdout, stderr });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const inputs = await lab.fetchLabInputs();
const images = await lab.cachedLabImages({ inputs });
const disk = images.disks.direct;
const accel = await lab.detectAccel();
console.log(`  disk: ${disk}`);
console.log(`  accelerator: ${accel}; ${RUNS} run(s) each, interleaved`);

const bareScript = [
  `const lab = await import(${JSON.stringify(pathToFileURL(LAB).href)});`,
  `const c = await lab.bootAndCapture({ disk: ${JSON.stringify(disk)}, secureBoot: false, accel: ${JSON.stringify(accel)} });`,
  `console.log(c.guest.kernel ?? '?');`,
].join('\n');

const bare = [];
const check = [];
let failed = false;
for (let i = 0; i < RUNS; i++) {
  const b = await timed(process.execPath, ['--input-type=module', '-e', bareScript], {});
  if (b.code !== 0) {
    console.log(
      `  bare boot ${i + 1}: exit ${b.code}\n${b.stderr.trimEnd().split('\n').slice(-5).join('\n')}`,
    );
    failed = true;
    break;
  }
  bare.push(b.s);
  console.log(
    `  bare boot ${i + 1}: ${b.s.toFixed(2)} s (QEMU + swtpm until power-off, kernel ${b.stdout.trim()})`,
  );
  const c = await timed(process.execPath, [BIN, 'boot-check', disk, '--json'], { NODEIMG_ACCEL: accel });
  let detail;
  try {
    const rep = JSON.parse(c.stdout);
    detail = `, ended by ${rep.boot.endReason} after ${(rep.boot.elapsedMs / 1000).toFixed(2)} s of boot, ok=${rep.ok}`;
  } catch {
    detail = ', no JSON report';
  }
  console.log(`  boot-check ${i + 1}: ${c.s.toFixed(2)} s (exit ${c.code}${detail})`);
  if (c.code !== 0) {
    console.log(c.stderr.trimEnd().split('\n').slice(-5).join('\n'));
    failed = true;
    break;
  }
  check.push(c.s);
}

if (failed || bare.length === 0 || check.length === 0) {
  console.log(`boot-check bench: a boot failed (see above) FAIL`);
  process.exit(1);
}
const mb = median(bare);
const mc = median(check);
const ratio = mc / mb;
const pass = ratio <= TARGET;
console.log(
  `boot-check overhead: median ${mc.toFixed(2)} s vs bare QEMU+swtpm boot ${mb.toFixed(2)} s (${accel}, ${RUNS} runs each) = ${ratio.toFixed(3)}x (target <= ${TARGET.toFixed(2)}) ${pass ? 'PASS' : 'FAIL'}`,
);
process.exit(pass ? 0 : 1);
