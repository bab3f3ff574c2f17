// Bundles the CLI after `tsc` (npm run build): the ES modules that one command loads (67 of ours
// for `nodeimg measure`) cost ~45 ms of resolving, reading and compiling at every start
// (bench/measure.mjs, bench/fetch-measurements.mjs). esbuild joins what tsc emitted into a few
// chunks in dist/cli/, split at the commands' dynamic imports so that a command still loads only
// its own code; npm packages stay external (resolved from node_modules as before).
//
//   dist/cli/nodeimg.js          the CLI (dist/pipeline/bin.js); dist/pipeline/bin.js becomes a
//                                one-line import of it, so `node dist/pipeline/bin.js`, the package
//                                bin and every script keep working
//   dist/cli/verify-worker.js    worker entries, next to the chunks: verify-pool.ts and
//   dist/cli/verity-worker.js    verity-parallel.ts start `new URL('./<name>.js', import.meta.url)`
//   dist/cli/validators/         the precompiled validators, which validators.generated.ts reads
//                                from './validators/' beside the module
// The rest of dist/ (the library exports, dist/pipeline/index.js, ...) is tsc's output, unbundled.
// package.json is found by walking up as before (cli.ts, build/version.ts try ../ and ../../).
import { build } from 'esbuild';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'cli');

await rm(out, { recursive: true, force: true });
await build({
  entryPoints: {
    nodeimg: join(dist, 'pipeline', 'bin.js'),
    'verify-worker': join(dist, 'pipeline', 'adapters', 'local-log', 'verify-worker.js'),
    'verity-worker': join(dist, 'image', 'build', 'verity-worker.js'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  // keep class and function names: error messages and stack traces name them
  keepNames: true,
  logLevel: 'warning',
});

// the validators lazy-validators.ts reads beside the module that names them
const validators = join(dist, 'pipeline', 'schema', 'validators');
await mkdir(join(out, 'validators'));
for (const f of await readdir(validators))
  if (f.endsWith('.json')) await cp(join(validators, f), join(out, 'validators', f));

await writeFile(
  join(dist, 'pipeline', 'bin.js'),
  "#!/usr/bin/env node\n// The CLI is bundled by scripts/bundle.mjs into dist/cli/ (one start-up instead of dozens of modules).\nimport '../cli/nodeimg.js';\n",
  { mode: 0o755 },
);
