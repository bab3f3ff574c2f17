// More of `nodeimg boot-check` for real (issue 4): the other lab disks (sdboot, direct-sb), an image
// whose guest prints nothing at all (its /init only powers off), where every predicted PCR must be
// found from the TPM side alone, and a deliberately wrong prediction: the lab `direct` disk measured,
// then rebuilt with another kernel command line in its UKI's .cmdline. Each run gets a private
// TMPDIR; afterwards no nodeimg temporary folder and no process that used it may be left.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootDisk } from '../../image/build/disk/index.js';
import {
  LAB_CMDLINE,
  buildInitrd,
  buildLabImages,
  detectAccel,
  fetchLabInputs,
  type LabImages,
  type LabInputs,
} from '../../image/build/lab/index.js';
import { LAB_OS_RELEASE } from '../../image/build/lab/config.js';
import { labImages } from '../helpers/lab.js';
import { runBootCheck, type BootCheckRun as Run } from '../helpers/boot-check-run.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = ['--import', 'tsx', join(ROOT, 'pipeline', 'bin.ts')];
const ALL_PREDICTED = [4, 5, 7, 8, 9, 11, 12, 13].flatMap((p) =>
  ['sha1', 'sha256', 'sha384'].map((b) => `${p}/${b}`),
);

/** /init of the silent image: not a byte on the console, straight to power-off. */
const SILENT_INIT = '#!/bin/busybox sh\nexec /bin/busybox poweroff -f\n';
/** No console= either: the kernel writes nothing to the serial port. */
const SILENT_CMDLINE = 'quiet loglevel=0 panic=-1';
/** The lab command line with one more word: the .cmdline of the "changed after measuring" UKI. */
const CHANGED_CMDLINE = `${LAB_CMDLINE} nodeimg.changed=1`;

let images: LabImages;
let inputs: LabInputs;
let accel: string;
let work: string;

interface Report {
  ok: boolean;
  boot: { endReason: string; exitBootServices: boolean };
  tpm: { realSource: string; captureMismatches: string[]; readMismatches: string[] };
  pcrs: { pcr: number; bank: string; ok: boolean }[];
  departures: {
    pcr: number;
    ok: boolean;
    first: {
      position: number;
      reason: string;
      expected: { type: string; description: string } | null;
      message: string;
    } | null;
  }[];
  crossCheck: { eventLog: { ok: boolean } | null; guestPcrs: { ok: boolean } | null };
}

/** `nodeimg boot-check args` with a private TMPDIR; then checks that nothing is left behind. */
const bootCheck = (args: string[]): Promise<Run> => runBootCheck(work, accel, args, { timeoutMs: 110_000 });

/** Exit 0, every predicted PCR in every bank equal, no departure, a trustworthy TPM-side capture. */
function expectAllEqual(r: Run): Report {
  expect(r.code, r.stderr).toBe(0);
  const rep = JSON.parse(r.stdout) as Report;
  expect(rep.ok).toBe(true);
  expect(rep.boot.exitBootServices).toBe(true);
  expect(rep.tpm.realSource).toBe('tpm-read');
  expect(rep.tpm.captureMismatches).toEqual([]);
  expect(rep.tpm.readMismatches).toEqual([]);
  expect(rep.pcrs.map((p) => `${p.pcr}/${p.bank}`).sort()).toEqual([...ALL_PREDICTED].sort());
  expect(rep.pcrs.filter((p) => !p.ok)).toEqual([]);
  expect(rep.departures.filter((d) => !d.ok)).toEqual([]);
  return rep;
}

