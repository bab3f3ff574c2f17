// `nodeimg measure` end to end, in-process, on the lab disks and on broken inputs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabImages } from '../../image/build/lab/index.js';
import { decodeEventLog, replayEventLog } from '../../measurements/index.js';
import { toHex } from '../../image/formats/reader.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { assertMeasurementsDocument } from '../../pipeline/schema/validate.js';
import { labImages } from '../helpers/lab.js';
import { buildGpt } from '../helpers/gpt-bytes.js';
import { run } from '../helpers/cli.js';

const VARS_SB = '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd';
const VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
let lab: LabImages;
let dir: string;

beforeAll(async () => {
  lab = await labImages();
  dir = mkdtempSync(join(tmpdir(), 'nodeimg-measure-'));
}, 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the lab UKI with `from` replaced by `to` (same length) in its bytes. */
function patchedUki(from: string, to: string): string {
  const b = readFileSync(lab.uki);
  const at = b.indexOf(from);
  expect(at).toBeGreaterThan(0);
  Buffer.from(to).copy(b, at);
  const out = join(dir, `patched-${to.replace(/\W/g, '')}.efi`);
  writeFileSync(out, b);
  return out;
}

describe('nodeimg measure', () => {
  it('writes a schema-valid document, the same bytes every time, and a log that replays to it', async () => {
    const out = join(dir, 'm.json');
    const log = join(dir, 'm.bin');
    const a = await run([
      'measure',
      lab.disks['sdboot-sb'] as string,
      '--vars',
      VARS_SB,
      '-o',
      out,
      '--eventlog',
      log,
      '--phases',
      'enter-initrd',
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/systemd-boot starts the UKI, Secure Boot on/);
    const b = await run([
      'measure',
      lab.disks['sdboot-sb'] as string,
      '--vars',
      VARS_SB,
      '--json',
      '--phases',
      'enter-initrd',
    ]);
    expect(b.stdout).toBe(readFileSync(out, 'utf8'));
    const doc = JSON.parse(b.stdout) as MeasurementsDocument;
    assertMeasurementsDocument(doc);
    expect(Object.keys(doc.pcrs)).toEqual(['4', '5', '7', '8', '9', '11', '12', '13']);
    expect(doc.pcrs['7']?.origin).toBe('image+platform');
    expect(doc.notPredicted.map((n) => n.pcr)).toEqual([0, 1, 2, 3, 6]);
    expect(doc.pcr11Phases[0]?.phase).toBe('enter-initrd');
    const replay = replayEventLog(decodeEventLog(new Uint8Array(readFileSync(log))));
    for (const [pcr, p] of Object.entries(doc.pcrs)) {
      for (const bank of doc.banks)
        expect(toHex(replay.pcrs[bank]?.get(Number(pcr)) as Uint8Array)).toBe(p.expected[bank]);
    }
  });

  it("exports Constellation's ImageMeasurementsV2 with its enforce table", async () => {
    const out = join(dir, 'constellation.json');
    const r = await run([
      'measure',
      lab.disks['direct'] as string,
      '--constellation',
      out,
      '--csp',
      'QEMU',
      '--attestation-variant',
      'qemu-vtpm',
      '--image-version',
      'v1.2.3',
      '--ref',
      '-',
      '--stream',
      'stable',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(readFileSync(out, 'utf8')) as {
      version: string;
      list: { csp: string; measurements: Record<string, { expected: string; warnOnly: boolean }> }[];
    };
    expect(c.version).toBe('v1.2.3');
    const m = c.list[0]?.measurements ?? {};
    // Go's encoder sorts map keys as strings
    const text = readFileSync(out, 'utf8');
    expect([...text.matchAll(/"(\d+)":{"expected"/g)].map((x) => x[1])).toEqual([
      '11',
      '12',
      '13',
      '15',
      '4',
      '5',
      '8',
      '9',
    ]);
    expect(text.endsWith('}\n')).toBe(true);
    for (const p of ['4', '8', '9', '11', '12', '13', '15']) expect(m[p]?.warnOnly).toBe(false);
    expect(m['5']?.warnOnly).toBe(true);
    const missing = await run(['measure', lab.disks['direct'] as string, '--constellation', out]);
    expect(missing.code).toBe(2);
  });

  it('takes PCRs 0-3 and 6 from a recorded platform log and never guesses them otherwise', async () => {
    const r = await run([
      'measure',
      lab.disks['direct'] as string,
      '--vars',
      VARS,
      '--platform-log',
      'test/fixtures/eventlogs/direct.bin',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as MeasurementsDocument;
    const real = JSON.parse(readFileSync('test/fixtures/eventlogs/direct.pcrs.json', 'utf8')) as {
      pcrs: Record<string, string[]>;
    };
    for (const pcr of [0, 1, 2, 3, 6]) {
      expect(doc.pcrs[String(pcr)]?.origin).toBe('platform');
      expect(doc.pcrs[String(pcr)]?.expected.sha256).toBe(real.pcrs['sha256']?.[pcr]);
    }
    expect(doc.notPredicted).toEqual([]);
  });

  it('takes PCRs 0-3 and 6 from observed platform values (boot-check --platform-out)', async () => {
    // the recorded boot's PCR values, in the lab fixture form {"pcrs": {"sha256": [...]}}
    const r = await run([
      'measure',
      lab.disks['direct'] as string,
      '--platform-values',
      'test/fixtures/eventlogs/direct.pcrs.json',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as MeasurementsDocument;
    const real = JSON.parse(readFileSync('test/fixtures/eventlogs/direct.pcrs.json', 'utf8')) as {
      pcrs: Record<string, string[]>;
    };
    for (const pcr of [0, 1, 2, 3, 6])
      expect(doc.pcrs[String(pcr)]?.expected.sha384).toBe(real.pcrs['sha384']?.[pcr]);
    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ sha256: { '0': '00'.repeat(32) } }));
    expect((await run(['measure', lab.disks['direct'] as string, '--platform-values', partial])).code).toBe(
      2,
    );
    expect(
      (
        await run([
          'measure',
          lab.disks['direct'] as string,
          '--platform-values',
          partial,
          '--platform-log',
          'test/fixtures/eventlogs/direct.bin',
        ])
      ).code,
    ).toBe(2);
  });

  it('records confidential-VM launch values next to the PCRs (--platform), equal to launch-digest', async () => {
    const snpFw =
      '../shared/cvm-measurement-data/firmware/debian-sid-ovmf-amdsev_2026.08+ds-2/OVMF.amdsev.fd';
    const r = await run([
      'measure',
      lab.disks['direct'] as string,
      '--platform',
      'qemu-snp',
      '--firmware',
      snpFw,
      '--vcpus',
      '1-3',
      '--vcpu-type',
      'EPYC-Milan',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as MeasurementsDocument;
    assertMeasurementsDocument(doc);
    expect(doc.launch?.values.map((x) => x.vcpus)).toEqual([1, 2, 3]);
    const ld = await run([
      'launch-digest',
      '--mode',
      'snp',
      '--ovmf',
      snpFw,
      '--vcpus',
      '3',
      '--vcpu-type',
      'EPYC-Milan',
    ]);
    expect(doc.launch?.values[2]?.value).toBe(ld.stdout.trim());

    const tdxFw =
      '../shared/cvm-measurement-data/firmware/debian-sid-ovmf-inteltdx_2026.08+ds-2/OVMF.inteltdx.ms.fd';
    const t = await run([
      'measure',
      lab.disks['direct'] as string,
      '--platform',
      'qemu-tdx',
      '--firmware',
      tdxFw,
      '--json',
    ]);
    expect(t.code, t.stderr).toBe(0);
    const tdoc = JSON.parse(t.stdout) as MeasurementsDocument;
    const mrtd = await run(['launch-digest', '--mode', 'tdx', '--ovmf', tdxFw]);
    expect(tdoc.launch?.values.find((x) => x.name === 'MRTD' && x.order === 'single-pass')?.value).toBe(
      mrtd.stdout.trim(),
    );
    expect(tdoc.launch?.notPredicted.map((n) => n.name)).toEqual(['RTMR0']);

    expect(
      (
        await run([
          'measure',
          lab.disks['direct'] as string,
          '--platform',
          'azure-magic',
          '--firmware',
          tdxFw,
        ])
      ).code,
    ).toBe(2);
    expect((await run(['measure', lab.disks['direct'] as string, '--vcpus', '2'])).code).toBe(2);
    expect((await run(['measure', lab.disks['direct'] as string, '--platform', 'qemu-snp'])).code).toBe(2);
  });

  it('refuses a Secure Boot prediction for an image the db does not allow', async () => {
    const r = await run(['measure', lab.disks['direct'] as string, '--vars', VARS_SB]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CHECK_FAILED/);
  });

  it('names the behaviour it assumes for an unknown systemd-stub version', async () => {
    const r = await run(['measure', patchedUki('systemd-stub 252', 'systemd-stub 999'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /systemd-stub 999 is outside the versions nodeimg knows \(250-258\): assuming the behaviour of 258/,
    );
    const doc = JSON.parse(r.stdout) as MeasurementsDocument;
    expect(doc.warnings.join('\n')).toMatch(/assuming the behaviour of 258/);
  });

  it('asks for --stub-version when the stub carries no version marker', async () => {
    const uki = patchedUki('#### LoaderInfo: systemd-stub', '#### LoaderXnfo: systemd-stub');
    const r = await run(['measure', uki]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot tell the systemd-stub version[\s\S]*--stub-version/);
    expect((await run(['measure', uki, '--stub-version', '252'])).code).toBe(0);
  });

  it('gives clear errors for a disk without ESP, a UKI without .linux and a corrupt platform log', async () => {
    const noEsp = join(dir, 'no-esp.img');
    writeFileSync(
      noEsp,
      buildGpt({
        blockSize: 512,
        totalLbas: 4096,
        diskGuid: '11111111-2222-3333-4444-555555555555',
        partitions: [
          {
            type: '0fc63daf-8483-4772-8e79-3d69d8477de4',
            uuid: '11111111-2222-3333-4444-666666666666',
            first: 2048,
            last: 4000,
          },
        ],
      }),
    );
    const a = await run(['measure', noEsp]);
    expect(a.code).toBe(3);
    expect(a.stderr).toMatch(/no EFI system partition/);

    const { debPackage } = await import('../helpers/debs.js');
    const stub = join(
      (await debPackage('systemd-boot-efi')).root,
      'usr/lib/systemd/boot/efi/linuxx64.efi.stub',
    );
    const b = await run(['measure', stub]);
    expect(b.code).toBe(3);
    expect(b.stderr).toMatch(/no \.linux section/);

    const bad = join(dir, 'bad.bin');
    copyFileSync('test/fixtures/eventlogs/direct.bin', bad);
    writeFileSync(bad, readFileSync(bad).subarray(0, 700));
    const c = await run(['measure', lab.disks['direct'] as string, '--platform-log', bad]);
    expect(c.code).toBe(3);
    expect(c.stderr).toMatch(/byte \d+/);
  });

  it('checks its options', async () => {
    expect((await run(['measure', lab.disks['direct'] as string, '--secure-boot', 'on'])).code).toBe(2);
    expect((await run(['measure', lab.disks['direct'] as string, '--banks', 'md5'])).code).toBe(2);
    expect((await run(['measure', lab.disks['direct'] as string, '--boot', 'systemd-boot'])).code).toBe(2);
    expect((await run(['measure', '--help'])).code).toBe(0);
  });
});
