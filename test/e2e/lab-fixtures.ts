// Real event logs + PCRs from the lab boots, saved as fixtures for the fast tests
// (test/fixtures/eventlogs/<variant>.bin, <variant>.pcrs.json, README.md with provenance).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabVariant, PcrBank } from '../../image/build/lab/index.js';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'eventlogs');
export const UPDATE_COMMAND =
  'NODEIMG_SLOW=1 NODEIMG_UPDATE_FIXTURES=1 npx vitest run test/e2e/lab-boot.slow.test.ts';

export interface FixtureRecord {
  readonly variant: LabVariant;
  readonly secureBoot: boolean;
  readonly accel: string;
  readonly memoryMiB: number;
  readonly smp: number;
  /** Hash of every build input (image/build/lab/lab-image.ts labBuildKey). */
  readonly buildKey: string;
  readonly diskSha256: string;
  readonly ukiSha256: string;
  readonly guest: { readonly kernel?: string; readonly cmdline?: string };
  readonly eventLog: { readonly file: string; readonly bytes: number; readonly sha256: string };
  /** Lower-case hex, PCR 0-23, as the guest read them from /sys/class/tpm/tpm0/pcr-<bank>/. */
  readonly pcrs: Partial<Record<PcrBank, string[]>>;
}

export interface Provenance {
  readonly date: string;
  /** Debian package -> version. */
  readonly packages: Readonly<Record<string, string>>;
  readonly qemuVersion: string;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export async function readFixture(
  variant: LabVariant,
): Promise<{ record: FixtureRecord; log: Uint8Array } | undefined> {
  const json = join(FIXTURE_DIR, `${variant}.pcrs.json`);
  if (!existsSync(json)) return undefined;
  const record = JSON.parse(await readFile(json, 'utf8')) as FixtureRecord;
  return { record, log: new Uint8Array(await readFile(join(FIXTURE_DIR, `${variant}.bin`))) };
}

export async function writeFixture(record: FixtureRecord, log: Uint8Array): Promise<void> {
  await mkdir(FIXTURE_DIR, { recursive: true });
  await writeFile(join(FIXTURE_DIR, record.eventLog.file), log);
  await writeFile(join(FIXTURE_DIR, `${record.variant}.pcrs.json`), `${JSON.stringify(record, null, 1)}\n`);
}

export async function writeReadme(records: readonly FixtureRecord[], p: Provenance): Promise<void> {
  const rows = records.map(
    (r) =>
      `| \`${r.variant}\` | ${r.secureBoot ? 'on' : 'off'} | ${r.eventLog.bytes} | \`${r.eventLog.sha256.slice(0, 16)}…\` | ${r.accel} |`,
  );
  const pkgs = Object.entries(p.packages)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `| ${k} | ${v} |`);
  const text = `# Real TPM event logs (measured-boot lab)

Firmware event logs (\`/sys/kernel/security/tpm0/binary_bios_measurements\`, TCG crypto-agile
format, banks sha1/sha256/sha384) and the PCR values the guest read from
\`/sys/class/tpm/tpm0/pcr-<bank>/<n>\` in the same boot. Recorded by the slow end-to-end test
\`test/e2e/lab-boot.slow.test.ts\`: it builds the lab disk images (image/build/lab/: UKI = systemd-stub
+ Debian kernel + busybox initrd, on a GPT disk with a FAT32 ESP) and boots each under QEMU q35 +
OVMF + swtpm (tpm-tis), ${records[0]?.memoryMiB ?? 1024} MiB, ${records[0]?.smp ?? 1} vCPU.

Recorded on ${p.date} with:

    ${UPDATE_COMMAND}

| variant | Secure Boot | log bytes | log sha256 | accel |
|---|---|---|---|---|
${rows.join('\n')}

* \`direct\`: ESP \`EFI/BOOT/BOOTX64.EFI\` = the UKI. \`sdboot\`: \`BOOTX64.EFI\` = systemd-boot,
  UKI at \`EFI/Linux/lab.efi\`, \`loader/loader.conf\` = \`timeout 0\`.
* \`-sb\`: the same with the UKI (and systemd-boot) signed with Debian's snakeoil key, booted with
  \`OVMF_CODE_4M.secboot.fd\` + \`OVMF_VARS_4M.snakeoil.fd\`, SMM on.
* \`<variant>.pcrs.json\`: PCR 0-23 per bank (lower-case hex), the build key (hash of all build
  inputs), the disk and UKI sha256, guest kernel and command line.
* Replaying a log gives the read PCRs for PCR 0-9 and 11-23; PCR 10 is IMA (kernel, not firmware).
  PCR 0 depends on the VM's memory size and vCPU count, PCR 1 on the boot entries and PCI layout.

## Versions

| Debian package | version |
|---|---|
${pkgs.join('\n')}

QEMU: \`${p.qemuVersion}\`
`;
  await writeFile(join(FIXTURE_DIR, 'README.md'), text);
}
