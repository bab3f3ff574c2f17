// The Debian tools that build reference GPT disks and FAT file systems for the image/formats
// tests: sfdisk (package fdisk), mkfs.fat (dosfstools), mtools. scripts/setup installs them.
import { execa } from 'execa';

export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  sfdisk: 'fdisk',
  'mkfs.fat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mdel: 'mtools',
};

/** Timestamps and names that do not depend on the machine (reproducible-build.md §5). */
export const SOURCE_DATE_EPOCH = 1700000000;
export const TOOL_ENV: Readonly<Record<string, string>> = {
  MTOOLS_SKIP_CHECK: '1',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH),
};
/** What mtools stamps on every entry under TOOL_ENV, as FatEntry.mtime renders it. */
export const TOOL_MTIME = '2023-11-14T22:13:20';

/** Throws one clear error naming every missing tool and the Debian package that provides it. */
export async function requireTools(names: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const name of names) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', name], {
      reject: false,
      env: { PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
    });
    if (r.exitCode !== 0) missing.push(`${name} (Debian package ${TOOL_PACKAGES[name] ?? '?'})`);
  }
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(', ')}; run scripts/setup`);
}

/** Runs a tool with TOOL_ENV and /usr/sbin on PATH; throws with stderr on failure. */
export async function tool(file: string, args: readonly string[], input?: string): Promise<string> {
  const r = await execa(file, args, {
    env: { ...TOOL_ENV, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
    ...(input === undefined ? {} : { input }),
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

export interface SfdiskPartition {
  readonly node: string;
  readonly start: number;
  readonly size: number;
  readonly type: string;
  readonly uuid: string;
  readonly name?: string;
  readonly attrs?: string;
}

export interface SfdiskTable {
  readonly label: string;
  readonly id: string;
  readonly firstlba: number;
  readonly lastlba: number;
  readonly sectorsize: number;
  readonly partitions: readonly SfdiskPartition[];
}

export async function sfdiskJson(disk: string): Promise<SfdiskTable> {
  const out = JSON.parse(await tool('sfdisk', ['--json', disk])) as { partitiontable: SfdiskTable };
  return out.partitiontable;
}
