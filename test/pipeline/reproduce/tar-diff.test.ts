// The reproduce diff of tar archives: two gzip'd tars made by GNU tar that differ in one text
// member, one mode, one owner name, one mtime and an added symlink are explained member by member
// (with a line diff); identical archives give nothing; the GCE tarball nodeimg writes
// (disk.tar.gz, its only member disk.raw) is descended into and the erofs file that differs inside
// the disk is named; an archive that is not gzip or tar is a ParseError for the caller to report.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGceTarball } from '../../../image/build/disk/index.js';
import { explainArchive } from '../../../pipeline/reproduce/tar-diff.js';
import { reportText } from '../../../pipeline/reproduce/report-text.js';
import type { ReproduceReport } from '../../../pipeline/reproduce/reproduce.js';
import { assertValid } from '../../../pipeline/schema/validate.js';
import reproduceSchema from '../../../pipeline/schema/reproduce.schema.json' with { type: 'json' };
import { erofsDisk } from '../../helpers/erofs-disk.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-tar-diff-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const H = 'b'.repeat(64);

function tarGz(name: string, dir: string, ...extra: string[]): string {
  const out = join(tmp, `${name}.tar.gz`);
  execFileSync('tar', ['--sort=name', '--format=gnu', ...extra, '-czf', out, '-C', dir, '.']);
  return out;
}

function tree(name: string): string {
  const d = join(tmp, name);
  mkdirSync(join(d, 'etc'), { recursive: true });
  writeFileSync(join(d, 'etc', 'hostname'), 'node-1\n');
  writeFileSync(join(d, 'etc', 'motd'), 'welcome\nto nodeimg\n');
  writeFileSync(join(d, 'bin'), Buffer.alloc(3000, 1));
  chmodSync(join(d, 'bin'), 0o755);
  return d;
}

const TIME = ['--mtime=@1700000000', '--owner=root:0', '--group=root:0'];

function report(archive: NonNullable<ReproduceReport['published'][number]['archive']>): ReproduceReport {
  return {
    version: 'v1.0.0',
    ref: '-',
    stream: 'stable',
    store: 'dir:/tmp/store',
    index: { sequence: 1, sha256: H },
    signer: 'key',
    manifestSha256: H,
    rebuiltManifestSha256: H,
    reproducible: false,
    firstStage: 'gce',
    comparison: {
      stagesCompared: 1,
      stages: [],
      artefactsCompared: 1,
      artefacts: [],
      measurementsCompared: 0,
      measurements: [],
      tools: [],
      recipe: true,
      lock: true,
      excluded: [],
    },
    published: [
      {
        name: 'disk.tar.gz',
        stage: 'gce',
        listed: H,
        downloaded: H,
        rebuilt: H,
        storeIntegrity: null,
        ok: false,
        archive,
      },
    ],
    source: { sha256: H, members: [] },
    work: null,
    elapsedMs: { verify: 0, build: 0, compare: 0 },
    statement: {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [],
      predicateType: 'https://nodeimg.dev/attestation/reproduce/v1',
      predicate: {},
    } as unknown as ReproduceReport['statement'],
  };
}

