// The lab's inputs from Debian: systemd-stub and systemd-boot (systemd-boot-efi), the kernel
// (linux-image-amd64 -> linux-image-<abi>-amd64) and a static busybox (busybox-static), all
// fetched into the package cache, never installed on the host.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { runTool } from '../run-tool.js';
import { SYSTEMD_BOOT, SYSTEMD_STUB } from './config.js';
import { debRoot, type DebOptions, type DebRoot } from './debs.js';

export interface LabInputs {
  readonly stub: string;
  readonly systemdBoot: string;
  readonly kernel: string;
  readonly busybox: string;
  readonly packages: readonly DebRoot[];
}

export async function fetchLabInputs(opts: DebOptions = {}): Promise<LabInputs> {
  // one after the other: apt-get download is network-bound and the mirror is the same
  const sd = await debRoot('systemd-boot-efi', opts);
  const linux = await debRoot('linux-image-amd64', opts);
  const bb = await debRoot('busybox-static', opts);
  const vmlinuz = (await readdir(join(linux.root, 'boot'))).filter((f) => f.startsWith('vmlinuz-')).sort();
  const kernel = vmlinuz[vmlinuz.length - 1];
  if (kernel === undefined) throw new NodeimgError('IO_NOT_FOUND', `no boot/vmlinuz-* in ${linux.root}`);
  return {
    stub: join(sd.root, SYSTEMD_STUB),
    systemdBoot: join(sd.root, SYSTEMD_BOOT),
    kernel: join(linux.root, 'boot', kernel),
    busybox: join(bb.root, 'bin/busybox'),
    packages: [sd, linux, bb],
  };
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** `package=version` of installed Debian packages (absent ones are left out). */
export async function installedVersions(packages: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of packages) {
    try {
      const { stdout } = await runTool('dpkg-query', ['-W', '-f', '${Version}', p]);
      out[p] = stdout.trim();
    } catch {
      // not installed
    }
  }
  return out;
}

/** Host tools whose versions can change the built bytes (they key the artefact cache). */
export const BUILD_TOOL_PACKAGES = [
  'binutils',
  'cpio',
  'gzip',
  'dosfstools',
  'mtools',
  'fdisk',
  'sbsigntool',
  'faketime',
  'ovmf',
];

/** Firmware and emulator packages of a boot (for provenance). */
export const BOOT_TOOL_PACKAGES = ['qemu-system-x86', 'ovmf', 'swtpm', 'swtpm-tools'];
