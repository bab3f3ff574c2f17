// Child-process entry for the cloud-format reproducibility test: writes a small GPT disk with
// image/build/disk (FAT32 ESP with pseudo-random files, a root partition with pseudo-random bytes,
// a size that is not a whole MiB) and every cloud format of it into argv[2] (JSON:
// { outDir, epoch, seed }), so that the build runs with the TZ, umask and working directory the test
// gives the process.
import { join } from 'node:path';
import { writeCloudImages, writeDisk } from '../../image/build/disk/index.js';
import { fillRandom } from './prng.js';

const MiB = 1024 * 1024;
/** 40 MiB + 7 sectors: the VHD pads it to 41 MiB. */
const CLOUD_TEST_DISK_SIZE = 40 * MiB + 7 * 512;

const { outDir, epoch, seed } = JSON.parse(process.argv[2] ?? '{}') as {
  outDir: string;
  epoch: number;
  seed: string;
};
const raw = join(outDir, 'disk.raw');
await writeDisk(
  {
    diskSize: CLOUD_TEST_DISK_SIZE,
    seed,
    partitions: [
      {
        type: 'esp',
        size: 33 * MiB,
        contents: {
          kind: 'fat',
          fat: {
            files: [
              { path: 'EFI/BOOT/BOOTX64.EFI', data: fillRandom(new Uint8Array(300_001), 1) },
              { path: 'loader/loader.conf', data: new TextEncoder().encode('timeout 0\n') },
              { path: 'EFI/Linux/big.efi', data: fillRandom(new Uint8Array(3 * MiB + 5), 2) },
            ],
            volumeId: 0x12345678,
            label: 'ESP',
            fatType: 'FAT32',
            sourceDateEpoch: epoch,
          },
        },
      },
      {
        type: 'root-x86-64',
        size: 'rest',
        contents: { kind: 'bytes', data: fillRandom(new Uint8Array(MiB + 3), 3) },
      },
    ],
  },
  raw,
);
await writeCloudImages(raw, outDir, ['qcow2', 'vhd', 'gce'], { sourceDateEpoch: epoch, allowAnySize: true });
