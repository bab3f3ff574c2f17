// Child-process entry for the debian-node reproducibility test (test/helpers/isolated-build.ts runs
// it with its own TZ, umask and working directory): `nodeimg build examples/debian-node -o <outDir>`
// with a fresh cache next to outDir holding only the locked .debs, so every stage runs.
import { join } from 'node:path';
import { main } from '../../pipeline/cli.js';
import { DEBIAN_NODE, seedDebianNodeDebs } from './debian-node.js';

const { outDir } = JSON.parse(process.argv[2] ?? '{}') as { outDir: string };
const cache = join(outDir, '..', 'cache');
await seedDebianNodeDebs(cache);
process.exitCode = await main(['build', DEBIAN_NODE, '-o', outDir, '--cache', cache, '--json'], {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
