// `nodeimg boot-check` for real: the CLI (a child process, as a user runs it) boots lab disks under
// QEMU + OVMF + swtpm and compares `nodeimg measure`'s prediction with what the TPM received. Each
// run gets a private TMPDIR; afterwards no nodeimg temporary folder and no process that used it may
// be left, whether the run passed, failed, timed out, lost its QEMU or got Ctrl-C.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectAccel, type LabImages } from '../../image/build/lab/index.js';
import { MARK } from '../../image/build/lab/initrd-init.js';
import { labImages } from '../helpers/lab.js';
import {
  processesUsing,
  runBootCheck,
  type BootCheckRun as Run,
  type Killable,
} from '../helpers/boot-check-run.js';

const ROOT = join(import.meta.dirname, '..', '..');
let images: LabImages;
let accel: string;
let work: string;

/** Runs boot-check with a private TMPDIR; `during` may act on the running CLI. */
const bootCheck = (args: string[], during?: (child: Killable, tmp: string) => Promise<void>): Promise<Run> =>
  runBootCheck(work, accel, args, during ? { during } : {});

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Report {
  ok: boolean;
  boot: { endReason: string; exitBootServices: boolean };
  tpm: { realSource: string; captureMismatches: string[]; readMismatches: string[]; startupLocality: number };
  pcrs: { pcr: number; bank: string; ok: boolean }[];
  departures: { pcr: number; ok: boolean; first: { message: string; reason: string } | null }[];
  crossCheck: { eventLog: { ok: boolean } | null; guestPcrs: { ok: boolean } | null };
}

