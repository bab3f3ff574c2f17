// Benchmark: `nodeimg build examples/debian-node`, cold and warm, per stage: bench/build.mjs with
// --recipe examples/debian-node (same method, anchor and target: one cold build from an empty
// stage cache holding only the locked .debs, 3 warm builds; warm median < 5 s, every warm stage
// cached, warm manifest = cold). The cold build runs mmdebstrap, so it needs root. Run after
// `npm run build`:  node bench/debian-node.mjs
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(
  process.execPath,
  [
    join(ROOT, 'bench', 'build.mjs'),
    '--recipe',
    join(ROOT, 'examples', 'debian-node'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
process.exitCode = r.status ?? 1;
