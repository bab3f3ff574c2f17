// PCR 11 as systemd-stub 252 measures it, checked against `systemd-measure calculate` (systemd 252,
// Debian 12) for random section sets and contents, with and without phases. The UKIs are real PE
// files: Debian's linuxx64.efi.stub with the sections added by objcopy, read back through our codec.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debRoot } from '../../image/build/lab/index.js';
import { placeSections, objcopyArgs } from '../../image/build/lab/uki.js';
import { withFileSource } from '../../image/file-source.js';
import { parsePe } from '../../image/formats/pe/index.js';
import { toHex } from '../../image/formats/reader.js';
import { loadUki } from '../../measurements/boot/binaries.js';
import { predictStub, NO_EXTRAS } from '../../measurements/boot/stub.js';
import { stubRulesFor } from '../../measurements/boot/stub-rules.js';
import { sectionRuleFor } from '../../measurements/systemd/uki-sections.js';
import { PcrBanks } from '../../measurements/pcr-banks.js';
import type { HashAlg } from '../../measurements/hash.js';

const MEASURE = '/usr/lib/systemd/systemd-measure';
const BANKS: HashAlg[] = ['sha1', 'sha256', 'sha384', 'sha512'];
// the sections systemd-measure 252 accepts (its --linux ... --pcrpkey options)
const SECTIONS = ['.linux', '.osrel', '.cmdline', '.initrd', '.splash', '.dtb', '.pcrpkey'] as const;
const PHASES = [':', 'enter-initrd', 'enter-initrd:leave-initrd', 'enter-initrd:leave-initrd:sysinit:ready'];

let stub: string;
let work: string;
let stubEnd: number;

beforeAll(async () => {
  if (!existsSync(MEASURE))
    throw new Error(`${MEASURE} is missing: run scripts/setup (Debian package systemd)`);
  const root = await debRoot('systemd-boot-efi');
  stub = join(root.root, 'usr/lib/systemd/boot/efi/linuxx64.efi.stub');
  work = mkdtempSync(join(tmpdir(), 'nodeimg-pcr11-'));
  const pe = await withFileSource(stub, parsePe);
  stubEnd = Math.max(...pe.sections.map((s) => s.virtualAddress + s.virtualSize));
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

// the bare-sections row (phase ':') has no "phase" key
type Calc = Record<string, { phase?: string; pcr: number; hash: string }[]>;

function systemdMeasure(files: Record<string, string>): Calc {
  const args = [
    'calculate',
    '--json=short',
    ...BANKS.map((b) => `--bank=${b.toUpperCase()}`),
    ...PHASES.map((p) => `--phase=${p}`),
  ];
  for (const [name, file] of Object.entries(files)) args.push(`--${name.slice(1)}=${file}`);
  return JSON.parse(execFileSync(MEASURE, args).toString()) as Calc;
}

async function ourPcr11(ukiPath: string): Promise<Record<string, Record<HashAlg, string>>> {
  return withFileSource(ukiPath, async (src) => {
    const uki = await loadUki(src, 'uki.efi', BANKS);
    const s = await predictStub({
      uki,
      stub: stubRulesFor(252)!,
      sections: sectionRuleFor(252)!,
      banks: BANKS,
      secureBoot: false,
      confidentialVm: false,
      loadOptions: undefined,
      extras: NO_EXTRAS,
      profile: 0,
    });
    const out: Record<string, Record<HashAlg, string>> = {};
    for (const phase of PHASES) {
      const b = new PcrBanks(BANKS);
      for (const e of s.events.filter((x) => x.pcr === 11)) b.extendDigests(11, e.digests);
      for (const w of phase.split(':').filter(Boolean)) b.extendData(11, new TextEncoder().encode(w));
      out[phase] = Object.fromEntries(BANKS.map((a) => [a, toHex(b.value(a, 11))])) as Record<
        HashAlg,
        string
      >;
    }
    return out;
  });
}

let n = 0;
function buildUki(contents: Record<string, Uint8Array>): { uki: string; files: Record<string, string> } {
  const dir = join(work, String(n++));
  execFileSync('mkdir', ['-p', dir]);
  const files: Record<string, string> = {};
  for (const [name, data] of Object.entries(contents)) {
    files[name] = join(dir, name.slice(1));
    writeFileSync(files[name], data);
  }
  // systemd-measure skips empty files and the stub skips VirtualSize 0: objcopy cannot add an empty section
  const placed = placeSections(
    stubEnd,
    Object.entries(files)
      .filter(([name]) => (contents[name]?.length ?? 0) > 0)
      .map(([name, file]) => ({ name, file, size: contents[name]?.length ?? 0 })),
  );
  const uki = join(dir, 'uki.efi');
  execFileSync('objcopy', objcopyArgs(placed, stub, uki));
  return { uki, files };
}

describe('PCR 11 (systemd-stub 252) equals systemd-measure calculate 252', () => {
  it('for random section sets and contents, four banks, with and without phases', async () => {
    const sectionSet = fc.subarray([...SECTIONS], { minLength: 1 }).filter((s) => s.includes('.linux'));
    await fc.assert(
      fc.asyncProperty(
        sectionSet,
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), {
          minLength: SECTIONS.length,
          maxLength: SECTIONS.length,
        }),
        async (names, datas) => {
          const contents = Object.fromEntries(names.map((name, i) => [name, datas[i] as Uint8Array]));
          const { uki, files } = buildUki(contents);
          const want = systemdMeasure(files);
          const got = await ourPcr11(uki);
          for (const bank of BANKS) {
            for (const row of want[bank] ?? [])
              expect(
                got[row.phase ?? ':']?.[bank],
                `${bank} phase ${row.phase ?? ':'} sections ${names.join(' ')}`,
              ).toBe(row.hash);
          }
          expect(want['sha256']).toHaveLength(PHASES.length);
        },
      ),
      { numRuns: 25, seed: 252 },
    );
  });

  it('for the lab UKI with its real kernel and initrd', async () => {
    const { labImages } = await import('../helpers/lab.js');
    const lab = await labImages();
    const files: Record<string, string> = {};
    const dir = join(work, 'lab');
    execFileSync('mkdir', ['-p', dir]);
    for (const s of ['.linux', '.osrel', '.cmdline', '.initrd']) {
      files[s] = join(dir, s.slice(1));
      execFileSync('objcopy', ['-O', 'binary', `--only-section=${s}`, lab.uki, files[s]]);
    }
    const want = systemdMeasure(files);
    const got = await ourPcr11(lab.uki);
    for (const row of want['sha256'] ?? []) expect(got[row.phase ?? ':']?.sha256).toBe(row.hash);
    // and the bare section value equals PCR 11 as the real boots read it (test/fixtures/eventlogs)
    const { readFileSync } = await import('node:fs');
    const real = JSON.parse(readFileSync('test/fixtures/eventlogs/direct.pcrs.json', 'utf8')) as {
      pcrs: Record<string, string[]>;
    };
    expect(got[':']?.sha256).toBe(real.pcrs['sha256']?.[11]);
  });
});
