// Disks written only by nodeimg's writers (assembleUki, nodeimg's Authenticode signature, writeFat,
// the GPT writer; image/build/disk) from the lab's inputs (Debian systemd-stub 252, kernel, busybox
// initrd) boot under QEMU + OVMF + swtpm, direct and via systemd-boot, Secure Boot off and on (and
// once signed by sbsign under faketime instead), and their real PCRs and event logs equal
// `nodeimg measure` of the same disk.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootDisk, type BootDisk } from '../../image/build/disk/index.js';
import {
  LAB_CMDLINE,
  LAB_VARIANTS,
  bootAndCapture,
  buildInitrd,
  fetchLabInputs,
  labBuildKey,
  variantLayout,
  variantSecureBoot,
  type BootCapture,
  type LabInputs,
  type LabVariant,
} from '../../image/build/lab/index.js';
import { withSnakeoilKey } from '../../image/build/lab/sign.js';
import { LAB_OS_RELEASE } from '../../image/build/lab/config.js';
import { readFixture } from './lab-fixtures.js';
import { departures, predictLab } from '../helpers/predict-check.js';

const SEED = '6e6f6465-696d-4467-a972-697465727321';
const EPOCH = 1_700_000_000;

let dir: string;
let inputs: LabInputs;
let initrd: string;
/** The lab variants signed by nodeimg, and direct-sb once more signed by sbsign. */
type Variant = LabVariant | 'direct-sb-sbsign';
const VARIANTS: readonly Variant[] = [...LAB_VARIANTS, 'direct-sb-sbsign'];
const lab = (v: Variant): LabVariant => (v === 'direct-sb-sbsign' ? 'direct-sb' : v);
const disks = new Map<Variant, BootDisk>();
const boots = new Map<Variant, BootCapture>();

describe('disks written by nodeimg writers: real QEMU + OVMF + swtpm boots', () => {
  beforeAll(async () => {
    inputs = await fetchLabInputs();
    dir = await mkdtemp(join(tmpdir(), 'nodeimg-writers-boot-'));
    initrd = await buildInitrd({
      busybox: inputs.busybox,
      outFile: join(dir, 'initrd.cpio.gz'),
      sourceDateEpoch: EPOCH,
    });
    await withSnakeoilKey(async (key) => {
      for (const v of VARIANTS) {
        disks.set(
          v,
          await buildBootDisk({
            uki: {
              stub: inputs.stub,
              kernel: inputs.kernel,
              initrd,
              cmdline: LAB_CMDLINE,
              osRelease: LAB_OS_RELEASE,
            },
            layout: variantLayout(lab(v)),
            systemdBoot: inputs.systemdBoot,
            ...(variantSecureBoot(lab(v)) ? { secureBootKey: key } : {}),
            signingTool: v === 'direct-sb-sbsign' ? 'sbsign' : 'nodeimg',
            outDir: join(dir, v),
            seed: SEED,
            sourceDateEpoch: EPOCH,
          }),
        );
      }
    });
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const v of VARIANTS) {
    it(`${v}: boots, and nodeimg measure predicts PCRs 4, 5, 7, 8, 9, 11, 12, 13 and their events exactly`, async ({
      signal,
    }) => {
      const disk = disks.get(v);
      if (!disk) throw new Error(`no ${v} disk`);
      const b = await bootAndCapture({
        disk: disk.disk.path,
        secureBoot: variantSecureBoot(lab(v)),
        timeoutMs: 360_000,
        signal,
      });
      boots.set(v, b);
      console.log(`${v}: ${b.accel} boot in ${(b.durationMs / 1000).toFixed(1)} s`);
      expect(b.guest.cmdline).toBe(LAB_CMDLINE);
      const doc = await predictLab(disk.disk.path, variantSecureBoot(lab(v)));
      expect({ variant: v, departures: departures(doc, b.eventLog, b.pcrs) }).toEqual({
        variant: v,
        departures: [],
      });
    }, 400_000);
  }

  it('both signatures give the same PCR 4 and 7 (the signed digest and the db authority are the same)', () => {
    const a = boots.get('direct-sb');
    const b = boots.get('direct-sb-sbsign');
    if (!a || !b) throw new Error('a Secure Boot boot failed earlier');
    for (const bank of ['sha1', 'sha256', 'sha384'] as const) {
      expect(b.pcrs[bank]?.[4]).toBe(a.pcrs[bank]?.[4]);
      expect(b.pcrs[bank]?.[7]).toBe(a.pcrs[bank]?.[7]);
    }
  });

  it("PCR 11 is the lab objcopy UKI's: the stub measures the same section contents whatever the PE layout", async () => {
    const fixture = await readFixture('direct');
    const b = boots.get('direct');
    if (!b) throw new Error('the direct boot failed earlier');
    for (const v of VARIANTS) expect(boots.get(v)?.pcrs.sha256?.[11]).toBe(b.pcrs.sha256?.[11]);
    // same inputs as the recorded lab boot (the build key hashes them): same PCR 11
    if (fixture && fixture.record.buildKey === (await labBuildKey({ inputs }))) {
      expect(b.pcrs.sha256?.[11]).toBe(fixture.record.pcrs.sha256?.[11]);
      expect(b.pcrs.sha384?.[11]).toBe(fixture.record.pcrs.sha384?.[11]);
    }
  });
});
