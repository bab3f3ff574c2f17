// nodeimg measure against real measured boots: the lab disks (rebuilt here, reproducibly) and the
// event logs and PCRs recorded from booting exactly those disks (test/fixtures/eventlogs). When the
// Debian inputs have moved on, the disks differ from the recorded ones and the comparison is the
// slow suite's job (it boots them for real: test/e2e/lab-boot.slow.test.ts).
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAB_VARIANTS, sha256File, variantSecureBoot, type LabImages } from '../../image/build/lab/index.js';
import { labImages } from '../helpers/lab.js';
import { departures, predictLab } from '../helpers/predict-check.js';

interface Fixture {
  readonly diskSha256: string;
  readonly pcrs: Record<string, string[]>;
}

let lab: LabImages;
const fixtures = new Map<string, { record: Fixture; log: Uint8Array; current: boolean }>();

beforeAll(async () => {
  lab = await labImages();
  for (const v of LAB_VARIANTS) {
    const record = JSON.parse(await readFile(`test/fixtures/eventlogs/${v}.pcrs.json`, 'utf8')) as Fixture;
    const log = new Uint8Array(await readFile(`test/fixtures/eventlogs/${v}.bin`));
    fixtures.set(v, {
      record,
      log,
      current: (await sha256File(lab.disks[v] as string)) === record.diskSha256,
    });
  }
}, 900_000);

describe('predicted PCRs 4, 5, 7, 8, 9, 11, 12, 13 equal recorded real boots, in sha1/sha256/sha384', () => {
  for (const v of LAB_VARIANTS) {
    it(`${v}`, async (ctx) => {
      const f = fixtures.get(v);
      if (!f?.current)
        ctx.skip(
          `the ${v} disk built from today's Debian packages is not the recorded one; the slow suite boots it`,
        );
      const doc = await predictLab(lab.disks[v] as string, variantSecureBoot(v));
      expect(departures(doc, f!.log, f!.record.pcrs)).toEqual([]);
      expect(doc.boot.secureBoot).toBe(variantSecureBoot(v));
    });
  }

  it('a wrong Secure Boot assumption is caught, and named', async () => {
    const f = fixtures.get('direct-sb');
    if (!f?.current) return;
    const doc = await predictLab(lab.disks['direct'] as string, false);
    const d = departures(doc, f.log, f.record.pcrs);
    expect(d.join('\n')).toMatch(/PCR 7 event 1 .*SecureBoot/);
  });
});
