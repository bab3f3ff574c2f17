// `nodeimg reproduce` end to end (issue 11), with real builds: `nodeimg release` of examples/minimal
// (the smaller test copy) into a dir store with a local log, then
//   (a) reproduce in another folder, in a child process with another TZ and umask: identical,
//       exit 0, and a signed attestation that `nodeimg verify-bundle` accepts;
//   (b) the published disk.raw changed afterwards by one byte in the root partition: exit 1, the
//       report names the disk stage and the partition;
//   (c) one byte of the UKI's .cmdline changed inside the published disk (found with our FAT reader
//       and PE parser): exit 1, the report names EFI/BOOT/BOOTX64.EFI, .cmdline and a text diff.
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileSource } from '../../../image/file-source.js';
import { openFat } from '../../../image/formats/fat/index.js';
import { partitionSource, readGpt } from '../../../image/formats/gpt/index.js';
import { findSection, parsePe } from '../../../image/formats/pe/index.js';
import type { ByteSource } from '../../../image/formats/source.js';
import { artefactKey, coordinates } from '../../../pipeline/release/names.js';
import type { ReproduceReport } from '../../../pipeline/reproduce/reproduce.js';
import { SNAKEOIL } from '../../../image/build/lab/config.js';
import { run } from '../../helpers/cli.js';
import { recipeCopy, seedDebs, small, ROOT } from '../../helpers/build.js';

const SLOW = process.env['NODEIMG_SLOW'] === '1';
const ESP = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
const UKI = 'EFI/BOOT/BOOTX64.EFI';

let dir: string;
let store: string;
let keyPub: string;
let keyPem: string;
let root: string;
let debs: string;
const diskKey = artefactKey(coordinates('v1.0.0'), 'disk.raw');

