// systemd-stub behaviour per version (measured-boot.md §4), on the lab UKI with the stub version
// overridden: what changes between 250 and 258 must show up in the prediction, computed here
// independently from the section bytes (objcopy) where it can be.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureFile } from '../../image/measure.js';
import { NodeimgError } from '../../image/formats/errors.js';
import { EV } from '../../measurements/eventlog/types.js';
import { literalCpio } from '../../measurements/systemd/cpio.js';
import { mangleCmdline } from '../../measurements/boot/stub-rules.js';
import { selectMeasuredSections } from '../../measurements/systemd/select-sections.js';
import { sectionRuleFor } from '../../measurements/systemd/uki-sections.js';
import { labImages } from '../helpers/lab.js';

let disk: string;
let work: string;
const section = (name: string) => {
  const out = join(work, name.slice(1));
  execFileSync('objcopy', ['-O', 'binary', `--only-section=${name}`, ukiPath, out]);
  return readFileSync(out);
};
let ukiPath: string;

beforeAll(async () => {
  const lab = await labImages();
  disk = lab.disks['direct'] as string;
  ukiPath = lab.uki;
  work = mkdtempSync(join(tmpdir(), 'nodeimg-stubv-'));
}, 900_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const measure = (stubVersion: number, extra: { profile?: number; secureBoot?: boolean } = {}) =>
  measureFile(disk, {
    banks: ['sha256'],
    secureBoot: extra.secureBoot ?? false,
    stubVersion,
    ...(extra.profile ? { profile: extra.profile } : {}),
  });

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

describe('systemd-stub versions', () => {
  it('250/251 measure no sections and start the kernel through the handover protocol', async () => {
    for (const v of [250, 251]) {
      const { prediction } = await measure(v);
      expect(prediction.events.filter((e) => e.pcr === 11)).toEqual([]);
      expect(prediction.events.filter((e) => e.pcr === 4)).toHaveLength(3); // action, separator, the UKI
      expect(prediction.notPredicted.map((n) => n.pcr)).toContain(9);
    }
  });

  it('252-257 load the kernel with LoadImage (PCR 4 event with Secure Boot off), 258 does not', async () => {
    for (const v of [252, 255, 257]) {
      const apps = (await measure(v)).prediction.events.filter(
        (e) => e.type === EV.EFI_BOOT_SERVICES_APPLICATION,
      );
      expect(apps.map((a) => a.description)).toEqual([
        expect.stringContaining('BOOTX64.EFI'),
        expect.stringContaining('.linux'),
      ]);
    }
    const apps258 = (await measure(258)).prediction.events.filter(
      (e) => e.type === EV.EFI_BOOT_SERVICES_APPLICATION,
    );
    expect(apps258).toHaveLength(1);
  });

  it('the initrd handed to the kernel: .initrd alone up to 256, + the os-release cpio from 257', async () => {
    const initrd = section('.initrd');
    const osrel = section('.osrel');
    const pcr9initrd = async (v: number) =>
      hex((await measure(v)).prediction.events.filter((e) => e.pcr === 9)[1]?.digests.sha256);
    expect(await pcr9initrd(252)).toBe(sha256(initrd));
    expect(await pcr9initrd(256)).toBe(sha256(initrd));
    const pad = new Uint8Array((4 - (initrd.length % 4)) % 4);
    expect(await pcr9initrd(257)).toBe(sha256(initrd, pad, literalCpio('os-release', osrel)));
    expect(await pcr9initrd(258)).toBe(sha256(initrd, pad, literalCpio('os-release', osrel)));
  });

  it('the PCR 11 section set follows the version table', async () => {
    const names = async (v: number) => [
      ...new Set(
        (await measure(v)).prediction.events
          .filter((e) => e.pcr === 11)
          .map((e) => e.description.split(' ').pop()),
      ),
    ];
    // the lab UKI has .sbat from the stub: measured from 254 on, not by 252/253
    expect(await names(252)).toEqual(['.linux', '.osrel', '.cmdline', '.initrd']);
    expect(await names(254)).toEqual(['.linux', '.osrel', '.cmdline', '.initrd', '.sbat']);
  });

  it('profiles: announced in PCR 12 from 257, refused before, and only for profiles the UKI has', async () => {
    await expect(measure(252, { profile: 1 })).rejects.toThrow(/no UKI profiles/);
    await expect(measure(257, { profile: 1 })).rejects.toThrow(/has no profile 1/);
    await expect(measure(257, { profile: 1 })).rejects.toBeInstanceOf(NodeimgError);
  });
});

describe('section lookup rules', () => {
  const h = (index: number, name: string, virtualSize = 10) => ({ index, name, virtualSize });
  it('252-256: prefix match, the last header wins; 257+: exact name, the first wins', () => {
    const headers = [
      h(0, '.text'),
      h(1, '.linux'),
      h(2, '.linuxx'),
      h(3, '.initrd', 0),
      h(4, '.osrel'),
      h(5, '.osrel'),
    ];
    const v252 = selectMeasuredSections(headers, sectionRuleFor(252)!);
    expect(v252.map((s) => [s.name, s.header.index])).toEqual([
      ['.linux', 2],
      ['.osrel', 5],
    ]);
    const v257 = selectMeasuredSections(headers, sectionRuleFor(257)!);
    expect(v257.map((s) => [s.name, s.header.index])).toEqual([
      ['.linux', 1],
      ['.osrel', 4],
    ]);
  });

  it('257 profiles override the base sections; .dtbauto only on a matching machine', () => {
    const headers = [
      h(0, '.linux'),
      h(1, '.cmdline'),
      h(2, '.dtbauto'),
      h(3, '.profile'),
      h(4, '.profile'),
      h(5, '.cmdline'),
    ];
    const p0 = selectMeasuredSections(headers, sectionRuleFor(257)!, { profile: 0 });
    expect(p0.map((s) => [s.name, s.header.index])).toEqual([
      ['.linux', 0],
      ['.cmdline', 1],
      ['.profile', 3],
    ]);
    const p1 = selectMeasuredSections(headers, sectionRuleFor(257)!, { profile: 1 });
    expect(p1.map((s) => [s.name, s.header.index])).toEqual([
      ['.linux', 0],
      ['.cmdline', 5],
      ['.profile', 4],
    ]);
    const dt = selectMeasuredSections(headers, sectionRuleFor(257)!, {
      matchingConditional: new Set(['.dtbauto']),
    });
    expect(dt.map((s) => s.name)).toContain('.dtbauto');
  });
});

describe('command line mangling', () => {
  it('253: control characters become spaces, trailing spaces go, leading stay', () => {
    expect(mangleCmdline(' a\tb\n', 'v253')).toBe(' a b');
  });
  it('255: leading and trailing whitespace go, each inner whitespace char becomes one space', () => {
    expect(mangleCmdline('\n a\t\tb\x7f', 'v255')).toBe('a  b');
  });
  it('before 253: untouched', () => {
    expect(mangleCmdline('a\n', 'none')).toBe('a\n');
  });
});
