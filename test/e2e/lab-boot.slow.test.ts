// Ground truth: the four lab disk images booted under QEMU + OVMF + swtpm. Checks that the boots
// complete and yield a real event log and 3 banks of PCRs, that the images are reproducible, and
// (when measurements/eventlog/ is there) that replaying the log gives the PCRs the guest read.
// NODEIMG_UPDATE_FIXTURES=1 also saves test/fixtures/eventlogs/ (see lab-fixtures.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BOOT_TOOL_PACKAGES,
  LAB_VARIANTS,
  PCR_BANKS,
  bootAndCapture,
  buildLabImages,
  cachedLabImages,
  fetchLabInputs,
  installedVersions,
  labBuildKey,
  sha256File,
  variantSecureBoot,
  type BootCapture,
  type LabImages,
  type LabInputs,
  type LabVariant,
} from '../../image/build/lab/index.js';
import { runTool } from '../../image/build/run-tool.js';
import { readFixture, sha256, writeFixture, writeReadme, type FixtureRecord } from './lab-fixtures.js';
import { loadEventlogModule, replayedHex } from './eventlog-adapter.js';
import { departures, predictLab } from '../helpers/predict-check.js';

const MEMORY = 1024;
const SMP = 1;
const update = process.env['NODEIMG_UPDATE_FIXTURES'] === '1';
const eventlogPresent = existsSync(join(import.meta.dirname, '..', '..', 'measurements', 'eventlog'));

let inputs: LabInputs;
let images: LabImages;
let buildKey: string;
const boots = new Map<LabVariant, BootCapture>();

function boot(v: LabVariant): BootCapture {
  const b = boots.get(v);
  if (b === undefined) throw new Error(`the ${v} boot failed earlier`);
  return b;
}

/** Where two files differ, for the reproducibility report. */
async function difference(a: string, b: string): Promise<string | undefined> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  if (x.equals(y)) return undefined;
  let i = 0;
  while (i < Math.min(x.length, y.length) && x[i] === y[i]) i++;
  return `${a.split('/').pop()}: ${x.length} vs ${y.length} bytes, first difference at byte ${i} (0x${i.toString(16)})`;
}

