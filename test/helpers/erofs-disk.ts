// Small nodeimg-shaped disks for the reproduce diff tests: an ESP (nodeimg's FAT writer), an erofs
// root made by mkfs.erofs with the erofs stage's options (-T, -U) and its dm-verity hash partition
// (nodeimg's verity writer), laid out by nodeimg's GPT writer, from a folder the test fills.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeDisk } from '../../image/build/disk/index.js';
import { writeVerityHashImage } from '../../image/build/verity.js';

export const DISK_SEED = '6e6f6465-696d-4467-a964-656269616e21';
const MiB = 1024 * 1024;

/** Writes `<dir>/<name>.raw` with the erofs image of `tree` as partition 2 and its hash tree as 3. */
export async function erofsDisk(dir: string, name: string, tree: string): Promise<string> {
  const erofs = join(dir, `${name}.erofs`);
  execFileSync('mkfs.erofs', ['--quiet', '-T', '1700000000', '-U', DISK_SEED, erofs, tree], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const verity = join(dir, `${name}.verity`);
  await writeVerityHashImage(erofs, verity, { seed: DISK_SEED, label: 'root' });
  const out = join(dir, `${name}.raw`);
  await writeDisk(
    {
      diskSize: 16 * MiB,
      seed: DISK_SEED,
      partitions: [
        {
          type: 'esp',
          size: 3 * MiB,
          contents: {
            kind: 'fat',
            fat: { files: [{ path: 'EFI/BOOT/README', data: new Uint8Array(10) }], volumeId: 1 },
          },
        },
        { type: 'root-x86-64', size: 6 * MiB, contents: { kind: 'file', path: erofs } },
        { type: 'root-x86-64-verity', size: MiB, contents: { kind: 'file', path: verity } },
      ],
    },
    out,
  );
  return out;
}
