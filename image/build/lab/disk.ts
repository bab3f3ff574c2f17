// The lab disk, like build-disk.sh: a raw GPT disk (fixed disk and partition GUIDs, sfdisk) with one
// FAT32 ESP (fixed volume id, mkfs.fat + mtools under faketime, since mtools 4.0.32 ignores
// SOURCE_DATE_EPOCH and mkfs.fat --invariant would override the volume id).
import { mkdir, mkdtemp, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';
import { LAB_DISK, fakeTimeArgv, type LabLayout } from './config.js';

export interface EspFile {
  /** Path on the ESP, e.g. EFI/BOOT/BOOTX64.EFI. */
  readonly path: string;
  /** Host file to copy there, or the contents. */
  readonly source: string | { readonly text: string };
}

export interface DiskOptions {
  readonly files: readonly EspFile[];
  readonly outFile: string;
  readonly sourceDateEpoch?: number;
}

/** What goes on the ESP for a layout: the UKI directly, or systemd-boot + the UKI in EFI/Linux. Pure. */
export function labEspFiles(layout: LabLayout, uki: string, systemdBoot?: string): EspFile[] {
  if (layout === 'direct') return [{ path: 'EFI/BOOT/BOOTX64.EFI', source: uki }];
  if (systemdBoot === undefined) throw new Error('the sdboot layout needs systemd-bootx64.efi');
  return [
    { path: 'EFI/BOOT/BOOTX64.EFI', source: systemdBoot },
    { path: 'EFI/Linux/lab.efi', source: uki },
    { path: 'loader/loader.conf', source: { text: 'timeout 0\neditor no\n' } },
  ];
}

/** The sfdisk script of the lab disk. Pure. */
export function sfdiskScript(d: typeof LAB_DISK = LAB_DISK): string {
  return [
    'label: gpt',
    `label-id: ${d.diskGuid}`,
    'unit: sectors',
    `first-lba: ${d.espStartSector}`,
    `start=${d.espStartSector}, size=${d.espSectors}, type=${d.espTypeGuid}, uuid=${d.espPartGuid}, name="ESP"`,
    '',
  ].join('\n');
}

/** Folders to create (parents first, each once) for a set of ESP paths. Pure. */
export function espDirs(paths: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const p of paths) {
    const parts = p.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.includes(d)) dirs.push(d);
    }
  }
  return dirs;
}

/** Copies the non-zero 64 KiB blocks of `src` into the (sparse) file `dst` at byte `offset`. */
async function writeSparse(dst: string, src: Uint8Array, offset: number): Promise<void> {
  const fh = await open(dst, 'r+');
  try {
    const block = 64 * 1024;
    for (let i = 0; i < src.length; i += block) {
      const chunk = src.subarray(i, Math.min(i + block, src.length));
      if (chunk.some((b) => b !== 0)) await fh.write(chunk, 0, chunk.length, offset + i);
    }
  } finally {
    await fh.close();
  }
}

/** Builds the disk at opts.outFile. */
export async function buildDisk(opts: DiskOptions): Promise<string> {
  const epoch = opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  const d = LAB_DISK;
  await mkdir(dirname(opts.outFile), { recursive: true });
  const work = await mkdtemp(join(dirname(opts.outFile), '.disk-'));
  const run = (file: string, args: string[], input?: string) => {
    const [f, a] = fakeTimeArgv(epoch, file, args);
    return runTool(f, a, {
      sourceDateEpoch: epoch,
      env: { MTOOLS_SKIP_CHECK: '1' },
      timeoutMs: 120_000,
      ...(input === undefined ? {} : { input }),
    });
  };
  try {
    const disk = join(work, 'disk.img');
    const esp = join(work, 'esp.img');
    await writeFile(disk, '');
    await truncate(disk, (d.espStartSector + d.espSectors + d.tailSectors) * 512);
    await runTool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', disk], {
      input: sfdiskScript(d),
      timeoutMs: 60_000,
    });
    await writeFile(esp, '');
    await truncate(esp, d.espSectors * 512);
    await run('mkfs.fat', [
      '-F',
      '32',
      '-n',
      'ESP',
      '-i',
      d.fatVolumeId,
      '-h',
      String(d.espStartSector),
      esp,
    ]);
    const dirs = espDirs(opts.files.map((f) => f.path));
    if (dirs.length > 0) await run('mmd', ['-i', esp, ...dirs.map((x) => `::${x}`)]);
    for (const [i, f] of opts.files.entries()) {
      let src: string;
      if (typeof f.source === 'string') {
        src = f.source;
      } else {
        src = join(work, `file-${i}`);
        await writeFile(src, f.source.text);
      }
      await run('mcopy', ['-i', esp, src, `::${f.path}`]);
    }
    await writeSparse(disk, await readFile(esp), d.espStartSector * 512);
    await rm(esp);
    await rename(disk, opts.outFile);
    return opts.outFile;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