describe('measured-boot lab: real QEMU + OVMF + swtpm boots', () => {
  beforeAll(async () => {
    inputs = await fetchLabInputs();
    buildKey = await labBuildKey({ inputs });
    images = await cachedLabImages({ inputs });
  }, 900_000);

  it('two builds of every variant are byte-identical', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nodeimg-lab-rebuild-'));
    try {
      const again = await buildLabImages({ inputs, outDir: dir });
      const pairs: [string | undefined, string | undefined][] = [
        [images.initrd, again.initrd],
        [images.uki, again.uki],
        [images.ukiSigned, again.ukiSigned],
        [images.systemdBootSigned, again.systemdBootSigned],
        ...LAB_VARIANTS.map((v): [string | undefined, string | undefined] => [
          images.disks[v],
          again.disks[v],
        ]),
      ];
      const diffs: string[] = [];
      for (const [a, b] of pairs) {
        if (a === undefined || b === undefined) throw new Error('an artefact is missing');
        const d = await difference(a, b);
        if (d !== undefined) diffs.push(d);
      }
      expect(diffs).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);

  for (const v of LAB_VARIANTS) {
    it(`boots ${v}: the event log and PCR 0-23 of sha1, sha256, sha384`, async ({ signal }) => {
      const disk = images.disks[v];
      if (disk === undefined) throw new Error(`no ${v} disk`);
      const b = await bootAndCapture({
        disk,
        secureBoot: variantSecureBoot(v),
        memory: MEMORY,
        smp: SMP,
        timeoutMs: 360_000,
        signal,
      });
      boots.set(v, b);
      console.log(
        `${v}: ${b.accel} boot in ${(b.durationMs / 1000).toFixed(1)} s, guest uptime ${b.guest.uptimeSeconds} s, log ${b.eventLog.length} bytes`,
      );
      expect(b.guest.cmdline).toMatch(/console=ttyS0/);
      // TCG_PCR_EVENT header (PCR 0, EV_NO_ACTION, 20 zero bytes, size) + "Spec ID Event03\0"
      expect(b.eventLog.length).toBeGreaterThan(1000);
      const view = new DataView(b.eventLog.buffer, b.eventLog.byteOffset);
      expect(view.getUint32(4, true)).toBe(3);
      expect(Buffer.from(b.eventLog.subarray(32, 48)).toString('latin1')).toBe('Spec ID Event03\0');
      for (const bank of PCR_BANKS) {
        const width = { sha1: 40, sha256: 64, sha384: 96 }[bank];
        expect(b.pcrs[bank]).toHaveLength(24);
        for (const p of b.pcrs[bank] ?? []) expect(p).toMatch(new RegExp(`^[0-9a-f]{${width}}$`));
        expect(b.pcrs[bank]?.[4]).not.toBe('0'.repeat(width)); // the boot application was measured
      }
      const saved = await readFixture(v);
      if (update) {
        const record: FixtureRecord = {
          variant: v,
          secureBoot: variantSecureBoot(v),
          accel: b.accel,
          memoryMiB: MEMORY,
          smp: SMP,
          buildKey,
          diskSha256: await sha256File(disk),
          ukiSha256: await sha256File((variantSecureBoot(v) ? images.ukiSigned : images.uki) ?? ''),
          // no uptime: it varies from boot to boot and would make every update a diff
          guest: {
            ...(b.guest.kernel === undefined ? {} : { kernel: b.guest.kernel }),
            ...(b.guest.cmdline === undefined ? {} : { cmdline: b.guest.cmdline }),
          },
          eventLog: { file: `${v}.bin`, bytes: b.eventLog.length, sha256: sha256(b.eventLog) },
          pcrs: b.pcrs,
        };
        await writeFixture(record, b.eventLog);
      } else if (saved !== undefined && saved.record.buildKey === buildKey) {
        // same inputs, same VM shape: a boot is deterministic
        expect(b.pcrs).toEqual(saved.record.pcrs);
        expect(sha256(b.eventLog)).toBe(saved.record.eventLog.sha256);
      }
    }, 400_000);
  }

  it('PCR 4 tells direct from sdboot, PCR 7 tells Secure Boot, PCR 11 is the same UKI everywhere', () => {
    for (const bank of PCR_BANKS) {
      const p = (v: LabVariant, i: number) => boot(v).pcrs[bank]?.[i];
      expect(p('direct', 4)).not.toBe(p('sdboot', 4));
      expect(p('direct-sb', 4)).not.toBe(p('sdboot-sb', 4));
      expect(p('direct', 7)).not.toBe(p('direct-sb', 7));
      // the stub measures the UKI's sections; signing does not change them
      for (const v of LAB_VARIANTS) expect(p(v, 11)).toBe(p('direct', 11));
      // systemd-boot measures the command line into PCR 12, a UKI started directly does not
      expect(p('direct', 12)).toBe('0'.repeat(p('direct', 12)?.length ?? 0));
      expect(p('sdboot', 12)).not.toBe(p('direct', 12));
    }
  });

  it('nodeimg measure predicts PCRs 4, 5, 7, 8, 9, 11, 12, 13 of every boot, in all banks and event by event', async () => {
    for (const v of LAB_VARIANTS) {
      const doc = await predictLab(images.disks[v] as string, variantSecureBoot(v));
      const b = boot(v);
      expect({ variant: v, departures: departures(doc, b.eventLog, b.pcrs) }).toEqual({
        variant: v,
        departures: [],
      });
    }
  }, 120_000);

  it.skipIf(!eventlogPresent)(
    'replaying each event log gives the PCRs read in the guest (0-9, 11-23; 10 is IMA)',
    async () => {
      const mod = await loadEventlogModule();
      for (const v of LAB_VARIANTS) {
        const b = boot(v);
        const replayed = replayedHex(mod.replayEventLog(mod.decodeEventLog(b.eventLog)));
        for (const bank of PCR_BANKS) {
          const want = (b.pcrs[bank] ?? []).map((x, i) => (i === 10 ? 'IMA' : x));
          const got = (replayed[bank] ?? []).map((x, i) => (i === 10 ? 'IMA' : x));
          expect({ variant: v, bank, pcrs: got }).toEqual({ variant: v, bank, pcrs: want });
        }
      }
    },
  );

  it.runIf(update)('records the provenance of the fixtures', async () => {
    const packages = {
      ...(await installedVersions([
        ...BOOT_TOOL_PACKAGES,
        'binutils',
        'sbsigntool',
        'mtools',
        'dosfstools',
        'faketime',
      ])),
      ...Object.fromEntries(inputs.packages.map((p) => [p.package, p.version])),
    };
    const { stdout } = await runTool('qemu-system-x86_64', ['--version']);
    const records = [];
    for (const v of LAB_VARIANTS) {
      const f = await readFixture(v);
      if (f !== undefined) records.push(f.record);
    }
    await writeReadme(records, {
      date: new Date().toISOString().slice(0, 10),
      packages,
      qemuVersion: stdout.split('\n')[0] ?? '',
    });
  });
});
