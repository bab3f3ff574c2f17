// `nodeimg verify` against the recorded real boots of the lab disks: accepts the matching
// prediction and names the right event for a changed command line, a changed initrd and Secure Boot
// flipped; catches a log that does not replay to the TPM's PCRs; checks an SEV-SNP report.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File, type LabImages } from '../../image/build/lab/index.js';
import { decodeSnpReport } from '../../measurements/cvm/snp/report.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { labImages } from '../helpers/lab.js';
import { run } from '../helpers/cli.js';

const FIX = 'test/fixtures/eventlogs';
const VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
let lab: LabImages;
let dir: string;
let current = false;

beforeAll(async () => {
  lab = await labImages();
  dir = mkdtempSync(join(tmpdir(), 'nodeimg-verify-'));
  const rec = JSON.parse(readFileSync(`${FIX}/direct.pcrs.json`, 'utf8')) as { diskSha256: string };
  current = (await sha256File(lab.disks['direct'] as string)) === rec.diskSha256;
}, 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function measure(input: string, name: string, extra: string[] = []): Promise<string> {
  const out = join(dir, `${name}.json`);
  const r = await run(['measure', input, '-o', out, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/** A copy of the lab UKI with one section's bytes changed in place (same size). */
function ukiWith(section: string, change: (b: Buffer) => void): string {
  const sec = join(dir, `${section.slice(1)}.bin`);
  execFileSync('objcopy', ['-O', 'binary', `--only-section=${section}`, lab.uki, sec]);
  const b = readFileSync(sec);
  change(b);
  writeFileSync(sec, b);
  const out = join(dir, `uki-${section.slice(1)}.efi`);
  execFileSync('objcopy', [`--update-section`, `${section}=${sec}`, lab.uki, out]);
  return out;
}

describe('nodeimg verify', () => {
  it('accepts the real boot of the predicted image, and catches a log that does not match the TPM', async (ctx) => {
    if (!current) ctx.skip('the recorded boots are of an older build of the lab disks');
    const doc = await measure(lab.disks['direct'] as string, 'direct', ['--vars', VARS]);
    const ok = await run([
      'verify',
      '--against',
      doc,
      '--eventlog',
      `${FIX}/direct.bin`,
      '--pcrs',
      `${FIX}/direct.pcrs.json`,
    ]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/the event log replays to the TPM's PCRs/);
    const forged = JSON.parse(readFileSync(`${FIX}/direct.pcrs.json`, 'utf8')) as {
      pcrs: Record<string, string[]>;
    };
    (forged.pcrs['sha256'] as string[])[4] = '11'.repeat(32);
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
    const bad = await run([
      'verify',
      '--against',
      doc,
      '--eventlog',
      `${FIX}/direct.bin`,
      '--pcrs',
      join(dir, 'forged.json'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/does not replay to the TPM's PCRs[\s\S]*forged/);
  });

  it('Secure Boot flipped: PCR 7, SecureBoot', async (ctx) => {
    if (!current) ctx.skip('the recorded boots are of an older build of the lab disks');
    const doc = await measure(lab.disks['direct'] as string, 'direct-off', ['--vars', VARS]);
    const r = await run([
      'verify',
      '--against',
      doc,
      '--eventlog',
      `${FIX}/direct-sb.bin`,
      '--pcrs',
      `${FIX}/direct-sb.pcrs.json`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /MISMATCH PCR 7: PCR 7 event 1 [^\n]*SecureBoot[\s\S]*most likely: the Secure Boot state differs/,
    );
  });

  it('a changed command line: PCR 11 names .cmdline and PCR 9 the kernel command line', async (ctx) => {
    if (!current) ctx.skip('the recorded boots are of an older build of the lab disks');
    const uki = ukiWith('.cmdline', (b) => b.write('QUIET', b.indexOf('quiet')));
    const doc = await measure(uki, 'cmdline');
    const r = await run(['verify', '--against', doc, '--eventlog', `${FIX}/direct.bin`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /MISMATCH PCR 9: [^\n]*command line[\s\S]*most likely: a different kernel command line reached the kernel/,
    );
    expect(r.stdout).toMatch(
      /MISMATCH PCR 11: [^\n]*\.cmdline[\s\S]*most likely: a different kernel command line in the UKI/,
    );
    expect(r.stderr).toMatch(/not checked against the TPM/);
  });

  it('a changed initrd: PCR 11 names .initrd and PCR 9 the initrd', async (ctx) => {
    if (!current) ctx.skip('the recorded boots are of an older build of the lab disks');
    const uki = ukiWith('.initrd', (b) => {
      b[b.length - 1] = (b[b.length - 1] as number) ^ 0xff;
    });
    const r = await run([
      'verify',
      '--against',
      await measure(uki, 'initrd'),
      '--eventlog',
      `${FIX}/direct.bin`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/MISMATCH PCR 9: [\s\S]*most likely: a different initrd reached the kernel/);
    expect(r.stdout).toMatch(
      /MISMATCH PCR 11: [^\n]*\.initrd[\s\S]*most likely: a different initrd in the UKI/,
    );
  });

  it("compares an SEV-SNP report's MEASUREMENT with the document's launch values", async () => {
    const fw = '../shared/cvm-measurement-data/firmware/debian-sid-ovmf-amdsev_2026.08+ds-2/OVMF.amdsev.fd';
    const reportFile = '../shared/cvm-measurement-data/dstack-fixtures/sev_snp_attestation.bin';
    const docPath = await measure(lab.disks['direct'] as string, 'snp', [
      '--platform',
      'qemu-snp',
      '--firmware',
      fw,
      '--vcpus',
      '1-2',
      '--vcpu-type',
      'EPYC-v4',
    ]);
    const miss = await run([
      'verify',
      '--against',
      docPath,
      '--snp-report',
      reportFile,
      '--report-offset',
      '4',
    ]);
    expect(miss.code).toBe(1);
    expect(miss.stdout).toMatch(/none of the 2 predicted qemu-snp values/);
    // the real report's MEASUREMENT placed into the document as the 2-vCPU value is accepted
    const doc = JSON.parse(readFileSync(docPath, 'utf8')) as MeasurementsDocument & {
      launch: { values: { value: string }[] };
    };
    const m = Buffer.from(decodeSnpReport(new Uint8Array(readFileSync(reportFile)), 4).measurement).toString(
      'hex',
    );
    (doc.launch.values[1] as { value: string }).value = m;
    writeFileSync(docPath, JSON.stringify(doc));
    const hit = await run([
      'verify',
      '--against',
      docPath,
      '--snp-report',
      reportFile,
      '--report-offset',
      '4',
      '--json',
    ]);
    expect(hit.code, hit.stdout).toBe(0);
    expect(JSON.parse(hit.stdout)).toMatchObject({ ok: true, findings: [] });
  });

  it('is fail-closed on usage', async () => {
    expect((await run(['verify', '--eventlog', `${FIX}/direct.bin`])).code).toBe(2);
    expect((await run(['verify', '--against', 'package.json', '--eventlog', `${FIX}/direct.bin`])).code).toBe(
      6,
    );
  });
});