describe('tar member diff', () => {
  it('names the members that differ, with what differs and a line diff', async () => {
    const a = tree('a');
    const b = join(tmp, 'b');
    cpSync(a, b, { recursive: true });
    writeFileSync(join(b, 'etc', 'motd'), 'welcome\nto nodeimg, rebuilt\n');
    chmodSync(join(b, 'bin'), 0o700);
    execFileSync('ln', ['-s', 'hostname', join(b, 'etc', 'name')]);
    const pa = tarGz('a', a, ...TIME);
    const pb = tarGz('b', b, ...TIME, '--owner=builder:0');
    const d = await explainArchive(pa, pb, tmp);
    expect(d.type).toBe('tar+gzip');
    const by = new Map(d.entries.map((e) => [e.path, e]));
    expect(by.get('./etc/motd')?.fields).toEqual(expect.arrayContaining(['owner', 'content', 'size']));
    expect(by.get('./etc/motd')?.diff).toEqual(['  welcome', '- to nodeimg', '+ to nodeimg, rebuilt', '  ']);
    expect(by.get('./bin')?.fields).toEqual(expect.arrayContaining(['mode']));
    expect([by.get('./bin')?.published?.mode, by.get('./bin')?.rebuilt?.mode]).toEqual(['755', '700']);
    expect(by.get('./etc/name')).toMatchObject({
      fields: ['added'],
      published: null,
      rebuilt: { type: 'symlink', target: 'hostname' },
    });
    expect(by.get('./etc/hostname')?.fields).toEqual(['owner']);
    expect(by.get('./etc/hostname')?.published?.owner).toBe('root:root');
    expect(by.get('./etc/hostname')?.rebuilt?.owner).toBe('builder:root');
    // the same archive: nothing; the unpacked copies are gone afterwards
    expect((await explainArchive(pa, pa, tmp)).entries).toEqual([]);
    expect(readdirSync(tmp).filter((n) => n.includes('unpacked'))).toEqual([]);
    // a member whose mtime alone differs
    const pc = tarGz('c', a, '--mtime=@1700000001', '--owner=root:0', '--group=root:0');
    const t = await explainArchive(pa, pc, tmp);
    expect(new Set(t.entries.flatMap((e) => e.fields))).toEqual(new Set(['mtime']));
  });

  it('descends into the GCE tarball and names the erofs file that differs inside disk.raw', async () => {
    const a = tree('root-a');
    const b = join(tmp, 'root-b');
    cpSync(a, b, { recursive: true });
    writeFileSync(join(b, 'etc', 'hostname'), 'node-2\n');
    const ga = join(tmp, 'a-disk.tar.gz');
    const gb = join(tmp, 'b-disk.tar.gz');
    await writeGceTarball(await erofsDisk(tmp, 'gce-a', a), ga, { allowAnySize: true });
    await writeGceTarball(await erofsDisk(tmp, 'gce-b', b), gb, { allowAnySize: true });
    const d = await explainArchive(ga, gb, tmp);
    expect(d.entries.map((e) => [e.path, e.fields])).toEqual([['disk.raw', ['content']]]);
    expect(d.disks.map((x) => x.path)).toEqual(['disk.raw']);
    const disk = d.disks[0]?.disk;
    const root = disk?.regions.find((r) => r.partition === 2);
    expect(root?.filesystem?.entries.map((e) => [e.path, e.diff])).toEqual([
      ['/etc/hostname', ['- node-1', '+ node-2', '  ']],
    ]);
    expect(disk?.regions.find((r) => r.partition === 3)?.note).toMatch(/because partition 2/);
    const r = report(d);
    assertValid('reproduce report', reproduceSchema, JSON.parse(JSON.stringify({ ...r, attestation: null })));
    const text = reportText(r);
    expect(text).toContain('tar+gzip: 1 of 1 entries differ');
    expect(text).toContain('member disk.raw:');
    expect(text).toContain('/etc/hostname (content)');
    expect(text).toContain('+ node-2');
  });

  it('refuses what is not a tar', async () => {
    const junk = join(tmp, 'junk.tar');
    writeFileSync(junk, Buffer.alloc(1024, 0x41));
    await expect(explainArchive(junk, junk, tmp)).rejects.toMatchObject({ code: 'PARSE_INVALID' });
    const badGz = join(tmp, 'bad.tar.gz');
    writeFileSync(badGz, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]));
    const good = tarGz('good', tree('good'), ...TIME);
    await expect(explainArchive(badGz, good, tmp)).rejects.toMatchObject({ code: 'PARSE_INVALID' });
    expect(readdirSync(tmp).filter((n) => n.includes('unpacked'))).toEqual([]);
  });
});