beforeAll(async () => {
  if (!SLOW) return;
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-reproduce-'));
  const recipe = await recipeCopy(join(dir, 'recipe'), small);
  const cache = join(dir, 'cache');
  await seedDebs(cache);
  debs = join(cache, 'debs');
  const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  keyPem = join(dir, 'key.pem');
  keyPub = join(dir, 'key.pub');
  await writeFile(keyPem, k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  await writeFile(keyPub, k.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  store = join(dir, 'store');
  const rel = await run([
    'release',
    recipe,
    '--version',
    'v1.0.0',
    '--store',
    `dir:${store}`,
    '--key',
    keyPem,
    '--log',
    `dir:${join(dir, 'tlog')}`,
    '--cache',
    cache,
    '-o',
    join(dir, 'out'),
    '--json',
  ]);
  if (rel.code !== 0) throw new Error(`release failed (${rel.code}): ${rel.stderr}`);
  const tr = await run(['log', 'trusted-root', '--log', `dir:${join(dir, 'tlog')}`]);
  root = join(dir, 'trusted_root.json');
  await writeFile(root, tr.stdout);
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const reproduceArgs = (storeDir: string, state: string, extra: string[] = []): string[] => [
  'reproduce',
  '--version',
  'v1.0.0',
  '--store',
  `dir:${storeDir}`,
  '--key',
  keyPub,
  '--trusted-root',
  root,
  '--offline',
  '--state',
  state,
  '--deb-cache',
  debs,
  ...extra,
];

/** A copy of the store whose disk.raw has one byte XOR-ed at disk offset `at(disk)`. */
async function tamperedStore(name: string, at: (disk: string) => Promise<number>): Promise<string> {
  const copy = join(dir, name);
  await cp(store, copy, { recursive: true });
  const disk = join(copy, diskKey);
  const offset = await at(disk);
  const fh = await open(disk, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] as number) ^ 0x20;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
  return copy;
}

/** A ByteSource over `src` that records the disk offsets of the reads made through it. */
function recording(src: ByteSource, reads: number[]): ByteSource {
  return {
    size: src.size,
    base: src.base,
    name: src.name,
    read: (offset, length) => {
      reads.push(offset);
      return src.read(offset, length);
    },
  };
}

describe.skipIf(!SLOW)('nodeimg reproduce (examples/minimal, small)', () => {
  it('(a) rebuilds in another folder with another TZ, umask and cwd: identical, exit 0, signed attestation', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    const att = join(elsewhere, 'attestation.intoto.json');
    const r = await execa(
      'sh',
      [
        '-c',
        'umask 077; exec "$@"',
        'sh',
        process.execPath,
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'pipeline', 'bin.ts'),
        ...reproduceArgs(store, join(elsewhere, 'state.json'), [
          '--sign-key',
          keyPem,
          '--log',
          `dir:${join(dir, 'tlog')}`,
          '-o',
          att,
          '--json',
        ]),
      ],
      { cwd: elsewhere, env: { ...process.env, TZ: 'Pacific/Kiritimati' }, reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ReproduceReport;
    expect(report.reproducible).toBe(true);
    expect(report.rebuiltManifestSha256).toBe(report.manifestSha256);
    expect(report.comparison.stagesCompared).toBeGreaterThan(10);
    expect(report.comparison.measurementsCompared).toBeGreaterThan(0);
    expect(report.published.map((p) => [p.name, p.ok])).toEqual([['disk.raw', true]]);
    const statement = JSON.parse(await readFile(att, 'utf8')) as ReproduceReport['statement'];
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicate.result).toBe('reproducible');
    expect(statement.subject.map((s) => s.name)).toContain('disk.raw');
    const tr = await run(['log', 'trusted-root', '--log', `dir:${join(dir, 'tlog')}`]);
    await writeFile(join(elsewhere, 'root.json'), tr.stdout);
    const v = await run([
      'verify-bundle',
      '--bundle',
      `${att}.sigstore.json`,
      '--key',
      keyPub,
      '--trusted-root',
      join(elsewhere, 'root.json'),
      att,
    ]);
    expect(v.code, v.stderr).toBe(0);
  }, 300_000);

  it('(b) a byte changed in the root partition of the published disk: exit 1, names the disk stage and the partition', async () => {
    const copy = await tamperedStore('store-root', (disk) =>
      withFileSource(disk, async (src) => {
        const gpt = await readGpt(src);
        const rootPart = gpt.partitions.find((p) => p.typeGuid !== ESP);
        if (!rootPart) throw new Error('the test disk has no root partition');
        return rootPart.offset + 4096 + 17;
      }),
    );
    const r = await run([...reproduceArgs(copy, join(dir, 'state-b.json')), '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as ReproduceReport;
    expect(report.reproducible).toBe(false);
    expect(report.comparison.stages).toEqual([]); // the rebuild itself matches the signed manifest
    expect(report.firstStage).toBe('disk');
    const p = report.published[0];
    expect(p?.stage).toBe('disk');
    expect(p?.downloaded).not.toBe(p?.listed);
    const regions = p?.disk?.regions ?? [];
    expect(regions).toHaveLength(1);
    expect(regions[0]?.region).toMatch(/^partition 2 /);
    expect(regions[0]?.ranges).toHaveLength(1);
    expect(regions[0]?.ranges[0]?.length).toBe(1);
    const text = await run(reproduceArgs(copy, join(dir, 'state-b2.json')));
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('NOT REPRODUCIBLE');
    expect(text.stdout).toContain('published disk.raw (stage disk)');
    expect(text.stdout).toMatch(/partition 2 .*: 1 differing range/);
  }, 300_000);

  it(`(c) a byte changed in the UKI's .cmdline inside the published disk: exit 1, names ${UKI}, .cmdline and a diff`, async () => {
    const copy = await tamperedStore('store-cmdline', (disk) =>
      withFileSource(disk, async (src) => {
        const gpt = await readGpt(src);
        const esp = gpt.partitions.find((p) => p.typeGuid === ESP);
        if (!esp) throw new Error('no ESP');
        const reads: number[] = [];
        const fs = await openFat(partitionSource(recording(src, reads), esp));
        const entry = await fs.stat(UKI);
        if (!entry) throw new Error(`no ${UKI}`);
        const file = fs.fileSource(entry);
        const pe = await parsePe(file);
        const cmdline = findSection(pe.sections, '.cmdline');
        if (!cmdline) throw new Error('no .cmdline');
        // 'quiet' -> 'Quiet': the first byte of the second word of the command line
        const text = Buffer.from(await file.read(cmdline.pointerToRawData, cmdline.virtualSize)).toString();
        const at = cmdline.pointerToRawData + text.indexOf('quiet');
        reads.length = 0;
        await file.read(at, 1);
        return reads[reads.length - 1] as number;
      }),
    );
    const r = await run([...reproduceArgs(copy, join(dir, 'state-c.json')), '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as ReproduceReport;
    expect(report.reproducible).toBe(false);
    expect(report.firstStage).toBe('disk');
    const regions = report.published[0]?.disk?.regions ?? [];
    expect(regions.map((g) => g.region)).toEqual([expect.stringMatching(/^partition 1 /)]);
    const files = regions[0]?.files ?? [];
    expect(files.map((f) => f.path.replace(/^\//, ''))).toEqual([UKI]);
    const sections = files[0]?.sections ?? [];
    expect(sections.map((s) => s.name)).toEqual(['.cmdline']);
    expect(sections[0]?.diff).toEqual([
      '- console=ttyS0 Quiet panic=-1',
      '+ console=ttyS0 quiet panic=-1',
      `${' '.repeat(16)}^ first difference at character 14`,
    ]);
  }, 300_000);

  it('(e) a release signed for Secure Boot: source.tar leaves the private key out; without a key of their own a reproducer is told what to do (exit 2), with one the stages from signing on are left out', async () => {
    const sbDir = join(dir, 'sb');
    const recipe = await recipeCopy(sbDir, (r) => ({
      ...small(r),
      outputs: { formats: ['raw'] },
      boot: { layout: 'direct', secureBoot: { key: 'db.key', cert: 'db.crt' } },
      platforms: [{ name: 'qemu-sb', firmware: 'ovmf-secboot' }],
    }));
    await execa('openssl', [
      'pkey',
      '-in',
      SNAKEOIL.key,
      '-passin',
      `pass:${SNAKEOIL.passphrase}`,
      '-out',
      join(sbDir, 'db.key'),
    ]);
    await cp(SNAKEOIL.cert, join(sbDir, 'db.crt'));
    const sbStore = join(dir, 'store-sb');
    const rel = await run([
      'release',
      recipe,
      '--version',
      'v1.0.0',
      '--store',
      `dir:${sbStore}`,
      '--key',
      keyPem,
      '--log',
      `dir:${join(dir, 'tlog')}`,
      '--cache',
      join(dir, 'cache'),
      '-o',
      join(dir, 'out-sb'),
      '--json',
    ]);
    expect(rel.code, rel.stderr).toBe(0);
    const tr = await run(['log', 'trusted-root', '--log', `dir:${join(dir, 'tlog')}`]);
    const root2 = join(dir, 'trusted_root-sb.json');
    await writeFile(root2, tr.stdout);
    const args = (state: string, extra: string[] = []) => [
      ...reproduceArgs(sbStore, join(dir, state)).map((a) => (a === root ? root2 : a)),
      ...extra,
    ];
    const refused = await run(args('state-e1.json'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--secure-boot-key');
    // The reproducer's "own" key: the measure stage of an ovmf-secboot platform requires a key
    // enrolled in OVMF's db, and the only one is Debian's public snakeoil key, so the reproducer
    // decrypts that one into a file of their own (the release's db.key is not published).
    const own = join(dir, 'own');
    await mkdir(own);
    await execa('openssl', [
      'pkey',
      '-in',
      SNAKEOIL.key,
      '-passin',
      `pass:${SNAKEOIL.passphrase}`,
      '-out',
      join(own, 'db.key'),
    ]);
    await cp(SNAKEOIL.cert, join(own, 'db.crt'));
    const r = await run(
      args('state-e2.json', [
        '--secure-boot-key',
        join(own, 'db.key'),
        '--secure-boot-cert',
        join(own, 'db.crt'),
        '--json',
      ]),
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ReproduceReport;
    expect(report.source.members).toEqual(['db.crt', 'init.sh', 'nodeimg.lock.json', 'recipe.json']);
    expect(report.comparison.excluded).toEqual(['disk', 'esp', 'measure:qemu-sb', 'sign']);
    expect(report.comparison.stagesCompared).toBeGreaterThan(5);
    expect(report.published).toEqual([]);
    expect(report.reproducible).toBe(true);
  }, 300_000);
});