describe('nodeimg boot-check on the lab disks', () => {
  beforeAll(async () => {
    images = await labImages();
    accel = await detectAccel();
    work = await mkdtemp(join(tmpdir(), 'nodeimg-boot-check-e2e-'));
    console.log(`accelerator: ${accel}`);
  }, 900_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("direct: every predicted PCR equals the TPM's, found from the TPM side; the disk is untouched", async () => {
    const disk = images.disks.direct as string;
    const before = await sha256(disk);
    const platformOut = join(work, 'platform-direct.json');
    const r = await bootCheck([disk, '--json', '--platform-out', platformOut]);
    expect(r.stderr).toMatch(/boot far enough after [\d.]+ s: the guest shut the TPM down/);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.ok).toBe(true);
    expect(rep.boot).toEqual({
      endReason: 'tpm-shutdown',
      elapsedMs: expect.any(Number),
      exitBootServices: true,
    });
    expect(rep.tpm.realSource).toBe('tpm-read');
    expect(rep.tpm.captureMismatches).toEqual([]);
    expect(rep.tpm.readMismatches).toEqual([]);
    expect(rep.tpm.startupLocality).toBe(0);
    expect(rep.pcrs.map((p) => `${p.pcr}/${p.bank}`).sort()).toEqual(
      [4, 5, 7, 8, 9, 11, 12, 13].flatMap((p) => ['sha1', 'sha256', 'sha384'].map((b) => `${p}/${b}`)).sort(),
    );
    expect(rep.pcrs.every((p) => p.ok)).toBe(true);
    expect(rep.departures.every((d) => d.ok)).toBe(true);
    // the guest printed its event log and PCRs: they agree with the TPM side
    expect(rep.crossCheck.eventLog?.ok).toBe(true);
    expect(rep.crossCheck.guestPcrs?.ok).toBe(true);
    expect(await sha256(disk)).toBe(before);
    // the platform PCRs it observed complete a measurements document (item 5 of the issue)
    const m = await execa(
      'node',
      [
        '--import',
        'tsx',
        join(ROOT, 'pipeline', 'bin.ts'),
        'measure',
        disk,
        '--platform-values',
        platformOut,
        '--json',
      ],
      { cwd: ROOT, reject: false },
    );
    expect(m.exitCode, String(m.stderr)).toBe(0);
    const doc = JSON.parse(String(m.stdout)) as {
      pcrs: Record<string, { origin: string; expected: Record<string, string> }>;
      notPredicted: { pcr: number }[];
    };
    expect(doc.notPredicted.map((n) => n.pcr)).toEqual([7]); // no --vars given here
    const real = (rep as unknown as { real: Record<string, string[]> }).real;
    for (const pcr of [0, 1, 2, 3, 6]) {
      expect(doc.pcrs[String(pcr)]?.origin).toBe('platform');
      expect(doc.pcrs[String(pcr)]?.expected['sha256']).toBe(real['sha256']?.[pcr]);
    }
  }, 400_000);

  it('sdboot-sb (Secure Boot, systemd-boot), ended by a console marker: exit 0, human report', async () => {
    const r = await bootCheck([
      images.disks['sdboot-sb'] as string,
      '--firmware',
      'ovmf-secboot',
      '--marker',
      MARK.end,
    ]);
    expect(r.stderr).toMatch(/Secure Boot on/);
    expect(r.stderr).toMatch(/boot far enough after [\d.]+ s: the marker appeared on the serial console/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^real PCRs: read from the TPM after the boot; they equal the replay of its log$/m,
    );
    expect(r.stdout).toMatch(
      /^result: all 8 predicted PCRs \(4, 5, 7, 8, 9, 11, 12, 13\) equal the booted ones in sha1, sha256, sha384$/m,
    );
    expect(r.stdout).not.toMatch(/DIFFERS/);
  }, 400_000);

  it('a wrong prediction (the sdboot document against the direct disk), ended by a quiet TPM: exit 1 naming PCR 4 and its first differing extend', async () => {
    const doc = join(work, 'sdboot.json');
    const m = await execa(
      'node',
      [
        '--import',
        'tsx',
        join(ROOT, 'pipeline', 'bin.ts'),
        'measure',
        images.disks.sdboot as string,
        '--vars',
        '/usr/share/OVMF/OVMF_VARS_4M.fd',
        '-o',
        doc,
      ],
      { cwd: ROOT },
    );
    expect(m.exitCode).toBe(0);
    // --quiet 1: one second without a PCR change after ExitBootServices is enough (under TCG the
    // kernel takes longer than that to its first own extend; under KVM the guest may power off first)
    const r = await bootCheck([images.disks.direct as string, '--against', doc, '--quiet', '1', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error \[CHECK_FAILED\]: the predicted PCRs differ from the booted ones: PCR 4, 12/,
    );
    const rep = JSON.parse(r.stdout) as Report;
    expect(accel === 'tcg' ? ['tpm-quiet'] : ['tpm-quiet', 'tpm-shutdown']).toContain(rep.boot.endReason);
    expect(rep.ok).toBe(false);
    expect(rep.pcrs.filter((p) => !p.ok).map((p) => p.pcr)).toEqual([4, 4, 4, 12, 12, 12]);
    const pcr4 = rep.departures.find((d) => d.pcr === 4);
    // systemd-boot predicted where the TPM got the UKI's Authenticode hash
    expect(pcr4?.first?.message).toMatch(
      /^PCR 4 extend 3: predicted EV_EFI_BOOT_SERVICES_APPLICATION Authenticode of EFI\/BOOT\/BOOTX64.EFI = sha256:[0-9a-f]{12}…, the TPM received sha256:[0-9a-f]{12}… \(TPM2_PCR_Extend, TPM command #\d+, swtpm log line \d+\)$/,
    );
    expect(rep.departures.find((d) => d.pcr === 12)?.first?.reason).toBe('missing');
  }, 400_000);

  it('a timeout before ExitBootServices: exit 1, says so, leaves nothing behind', async () => {
    const r = await bootCheck([images.disks.direct as string, '--timeout', '3', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the timeout ran out/);
    expect(r.stderr).toMatch(/never reached ExitBootServices/);
    expect((JSON.parse(r.stdout) as Report).boot.endReason).toBe('timeout');
  }, 120_000);

  it('QEMU killed under it: a tool failure (exit 5) naming QEMU, nothing left behind', async () => {
    const r = await bootCheck([images.disks.direct as string], async (_child, tmp) => {
      await waitFor(() => processesUsing(tmp).some((p) => p.includes('qemu-system-x86_64')), 30_000);
      await new Promise((res) => setTimeout(res, 2000));
      for (const p of processesUsing(tmp).filter((x) => x.includes('qemu-system-x86_64 ')))
        process.kill(Number(p.split(':')[0]), 'SIGKILL');
    });
    expect(r.stderr).toMatch(
      /error \[TOOL_FAILED\]: the boot ended before ExitBootServices: qemu-system-x86_64 was killed by SIGKILL/,
    );
    expect(r.code).toBe(5);
  }, 120_000);

  it('Ctrl-C (SIGINT): exit 130, QEMU and swtpm stopped, temporary files removed', async () => {
    const r = await bootCheck([images.disks.direct as string], async (child, tmp) => {
      await waitFor(() => processesUsing(tmp).some((p) => p.includes('qemu-system-x86_64')), 30_000);
      await new Promise((res) => setTimeout(res, 2000));
      child.kill('SIGINT');
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: stopping QEMU and swtpm/);
  }, 120_000);
});
