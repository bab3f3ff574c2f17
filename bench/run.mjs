// Runs every bench/*.mjs except this one, one after the other (never in parallel: they time wall
// clock on a 2-core machine), passes their output through, then repeats each bench's summary line
// (the unindented line ending in PASS or FAIL) and prints one final line. Exits non-zero if any
// bench failed, exited non-zero, printed no summary line or ran past the time limit.
//   npm run build && npm run bench          # all benches
//   node bench/run.mjs measure              # only bench/measure.mjs (names without .mjs)
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

/** Each bench should stay under about 3 minutes; one that runs twice as long is stopped. */
const BUDGET_S = 180;
const LIMIT_S = 2 * BUDGET_S;

const here = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const all = (await readdir(here)).filter((f) => f.endsWith('.mjs') && f !== self).sort();
const unknown = only.filter((n) => !all.includes(`${n}.mjs`));
if (unknown.length > 0) {
  console.error(
    `bench/run.mjs: no bench named ${unknown.join(', ')} (have: ${all.map((f) => f.replace(/\.mjs$/, '')).join(', ')})`,
  );
  process.exit(2);
}
const benches = only.length > 0 ? all.filter((f) => only.includes(f.replace(/\.mjs$/, ''))) : all;

/** Runs one bench; resolves to its summary lines, exit code and duration. */
function runBench(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(here, file)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const summaries = [];
    let partial = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, LIMIT_S * 1000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      process.stdout.write(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (/^\S.*\b(PASS|FAIL)\s*$/.test(l)) summaries.push(l.trimEnd());
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (/^\S.*\b(PASS|FAIL)\s*$/.test(partial)) summaries.push(partial.trimEnd());
      resolve({ file, summaries, code, signal, timedOut, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

const results = [];
for (const file of benches) {
  console.log(`== bench/${file}`);
  results.push(await runBench(file));
}

console.log('');
console.log('== summary');
let failed = 0;
let total = 0;
for (const r of results) {
  total += r.seconds;
  const lines = r.summaries.length > 0 ? r.summaries : [`${r.file}: no summary line`];
  const bad =
    r.code !== 0 || r.timedOut || r.summaries.length === 0 || r.summaries.some((l) => /\bFAIL\s*$/.test(l));
  if (bad) failed++;
  for (const l of lines) console.log(l);
  const notes = [`${r.seconds.toFixed(0)} s`];
  if (r.timedOut) notes.push(`stopped after the ${LIMIT_S} s limit`);
  else if (r.seconds > BUDGET_S) notes.push(`over the ${BUDGET_S} s budget`);
  if (r.code !== 0 || r.signal) notes.push(r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`);
  console.log(`  (bench/${r.file}: ${notes.join(', ')})`);
}
console.log(
  `bench: ${results.length} run, ${results.length - failed} passed, ${failed} failed in ${total.toFixed(0)} s ${failed === 0 ? 'PASS' : 'FAIL'}`,
);
process.exitCode = failed === 0 ? 0 : 1;
