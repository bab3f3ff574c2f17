// `nodeimg measure --platform qemu-tdx` with the platform's RTMR0 inputs, in-process on the lab disks:
// a synthetic CCEL holding a TDX vector's platform events (--platform-ccel) gives the vector's RTMR0
// when the image agrees and another, explained value when Secure Boot differs; the firmware model
// (--memory, --acpi-*, --boot-variables) gives launch-digest's direct-boot RTMR0 for the same inputs;
// incomplete or contradicting inputs are usage errors or failed checks.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabImages } from '../../image/build/lab/index.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { digest } from '../../measurements/hash.js';
import {
  modelAcpiBlobs,
  ovmfDirectBootVariables,
  type CcEvent,
  type RtmrLayout,
} from '../../measurements/cvm/tdx/index.js';
import { assertMeasurementsDocument } from '../../pipeline/schema/validate.js';
import { labImages } from '../helpers/lab.js';
import { run } from '../helpers/cli.js';
import {
  diskBootCcel,
  firmwarePath,
  rtmrVector,
  separator,
  vectorPath,
  vectorPlatformEvents,
} from '../helpers/tdx-ccel.js';

const VARS_SB = '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd';
const TRIXIE = firmwarePath('trixie-ovmf');
const SID = firmwarePath('sid-inteltdx');
const v2g = rtmrVector('trixie-ovmf', 2 ** 31);
const ACPI = vectorPath(v2g.acpi_tables);
let lab: LabImages;
let dir: string;
let platform: CcEvent[];
const ccel: Partial<Record<RtmrLayout, string>> = {};