describe('nodeimg boot-check: sdboot, direct-sb, a silent guest, a changed .cmdline', () => {
  beforeAll(async () => {
    [images, inputs, accel] = await Promise.all([labImages(), fetchLabInputs(), detectAccel()]);
    work = await mkdtemp(join(tmpdir(), 'nodeimg-boot-check-more-e2e-'));
    console.log(`accelerator: ${accel}`);
  }, 900_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('sdboot (systemd-boot, Secure Boot off): exit 0, every predicted PCR equal, cross-checks agree', async () => {
    const r = await bootCheck([images.disks.sdboot as string, '--json']);
    expect(r.stderr).toMatch(/Secure Boot off/);
    const rep = expectAllEqual(r);
    expect(rep.boot.endReason).toBe('tpm-shutdown');
    expect(rep.crossCheck.eventLog?.ok).toBe(true);
    expect(rep.crossCheck.guestPcrs?.ok).toBe(true);
  }, 120_000);

  it('direct-sb (UKI started by the firmware, Secure Boot on): exit 0, every predicted PCR equal', async () => {
    const r = await bootCheck([images.disks['direct-sb'] as string, '--firmware', 'ovmf-secboot', '--json']);
    expect(r.stderr).toMatch(/Secure Boot on/);
    const rep = expectAllEqual(r);
    expect(rep.boot.endReason).toBe('tpm-shutdown');
    expect(rep.crossCheck.eventLog?.ok).toBe(true);
    expect(rep.crossCheck.guestPcrs?.ok).toBe(true);
  }, 120_000);

  it('a guest that prints nothing (its /init only powers off): every predicted PCR equal, from the TPM side alone', async () => {
    const dir = join(work, 'silent');
    const initrd = await buildInitrd({
      busybox: inputs.busybox,
      outFile: join(dir, 'initrd.cpio.gz'),
      init: SILENT_INIT,
    });
    const built = await buildBootDisk({
      uki: {
        stub: inputs.stub,
        kernel: inputs.kernel,
        initrd,
        cmdline: SILENT_CMDLINE,
        osRelease: LAB_OS_RELEASE,
      },
      layout: 'direct',
      outDir: dir,
      seed: '73696c65-6e74-4000-8000-6e6f6465696d',
    });
    const logs = join(work, 'silent-logs');
    const r = await bootCheck([built.disk.path, '--json', '--logs', logs]);
    const rep = expectAllEqual(r);
    expect(rep.boot.endReason).toBe('tpm-shutdown');
    // nothing from the guest to cross-check with: the verdict rests on swtpm's log and the read-back
    expect(rep.crossCheck).toEqual({ eventLog: null, guestPcrs: null });
    // the serial console holds OVMF's boot manager lines and nothing else
    const consoleText = (await readFile(join(logs, 'console.log'), 'latin1'))
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '')
      .replace(/\r/g, '');
    const lines = consoleText.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => !l.startsWith('BdsDxe: '))).toEqual([]);
  }, 120_000);

  it('a UKI whose .cmdline changed after measuring: exit 1, PCR 11 names the .cmdline section, PCR 9 the LoadOptions', async () => {
    const doc = join(work, 'direct.json');
    const m = await execa('node', [...CLI, 'measure', images.disks.direct as string, '-o', doc], {
      cwd: ROOT,
      reject: false,
    });
    expect(m.exitCode, String(m.stderr)).toBe(0);
    const changed = await buildLabImages({
      inputs,
      outDir: join(work, 'changed'),
      variants: ['direct'],
      cmdline: CHANGED_CMDLINE,
    });
    const r = await bootCheck([changed.disks.direct as string, '--against', doc, '--json']);
    expect(r.code).toBe(1);
    // PCR 4: the UKI's Authenticode hash changed with it
    expect(r.stderr).toMatch(
      /error \[CHECK_FAILED\]: the predicted PCRs differ from the booted ones: PCR 4, 9, 11$/m,
    );
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.ok).toBe(false);
    expect(rep.tpm.captureMismatches).toEqual([]);
    expect([...new Set(rep.pcrs.filter((p) => !p.ok).map((p) => p.pcr))]).toEqual([4, 9, 11]);
    // PCR 11: the same sections in the same order; the first differing extend is the .cmdline
    // contents (its name, one extend earlier, still matches)
    const predicted11 = (
      JSON.parse(await readFile(doc, 'utf8')) as {
        pcrs: Record<string, { events: { description: string }[] }>;
      }
    ).pcrs['11']?.events.map((e) => e.description);
    const cmdlinePos = (predicted11 ?? []).indexOf('PCR 11 contents of UKI section .cmdline') + 1;
    expect(cmdlinePos).toBeGreaterThan(1);
    expect(predicted11?.[cmdlinePos - 2]).toBe('PCR 11 name of UKI section .cmdline');
    const pcr11 = rep.departures.find((d) => d.pcr === 11)?.first;
    expect(pcr11).toMatchObject({
      position: cmdlinePos,
      reason: 'digest',
      expected: { type: 'EV_IPL', description: 'PCR 11 contents of UKI section .cmdline' },
    });
    expect(pcr11?.message).toMatch(
      new RegExp(
        `^PCR 11 extend ${cmdlinePos}: predicted EV_IPL PCR 11 contents of UKI section \\.cmdline = sha256:[0-9a-f]{12,}…, the TPM received sha256:[0-9a-f]{12,}… \\(TPM2_PCR_Extend, TPM command #\\d+, swtpm log line \\d+\\)$`,
      ),
    );
    // PCR 9: the kernel's first extend, the command line it got as LoadOptions
    const pcr9 = rep.departures.find((d) => d.pcr === 9)?.first;
    expect(pcr9).toMatchObject({ position: 1, reason: 'digest', expected: { type: 'EV_EVENT_TAG' } });
    expect(pcr9?.message).toContain(
      `PCR 9 extend 1: predicted EV_EVENT_TAG LOADED_IMAGE::LoadOptions: kernel command line "${LAB_CMDLINE}" (UTF-16LE + NUL) = sha256:`,
    );
    // the guest printed the changed command line: the boot really ran the changed UKI
    expect(rep.crossCheck.eventLog?.ok).toBe(true);
  }, 120_000);
});
