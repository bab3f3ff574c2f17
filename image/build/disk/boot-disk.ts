// A bootable disk made only by nodeimg's writers: the UKI (assembleUki), optionally signed for Secure
// Boot (nodeimg's own Authenticode signature, or sbsign under faketime; image/build/sign.ts), on a FAT ESP (writeFat) in a GPT (planGpt,
// systemd-repart's GUIDs from a seed), started directly (EFI/BOOT/BOOTX64.EFI) or through
// systemd-boot (EFI/Linux/<name>.efi + loader/loader.conf). Same inputs, same bytes: no clock, no
// randomness, no host state (TZ, umask, paths) reaches the output.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { assembleUki, type UkiSectionInput } from '../../formats/pe/uki-writer.js';
import type { FatFileInput } from '../../formats/fat/writer.js';
import type { GptPartitionInput } from '../../formats/gpt/writer.js';
import { signPeImage, type SecureBootKey } from '../sign.js';
import { DEFAULT_SOURCE_DATE_EPOCH } from '../run-tool.js';
import { writeDisk, type DiskPartition, type WrittenDisk } from './write-disk.js';

export type BootLayout = 'direct' | 'sdboot';

export interface UkiFiles {
  /** systemd-stub (linuxx64.efi.stub). */
  readonly stub: string;
  readonly kernel: string;
  readonly initrd?: string;
  readonly cmdline?: string;
  readonly osRelease?: string;
  readonly uname?: string;
}

export interface BootDiskOptions {
  readonly uki: UkiFiles;
  readonly layout: BootLayout;
  /** systemd-bootx64.efi, for the sdboot layout. */
  readonly systemdBoot?: string;
  /** Sign the UKI (and systemd-boot) for Secure Boot with this key. */
  readonly secureBootKey?: SecureBootKey;
  /** Who signs: nodeimg's own Authenticode (default) or sbsign under faketime. */
  readonly signingTool?: 'nodeimg' | 'sbsign';
  readonly outDir: string;
  /** Disk GUIDs derive from it (systemd-repart --seed). */
  readonly seed: string;
  readonly sourceDateEpoch?: number;
  /** Default 128 MiB. */
  readonly diskSize?: number;
  /** Default 64 MiB (FAT32). */
  readonly espSize?: number;
  /** FAT volume id; default derived from nothing but this constant. */
  readonly espVolumeId?: number;
  /** An empty root partition (DPS root-x86-64) after the ESP, filling the disk; default true. */
  readonly rootPartition?: boolean;
}

export interface BootDisk {
  readonly uki: string;
  readonly ukiSigned?: string;
  readonly systemdBootSigned?: string;
  readonly disk: WrittenDisk;
}

const MiB = 1024 * 1024;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The UKI of `files` (ukify's layout). */
export async function buildUkiBytes(files: UkiFiles, sourceDateEpoch: number): Promise<Uint8Array> {
  const sections: UkiSectionInput[] = [
    { name: '.linux', data: new Uint8Array(await readFile(files.kernel)) },
  ];
  if (files.osRelease !== undefined) sections.push({ name: '.osrel', data: enc(files.osRelease) });
  if (files.cmdline !== undefined) sections.push({ name: '.cmdline', data: enc(files.cmdline) });
  if (files.uname !== undefined) sections.push({ name: '.uname', data: enc(files.uname) });
  if (files.initrd !== undefined)
    sections.push({ name: '.initrd', data: new Uint8Array(await readFile(files.initrd)) });
  return assembleUki({ stub: new Uint8Array(await readFile(files.stub)), sections, sourceDateEpoch });
}

/** What goes on the ESP for a layout. Pure. */
export function espFiles(
  layout: BootLayout,
  uki: Uint8Array,
  systemdBoot?: Uint8Array,
  ukiName = 'nodeimg.efi',
): FatFileInput[] {
  if (layout === 'direct') return [{ path: 'EFI/BOOT/BOOTX64.EFI', data: uki }];
  if (systemdBoot === undefined)
    throw new NodeimgError('USAGE', 'the sdboot layout needs systemd-bootx64.efi');
  return [
    { path: 'EFI/BOOT/BOOTX64.EFI', data: systemdBoot },
    { path: `EFI/Linux/${ukiName}`, data: uki },
    { path: 'loader/loader.conf', data: enc('timeout 0\neditor no\n') },
  ];
}

async function save(path: string, data: Uint8Array): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
  return path;
}

/** Builds uki.efi (and signed copies) and disk.raw in opts.outDir. */
export async function buildBootDisk(opts: BootDiskOptions): Promise<BootDisk> {
  const epoch = opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  const key = opts.secureBootKey;
  const uki = await buildUkiBytes(opts.uki, epoch);
  const ukiPath = await save(join(opts.outDir, 'uki.efi'), uki);
  const signOpts = { tool: opts.signingTool ?? 'nodeimg', sourceDateEpoch: epoch } as const;
  const ukiSigned = key ? await signPeImage(uki, { ...key, ...signOpts }) : undefined;
  let sdboot: Uint8Array | undefined;
  if (opts.layout === 'sdboot') {
    if (opts.systemdBoot === undefined)
      throw new NodeimgError('USAGE', 'the sdboot layout needs systemd-bootx64.efi');
    sdboot = new Uint8Array(await readFile(opts.systemdBoot));
    if (key) sdboot = await signPeImage(sdboot, { ...key, ...signOpts });
  }
  const espSize = opts.espSize ?? 64 * MiB;
  const partitions: DiskPartition[] = [
    {
      type: 'esp',
      size: espSize,
      contents: {
        kind: 'fat',
        fat: {
          files: espFiles(opts.layout, ukiSigned ?? uki, sdboot),
          volumeId: opts.espVolumeId ?? 0x4e4f4445,
          label: 'ESP',
          fatType: 'FAT32',
          sourceDateEpoch: epoch,
        },
      },
    },
  ];
  if (opts.rootPartition ?? true)
    partitions.push({ type: 'root-x86-64', size: 'rest' } satisfies GptPartitionInput);
  const disk = await writeDisk(
    { diskSize: opts.diskSize ?? 128 * MiB, seed: opts.seed, partitions },
    join(opts.outDir, 'disk.raw'),
  );
  return {
    uki: ukiPath,
    ...(ukiSigned ? { ukiSigned: await save(join(opts.outDir, 'uki-signed.efi'), ukiSigned) } : {}),
    ...(key && sdboot
      ? { systemdBootSigned: await save(join(opts.outDir, 'systemd-bootx64-signed.efi'), sdboot) }
      : {}),
    disk,
  };
}
