// `nodeimg launch-digest` and `nodeimg snp-report` end to end, in-process: vCPU tables, output
// forms, the report check, and the usage / input errors with their exit codes. The digests
// themselves are checked against every vector in test/measurements/snp-vectors.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SNP_REPORT_SIZE } from '../../measurements/cvm/snp/index.js';
import { assertLaunchDigestDocument, assertSnpReportDocument } from '../../pipeline/schema/cvm.js';
import { run } from '../helpers/cli.js';

const data = (p: string) => fileURLToPath(new URL(`../../../shared/${p}`, import.meta.url));
const SID = data('cvm-measurement-data/firmware/debian-sid-ovmf-amdsev_2026.08+ds-2/OVMF.amdsev.fd');
const TRIXIE = data('cvm-measurement-data/firmware/debian-trixie-ovmf_2025.02-8+deb13u1/OVMF.fd');
const KERNEL = data('vectors/snp/inputs/kernel.bin');
const INITRD = data('vectors/snp/inputs/initrd.bin');
const DSTACK = data('cvm-measurement-data/dstack-fixtures/sev_snp_attestation.bin');
const dir = mkdtempSync(join(tmpdir(), 'nodeimg-launch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kic = ['--kernel', KERNEL, '--initrd', INITRD, '--append', 'console=ttyS0 loglevel=7'];
const milan = ['launch-digest', '--mode', 'snp', '--ovmf', SID, '--vcpu-type', 'EPYC-Milan', ...kic];

describe('nodeimg launch-digest', () => {
  it('tabulates 1-64 vCPUs in one run, each line equal to a single-count run', async () => {
    const all = await run([...milan, '--vcpus', '1-64']);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(64);
    expect(lines[0]).toMatch(/^vcpus=1 [0-9a-f]{96}$/);
    for (const n of [1, 4, 16, 64]) {
      const one = await run([...milan, '--vcpus', String(n)]);
      expect(`vcpus=${n} ${one.stdout.trim()}`).toBe(lines[n - 1]);
    }
    // vector snp-qemu-EPYC-Milan-4vcpu-gf0x1-kic
    expect(lines[3]).toBe(
      'vcpus=4 d185b296e132517c29a1f8c30b4f3722fc170e13367fe86a1a854ff7ef529aea3225445432d2998e90489c86eb7949bd',
    );
  });

  it('speaks base64 and verbose like sev-snp-measure, and the family/model/stepping form', async () => {
    const hex = (await run([...milan, '--vcpus', '2'])).stdout.trim();
    const b64 = await run([...milan, '--vcpus', '2', '--output-format', 'base64']);
    expect(Buffer.from(b64.stdout.trim(), 'base64').toString('hex')).toBe(hex);
    const verbose = await run([...milan, '--vcpus', '2', '-v']);
    expect(verbose.stdout).toBe(`Calculated SEV_SNP guest measurement: ${hex}\n`);
    const parts = await run([
      'launch-digest',
      '--mode',
      'snp',
      '--ovmf',
      SID,
      '--vcpus',
      '2',
      '--vcpu-family',
      '25',
      '--vcpu-model',
      '1',
      '--vcpu-stepping',
      '1',
      ...kic,
    ]);
    expect(parts.stdout.trim()).toBe(hex);
    const sig = await run([
      'launch-digest',
      '--mode',
      'snp',
      '--ovmf',
      SID,
      '--vcpus',
      '2',
      '--vcpu-sig',
      '0xa00f11',
      ...kic,
    ]);
    expect(sig.stdout.trim()).toBe(hex);
  });

  it('writes a schema-valid JSON document with the parameters and intermediate values', async () => {
    const r = await run([...milan, '--vcpus', '1,2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & {
      parameters: Record<string, unknown>;
      intermediate: { pages: { type: string; gpa: string; pages: number }[] };
    };
    assertLaunchDigestDocument(doc);
    expect(doc.parameters).toMatchObject({
      vcpus: [1, 2],
      vmmType: 'QEMU',
      vcpuSig: '0xa00f11',
      vcpuType: 'EPYC-Milan',
      guestFeatures: '0x1',
    });
    // launch-measurements.md §1.2 sanity figures: 1024 NORMAL firmware pages, then the metadata in file order
    expect(doc.intermediate.pages.map((p) => `${p.type}@${p.gpa}x${p.pages}`)).toEqual([
      'NORMAL@0xffc00000x1024',
      'ZERO@0x800000x9',
      'ZERO@0x80a000x3',
      'SECRETS@0x80d000x1',
      'CPUID@0x80e000x1',
      'ZERO@0x80f000x1',
      'ZERO@0x811000x31',
      'NORMAL@0x810000x1',
    ]);
    const ovmfHash = await run(['launch-digest', '--mode', 'snp:ovmf-hash', '--ovmf', SID, '--json']);
    assertLaunchDigestDocument(JSON.parse(ovmfHash.stdout));
  });

  it('needs no vCPU type for ec2 and gce, and reports nothing for sev but the digest', async () => {
    for (const vmm of ['ec2', 'gce', 'GCE']) {
      const r = await run([
        'launch-digest',
        '--mode',
        'snp',
        '--ovmf',
        TRIXIE,
        '--vcpus',
        '2',
        '--vmm-type',
        vmm,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const sev = await run(['launch-digest', '--mode', 'sev', '--ovmf', TRIXIE]);
    expect(sev.stdout.trim()).toBe('14954040cc754ade0c625ac3470ea46d4c14318b5b1396de4ef77090203d76db'); // sha256 of the file
  });

  it('checks a report: exit 0 naming the vCPU count that matches, exit 1 when none does', async () => {
    const json = JSON.parse((await run([...milan, '--vcpus', '3', '--json'])).stdout) as {
      digests: { digest: string }[];
    };
    const report = new Uint8Array(16 + SNP_REPORT_SIZE);
    report.set([2], 16); // version 2 at offset 16
    report.set(Buffer.from(json.digests[0]?.digest ?? '', 'hex'), 16 + 0x90);
    const file = join(dir, 'report.bin');
    writeFileSync(file, report);
    const ok = await run([...milan, '--vcpus', '1-8', '--report', file, '--report-offset', '16']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/matches the digest for 3 vCPU/);
    const okJson = await run([
      ...milan,
      '--vcpus',
      '1-8',
      '--report',
      file,
      '--report-offset',
      '0x10',
      '--json',
    ]);
    expect((JSON.parse(okJson.stdout) as { report: unknown }).report).toMatchObject({
      offset: 16,
      matchingVcpus: 3,
    });
    const bad = await run([...milan, '--vcpus', '4-8', '--report', file, '--report-offset', '16']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/matches none of the computed digests/);
  });

  it.each([
    [[], 2, /--mode is required/],
    [['--mode', 'csv', '--ovmf', SID], 2, /unknown mode 'csv'/],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--memory', '2G'],
      2,
      /only used with --mode tdx/,
    ],
    [['--mode', 'snp', '--vcpus', '1'], 2, /--ovmf FILE is required/],
    [['--mode', 'snp', '--ovmf', SID, '--vcpu-type', 'EPYC'], 2, /missing --vcpus N in guest mode 'snp'/],
    [
      ['--mode', 'seves', '--ovmf', SID, '--vcpus', '1'],
      2,
      /missing --vcpu-type or --vcpu-sig or --vcpu-family/,
    ],
    [['--mode', 'snp', '--ovmf', SID, '--vcpus', '0', '--vcpu-type', 'EPYC'], 2, /--vcpus: '0'/],
    [['--mode', 'snp', '--ovmf', SID, '--vcpus', '1-5000', '--vcpu-type', 'EPYC'], 2, /--vcpus: '1-5000'/],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'Pentium'],
      2,
      /unknown CPU type 'Pentium'/,
    ],
    [['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vmm-type', 'xen'], 2, /unknown VMM type 'xen'/],
    [['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-family', '25'], 2, /go together/],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--initrd', INITRD],
      2,
      /need --kernel/,
    ],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--guest-features', '-1'],
      2,
      /--guest-features/,
    ],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--output-format', 'raw'],
      2,
      /hex or base64/,
    ],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--snp-ovmf-hash', 'abc'],
      2,
      /96 hex digits/,
    ],
    [
      ['--mode', 'snp', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--svsm', KERNEL],
      2,
      /belong to --mode snp:svsm/,
    ],
    [
      ['--mode', 'snp:svsm', '--ovmf', SID, '--vcpus', '1', '--vcpu-type', 'EPYC', '--svsm', KERNEL],
      2,
      /--vars-size or --vars-file/,
    ],
    [['--mode', 'sev', '--ovmf', SID, '--report', DSTACK], 2, /use it with --mode snp/],
    [
      ['--mode', 'snp', '--ovmf', TRIXIE, '--vcpus', '1', '--vcpu-type', 'EPYC', '--kernel', KERNEL],
      2,
      /no SEV hash table block/,
    ],
    [
      ['--mode', 'snp', '--ovmf', KERNEL, '--vcpus', '1', '--vcpu-type', 'EPYC'],
      3,
      /kernel\.bin: .*no SEV metadata/,
    ],
    [
      ['--mode', 'snp', '--ovmf', join(dir, 'missing.fd'), '--vcpus', '1', '--vcpu-type', 'EPYC'],
      4,
      /cannot read/,
    ],
  ] as const)('refuses %j with exit %i', async (args, code, message) => {
    const r = await run(['launch-digest', ...args]);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('documents every option in --help', async () => {
    const r = await run(['launch-digest', '--help']);
    for (const o of [
      '--mode',
      '--ovmf',
      '--vcpus',
      '--vcpu-type',
      '--vcpu-sig',
      '--vcpu-family',
      '--vmm-type',
      '--guest-features',
      '--kernel',
      '--initrd',
      '--append',
      '--snp-ovmf-hash',
      '--svsm',
      '--vars-size',
      '--report',
      '--output-format',
      '--json',
    ])
      expect(r.stdout).toContain(o);
  });
});

describe('nodeimg snp-report show', () => {
  it('prints the fields of the dstack Milan report', async () => {
    const r = await run(['snp-report', 'show', DSTACK, '--offset', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^measurement +7f51e17f72a04d5422cb2c00998166536019a217376f3aa45a630e59c805a599847ff250dbffcd07e1ba639771d6f05d$/m,
    );
    expect(r.stdout).toMatch(/^cpuid +family 0x19 model 0x1 stepping 0x1$/m);
  });

  it('writes a schema-valid JSON document', async () => {
    const r = await run(['snp-report', 'show', DSTACK, '--offset', '0x4', '--json']);
    const doc = JSON.parse(r.stdout) as { report: Record<string, unknown> };
    assertSnpReportDocument(doc);
    expect(doc.report).toMatchObject({
      version: 3,
      hostData: '783f0057820acb99249af56cc3b07b4e8d80f65183167cba9cf437bb680f742f',
      keyInfo: { signingKey: 'VCEK' },
    });
  });

  it.each([
    [['show', DSTACK, '--offset', '3000'], 3, /1184 bytes; 1045 are left/],
    [['show', DSTACK], 3, /version 310444800 is not a report version/],
    [['verify', DSTACK], 2, /unknown subcommand 'verify'/],
    [['show', join(dir, 'none.bin')], 4, /cannot read/],
  ] as const)('refuses %j with exit %i', async (args, code, message) => {
    const r = await run(['snp-report', ...args]);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
  });
});
