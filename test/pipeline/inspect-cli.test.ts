// `nodeimg inspect` end to end, in-process: a real lab disk (systemd-boot + signed UKI on a GPT/FAT32
// disk built from Debian's packages) and a bare UKI.
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { assertInspectReport } from '../../pipeline/schema/validate.js';
import type { InspectReport } from '../../image/inspect.js';
import { labImages } from '../helpers/lab.js';
import type { LabImages } from '../../image/build/lab/index.js';

let lab: LabImages;
beforeAll(async () => {
  lab = await labImages();
}, 900_000);

describe('nodeimg inspect', () => {
  it('reports partitions, the ESP tree and every EFI binary of a disk image as schema-valid JSON', async () => {
    const r = await run(['inspect', '--json', lab.disks['sdboot-sb'] as string]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as InspectReport;
    assertInspectReport(report);
    expect(report.input.kind).toBe('disk');
    expect(report.disk?.partitions).toHaveLength(1);
    expect(report.disk?.partitions[0]?.typeName).toBe('EFI System');
    const paths = report.filesystems[0]?.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/EFI/BOOT/BOOTX64.EFI', '/EFI/Linux/lab.efi', '/loader/loader.conf']),
    );
    const [boot, uki] = report.efiBinaries;
    expect(boot?.systemd?.kind).toBe('systemd-boot');
    expect(uki?.systemd?.kind).toBe('systemd-stub');
    expect(uki?.kernel?.source).toBe('.linux');
    expect(uki?.uki?.cmdline).toBe('console=ttyS0 quiet panic=-1');
    expect(uki?.signatures[0]?.certificates[0]?.subject).toContain('SnakeOil');
    expect(uki?.sections.map((s) => s.name)).toEqual(
      expect.arrayContaining(['.linux', '.initrd', '.cmdline', '.osrel']),
    );
  });

  it('gives the same Authenticode for the UKI whether read from the disk or as a file', async () => {
    const fromDisk = JSON.parse(
      (await run(['inspect', '--json', lab.disks['direct'] as string])).stdout,
    ) as InspectReport;
    const fromFile = JSON.parse((await run(['inspect', '--json', lab.uki])).stdout) as InspectReport;
    expect(fromFile.input.kind).toBe('pe');
    expect(fromDisk.efiBinaries[0]?.authenticode).toEqual(fromFile.efiBinaries[0]?.authenticode);
    expect(fromDisk.efiBinaries[0]?.sections).toEqual(fromFile.efiBinaries[0]?.sections);
  });

  it('prints a readable report without --json', async () => {
    const r = await run(['inspect', lab.disks['direct'] as string]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GPT disk image/);
    expect(r.stdout).toMatch(/authenticode sha256\s+[0-9a-f]{64}/);
    expect(r.stdout).toMatch(/systemd-stub 252/);
  });

  it('maps failures to the documented exit codes', async () => {
    expect((await run(['inspect'])).code).toBe(2);
    expect((await run(['inspect', '--bogus', 'x'])).code).toBe(2);
    const missing = await run(['inspect', '/nonexistent/disk.raw']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/IO_NOT_FOUND/);
    const notImage = await run(['inspect', 'package.json']);
    expect(notImage.code).toBe(3);
    expect(notImage.stderr).toMatch(/PARSE_UNSUPPORTED/);
    expect((await run(['inspect', '--help'])).code).toBe(0);
  });
});
