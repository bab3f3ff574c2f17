// Child-process entry for the build reproducibility test (test/helpers/isolated-build.ts runs it
// with its own TZ, umask and working directory): `nodeimg build examples/minimal -o <outDir>` with a
// fresh cache next to outDir, holding only the locked .debs (seedDebs), so every stage runs.
import { join } from 'node:path';
import { main } from '../../pipeline/cli.js';
import { MINIMAL, seedDebs } from './build.js';

const { outDir } = JSON.parse(process.argv[2] ?? '{}') as { outDir: string };
const cache = join(outDir, '..', 'cache');
await seedDebs(cache);
process.exitCode = await main(['build', MINIMAL, '-o', outDir, '--cache', cache], {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