beforeAll(async () => {
  lab = await labImages();
  dir = mkdtempSync(join(tmpdir(), 'nodeimg-measure-tdx-'));
  platform = await vectorPlatformEvents(v2g);
  for (const layout of ['dstack', 'quex'] as const) {
    ccel[layout] = join(dir, `ccel-${layout}.bin`);
    writeFileSync(ccel[layout], diskBootCcel(platform, layout));
  }
}, 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const chain = (...digests: string[]) => {
  let r: Uint8Array = new Uint8Array(48);
  for (const x of digests) r = digest('sha384', r, Buffer.from(x, 'hex'));
  return hex(r);
};

async function measure(disk: string, args: string[]): Promise<MeasurementsDocument> {
  const r = await run(['measure', disk, '--platform', 'qemu-tdx', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as MeasurementsDocument;
  assertMeasurementsDocument(doc);
  return doc;
}
const value = (doc: MeasurementsDocument, name: string) =>
  doc.launch?.values.find((x) => x.name === name)?.value;
const direct = () => lab.disks['direct'] as string;

describe('measure --platform qemu-tdx --platform-ccel', () => {
  it.each(['dstack', 'quex'] as const)(
    'gives the vector RTMR0 when the image agrees with the recorded platform (%s layout)',
    async (layout) => {
      const path = ccel[layout] as string;
      const doc = await measure(direct(), ['--firmware', TRIXIE, '--platform-ccel', path, '--memory', '2G']);
      const want = layout === 'quex' ? v2g.rtmr_quex_layout[0] : v2g.derived_rtmr0_rtmr1_dstack_layout.rtmr0;
      expect(value(doc, 'RTMR0')).toBe(want);
      expect(doc.launch?.notPredicted).toEqual([]);
      expect(doc.launch?.parameters).toMatchObject({
        layout,
        rtmr0Source: 'platform-ccel',
        platformCcel: `ccel-${layout}.bin`,
        platformCcelSha256: sha256(path),
        firmwareSha256: sha256(TRIXIE),
        memoryBytes: 2 ** 31,
        secureBootConfig: 'platform-ccel',
        rtmr0PlatformEvents: 13,
        rtmr0ImageEvents: 0,
      });
      // RTMR1 is the image's: the same as without the platform
      const bare = await measure(direct(), ['--firmware', TRIXIE, '--rtmr-layout', layout]);
      expect(value(doc, 'RTMR1')).toBe(value(bare, 'RTMR1'));
      expect(value(bare, 'RTMR0')).toBeUndefined();
    },
  );

  it('gives another RTMR0, with the reason, when the image is measured with another Secure Boot configuration', async () => {
    const doc = await measure(lab.disks['sdboot-sb'] as string, [
      '--vars',
      VARS_SB,
      '--firmware',
      TRIXIE,
      '--platform-ccel',
      ccel.quex as string,
    ]);
    expect(doc.warnings.join('\n')).toMatch(
      /Secure Boot configuration is the prediction's \(PCR 7 from --vars\) and differs from the recorded CCEL in SecureBoot, PK, KEK, db, dbx/,
    );
    expect(doc.warnings.join('\n')).toMatch(/memory size/);
    // HOB and CFV as recorded, the prediction's PCR 7 configuration and db authority, the rest as recorded
    const pcr7 = (doc.pcrs['7']?.events ?? []).map((e) => e.digests.sha384 as string);
    expect(pcr7).toHaveLength(7); // SecureBoot, PK, KEK, db, dbx, separator, one authority for sd-boot and the UKI
    const p = platform.map((e) => hex(e.digest));
    const want = chain(
      ...p.slice(0, 2),
      ...pcr7.slice(0, 6),
      ...p.slice(8),
      hex(separator(0).digest),
      pcr7[6] as string,
    );
    expect(value(doc, 'RTMR0')).toBe(want);
    expect(value(doc, 'RTMR0')).not.toBe(v2g.rtmr_quex_layout[0]);
    expect(doc.launch?.parameters).toMatchObject({
      secureBootConfig: 'prediction (--vars)',
      rtmr0PlatformEvents: 7,
      rtmr0ImageEvents: 7,
      memoryBytes: null,
    });
  });

  it('leaves RTMR0 unpredicted when the recorded platform enforces Secure Boot and the image was not verified', async () => {
    const v = rtmrVector('sid-inteltdx', 2 ** 30);
    const path = join(dir, 'ccel-sid.bin');
    writeFileSync(path, diskBootCcel(await vectorPlatformEvents(v), 'dstack'));
    const doc = await measure(direct(), ['--firmware', SID, '--platform-ccel', path, '--memory', '1G']);
    expect(value(doc, 'RTMR0')).toBeUndefined();
    expect(doc.launch?.notPredicted[0]?.reason).toMatch(/the recorded CCEL enforces Secure Boot/);
  });

  it('refuses a CCEL of another firmware or memory size, a contradicting layout and a broken log', async () => {
    const base = ['measure', direct(), '--platform', 'qemu-tdx', '--platform-ccel', ccel.quex as string];
    const other = await run([...base, '--firmware', firmwarePath('bookworm-ovmf')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/recorded with another firmware build/);
    const memory = await run([...base, '--firmware', TRIXIE, '--memory', '4G']);
    expect(memory.code).toBe(1);
    expect(memory.stderr).toMatch(/another memory size/);
    const layout = await run([...base, '--firmware', TRIXIE, '--rtmr-layout', 'dstack']);
    expect(layout.code).toBe(2);
    expect(layout.stderr).toMatch(/contradicts .* \(the quex layout\)/);
    const broken = join(dir, 'broken.bin');
    writeFileSync(broken, readFileSync(ccel.quex as string).subarray(0, 200));
    const b = await run([...base.slice(0, 4), '--platform-ccel', broken, '--firmware', TRIXIE]);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain(broken);
  });
});

describe('measure --platform qemu-tdx with the firmware model', () => {
  async function launchDigestRtmr0(layout: RtmrLayout, extra: string[]) {
    const r = await run([
      'launch-digest',
      '--mode',
      'tdx',
      '--ovmf',
      TRIXIE,
      '--kernel',
      vectorPath(v2g.kernel),
      '--memory',
      '2G',
      '--acpi-tables',
      ACPI,
      '--rtmr-layout',
      layout,
      '--json',
      ...extra,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as {
      rtmr: { registers: string[]; events: { rtmr: number; digest: string }[] };
    };
  }

  it.each(['dstack', 'quex'] as const)(
    "equals launch-digest's direct-boot RTMR0 for the same firmware, memory, ACPI and boot variables (%s)",
    async (layout) => {
      const boot = join(dir, 'boot-direct.json');
      writeFileSync(
        boot,
        JSON.stringify(Object.fromEntries(ovmfDirectBootVariables().map((b) => [b.name, hex(b.data)]))),
      );
      // dumped loader and RSDP blobs (here: the same bytes launch-digest models)
      const acpi = modelAcpiBlobs(new Uint8Array(readFileSync(ACPI)));
      const [loader, rsdp] = [join(dir, 'table-loader'), join(dir, 'rsdp')];
      writeFileSync(loader, acpi.tableLoader);
      writeFileSync(rsdp, acpi.rsdp);
      const blobs = ['--acpi-tables', ACPI, '--acpi-loader', loader, '--acpi-rsdp', rsdp];
      const args = ['--firmware', TRIXIE, '--memory', '2G', ...blobs, '--rtmr-layout', layout];
      const doc = await measure(direct(), [...args, '--boot-variables', boot]);
      const ld = await launchDigestRtmr0(layout, ['--acpi-loader', loader, '--acpi-rsdp', rsdp]);
      expect(value(doc, 'RTMR0')).toBe(ld.rtmr.registers[0]);
      expect(doc.launch?.parameters).toMatchObject({
        rtmr0Source: 'firmware-model',
        acpiTablesSha256: sha256(ACPI),
        acpiLoaderSha256: sha256(loader),
        acpiRsdpSha256: sha256(rsdp),
        bootVariables: 'boot-direct.json',
        bootVariablesSha256: sha256(boot),
        secureBootConfig: 'firmware CFV',
      });

      // a disk boot's variables: the same TD HOB, CFV, Secure Boot and ACPI events, then these
      const option = Buffer.from('01000000 0400 55004500460049000000 7fff0400'.replace(/ /g, ''), 'hex');
      const disk = {
        BootOrder: '01000000',
        Boot0001: hex(option),
        Boot0000: hex(ovmfDirectBootVariables()[1]?.data as Uint8Array),
      };
      const diskBoot = join(dir, 'boot-disk.json');
      writeFileSync(diskBoot, JSON.stringify(disk));
      const d = await measure(direct(), [...args, '--boot-variables', diskBoot]);
      const firstEleven = ld.rtmr.events
        .filter((e) => e.rtmr === 0)
        .slice(0, 11)
        .map((e) => e.digest);
      const sha384 = (h: string) => hex(digest('sha384', Buffer.from(h, 'hex')));
      expect(value(d, 'RTMR0')).toBe(
        chain(
          ...firstEleven,
          sha384(disk.BootOrder),
          sha384(disk.Boot0001),
          sha384(disk.Boot0000),
          ...(layout === 'quex' ? [hex(separator(0).digest)] : []),
        ),
      );
    },
  );

  it('leaves RTMR0 unpredicted without boot variables, and modelled ACPI blobs are flagged', async () => {
    const doc = await measure(direct(), ['--firmware', TRIXIE, '--memory', '2G', '--acpi-tables', ACPI]);
    expect(value(doc, 'RTMR0')).toBeUndefined();
    expect(doc.launch?.notPredicted[0]?.reason).toMatch(/boot variables .* --boot-variables FILE/);
    expect(doc.warnings.join('\n')).toMatch(/modelled from the tables blob/);
    expect(doc.launch?.parameters).toMatchObject({ acpiLoader: null, bootVariables: null });
  });

  it('refuses incomplete or contradicting inputs', async () => {
    const m = (...a: string[]) => run(['measure', direct(), ...a]);
    const tdx = ['--platform', 'qemu-tdx', '--firmware', TRIXIE];
    const cases: [string[], number, RegExp][] = [
      [[...tdx, '--memory', '2G'], 2, /needs --memory SIZE and --acpi-tables FILE/],
      [[...tdx, '--acpi-tables', ACPI], 2, /needs --memory SIZE and --acpi-tables FILE/],
      [[...tdx, '--boot-variables', ACPI], 2, /needs --memory SIZE and --acpi-tables FILE/],
      [[...tdx, '--memory', '2G', '--acpi-tables', ACPI, '--acpi-loader', ACPI], 2, /go together/],
      [[...tdx, '--platform-ccel', ACPI, '--acpi-tables', ACPI], 2, /does not go with --platform-ccel/],
      [[...tdx, '--rtmr-layout', 'intel'], 2, /--rtmr-layout must be dstack or quex/],
      [[...tdx, '--memory', 'lots', '--acpi-tables', ACPI], 2, /--memory/],
      [['--platform-ccel', ACPI], 2, /goes with --platform/],
      [
        ['--platform', 'qemu-snp', '--firmware', SID, '--memory', '2G'],
        2,
        /only used with --platform qemu-tdx/,
      ],
      [[...tdx, '--platform-ccel', ACPI], 3, /acpi_tables_synthetic\.bin/],
    ];
    for (const [args, code, message] of cases) {
      const r = await m(...args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
    }
    const missing = join(dir, 'missing-entry.json');
    writeFileSync(missing, JSON.stringify({ BootOrder: '01000000' }));
    const r = await m(...tdx, '--memory', '2G', '--acpi-tables', ACPI, '--boot-variables', missing);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/missing-entry\.json: BootOrder lists Boot0001, which is not given/);
  });
});
