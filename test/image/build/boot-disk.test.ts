// image/build/disk: the bootable disk written by nodeimg's writers holds what it should (GPT with
// systemd-repart GUIDs, FAT32 ESP with systemd-boot, the signed UKI and loader.conf), and two builds
// in different folders, at different times, with a different TZ, umask and working directory are
// byte-identical in every artefact.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileSource } from '../../../image/file-source.js';
import { openFat } from '../../../image/formats/fat/index.js';
import {
  GPT_TYPES,
  partitionSource,
  readGpt,
  repartDiskGuid,
  repartPartitionGuid,
} from '../../../image/formats/gpt/index.js';
import { authenticodeHash, parsePe } from '../../../image/formats/pe/index.js';
import { fromBytes } from '../../../image/formats/source.js';
import { toHex } from '../../../image/formats/reader.js';
import { planDisk, writeDisk } from '../../../image/build/disk/index.js';
import { NodeimgError } from '../../../image/formats/errors.js';
import { SEED, buildInChild, sha256File } from '../../helpers/isolated-build.js';

const CLI = join(import.meta.dirname, '..', '..', 'helpers', 'build-boot-disk-cli.ts');
const MiB = 1024 * 1024;

let root: string;
const builds: string[] = [];

/** Builds in a child process with its own TZ, umask and working directory. */
const build = (name: string, tz: string, umask: string) => buildInChild(CLI, root, name, tz, umask);
const sha = sha256File;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nodeimg-boot-disk-'));
  builds.push(await build('a', 'Pacific/Chatham', '077'));
  await new Promise((r) => setTimeout(r, 2100)); // FAT times have 2-second resolution
  builds.push(await build('b', 'America/Los_Angeles', '002'));
}, 600_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('buildBootDisk (sdboot, Secure Boot)', () => {
  it('two builds are byte-identical: UKI, signed UKI, signed systemd-boot, initrd and disk', async () => {
    const [a, b] = builds as [string, string];
    const files = (await readdir(a)).sort();
    expect(files).toEqual([
      'disk.raw',
      'initrd.cpio.gz',
      'systemd-bootx64-signed.efi',
      'uki-signed.efi',
      'uki.efi',
    ]);
    expect((await readdir(b)).sort()).toEqual(files);
    for (const f of files)
      expect({ f, sha: await sha(join(b, f)) }).toEqual({ f, sha: await sha(join(a, f)) });
  });

  it('the disk holds a repart-style GPT and a FAT32 ESP with systemd-boot, the signed UKI and loader.conf', async () => {
    const out = builds[0] as string;
    const uki = new Uint8Array(await readFile(join(out, 'uki.efi')));
    const ukiSigned = new Uint8Array(await readFile(join(out, 'uki-signed.efi')));
    await withFileSource(join(out, 'disk.raw'), async (disk) => {
      const gpt = await readGpt(disk);
      expect(gpt.warnings).toEqual([]);
      expect(disk.size).toBe(128 * MiB);
      expect(gpt.header.diskGuid).toBe(repartDiskGuid(SEED));
      expect(gpt.partitions.map((p) => [p.typeGuid, p.uniqueGuid, p.firstLba])).toEqual([
        [GPT_TYPES.esp, repartPartitionGuid(SEED, GPT_TYPES.esp, 0), 2048],
        [GPT_TYPES['root-x86-64'], repartPartitionGuid(SEED, GPT_TYPES['root-x86-64'], 0), 2048 + 64 * 2048],
      ]);
      const fs = await openFat(partitionSource(disk, gpt.partitions[0] as never));
      expect(fs.type).toBe('FAT32');
      expect(fs.volumeLabel).toBe('ESP');
      const paths: string[] = [];
      for await (const e of fs.walk()) if (!e.isDirectory) paths.push(e.path);
      expect(paths).toEqual(['/EFI/BOOT/BOOTX64.EFI', '/EFI/Linux/nodeimg.efi', '/loader/loader.conf']);
      expect(toHex(await fs.readFile('/EFI/Linux/nodeimg.efi'))).toBe(toHex(ukiSigned));
      expect(toHex(await fs.readFile('/EFI/BOOT/BOOTX64.EFI'))).toBe(
        toHex(new Uint8Array(await readFile(join(out, 'systemd-bootx64-signed.efi')))),
      );
      expect(new TextDecoder().decode(await fs.readFile('/loader/loader.conf'))).toBe(
        'timeout 0\neditor no\n',
      );
    });
    // what PCR 4 records for the UKI: the signed file's Authenticode is the unsigned UKI's
    const h = async (b: Uint8Array) =>
      toHex((await authenticodeHash(fromBytes(b), await parsePe(fromBytes(b)), ['sha256'])).sha256);
    expect(await h(ukiSigned)).toBe(await h(uki));
  });
});

describe('writeDisk', () => {
  it('checks every partition before creating the file', async () => {
    const out = join(root, 'never.raw');
    await expect(
      writeDisk(
        {
          diskSize: 8 * MiB,
          seed: SEED,
          partitions: [
            {
              type: 'esp',
              size: 4 * MiB,
              contents: {
                kind: 'fat',
                fat: { files: [{ path: 'big', data: new Uint8Array(5 * MiB) }], volumeId: 1 },
              },
            },
          ],
        },
        out,
      ),
    ).rejects.toThrow(/do not fit/);
    await expect(
      writeDisk(
        {
          diskSize: 8 * MiB,
          seed: SEED,
          partitions: [
            { type: 'esp', size: MiB, contents: { kind: 'bytes', data: new Uint8Array(MiB + 1) } },
          ],
        },
        out,
      ),
    ).rejects.toThrow(NodeimgError);
    await expect(
      planDisk({
        diskSize: 8 * MiB,
        seed: SEED,
        partitions: [{ type: 'esp', size: MiB, contents: { kind: 'file', path: join(root, 'missing') } }],
      }),
    ).rejects.toThrow(/cannot read/);
    expect((await readdir(root)).filter((f) => f.includes('never'))).toEqual([]);
  });
});
