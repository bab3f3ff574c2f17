// The main job on the embedded defaults, until `nodeimg release` exists: fetch Debian's systemd-boot
// and kernel, build the lab's reproducible UKI + GPT disk images, and measure them with nodeimg.
// Writes into the folder given as the first argument (default: out/).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedLabImages, fetchLabInputs } from '../dist/image/build/lab/index.js';

const out = resolve(process.argv[2] ?? 'out');
mkdirSync(out, { recursive: true });
const cli = resolve(import.meta.dirname, '../dist/pipeline/bin.js');
const nodeimg = (...args) =>
  execFileSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });

console.error('demo: fetching systemd-boot-efi, the kernel and busybox from Debian; building the lab images');
const images = await cachedLabImages({ inputs: await fetchLabInputs() });
for (const [variant, disk] of Object.entries(images.disks))
  copyFileSync(disk, join(out, `disk-${variant}.img`));

console.error(`\ndemo: nodeimg inspect ${join(out, 'disk-sdboot-sb.img')}`);
nodeimg('inspect', join(out, 'disk-sdboot-sb.img'));
for (const [variant, vars] of [
  ['direct', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['sdboot-sb', '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd'],
]) {
  console.error(`\ndemo: nodeimg measure ${variant}`);
  nodeimg(
    'measure',
    join(out, `disk-${variant}.img`),
    '--vars',
    vars,
    '-o',
    join(out, `measurements-${variant}.json`),
    '--eventlog',
    join(out, `eventlog-${variant}.bin`),
  );
}
console.error(`\ndemo: done; disk images, measurements-*.json and predicted eventlog-*.bin are in ${out}`);
