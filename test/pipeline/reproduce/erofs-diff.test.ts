// The reproduce diff inside a nodeimg-shaped disk (ESP, erofs root by mkfs.erofs, its dm-verity
// hash partition): a rebuilt root that differs in one text file, one mode, one added and one
// removed file is explained file by file (with a line diff), and the hash partition is said to
// differ because of the data partition; one byte altered in a file's data inside the published
// disk names that file; one byte altered in the hash partition alone is said to be a change of
// the hash partition itself. The report (text and the JSON schema) carries all of it, bounded.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainDisk, type DiskDifference } from '../../../pipeline/reproduce/disk-diff.js';
import { MAX_LISTED } from '../../../pipeline/reproduce/entry-diff.js';
import { reportText } from '../../../pipeline/reproduce/report-text.js';
import type { ReproduceReport } from '../../../pipeline/reproduce/reproduce.js';
import { assertValid } from '../../../pipeline/schema/validate.js';
import reproduceSchema from '../../../pipeline/schema/reproduce.schema.json' with { type: 'json' };
import { erofsDisk } from '../../helpers/erofs-disk.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-erofs-diff-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const H = 'a'.repeat(64);

let published: string;
let rebuilt: string;

beforeAll(async () => {
  const a = join(tmp, 'a');
  mkdirSync(join(a, 'etc'), { recursive: true });
  mkdirSync(join(a, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(a, 'etc', 'fstab'), '# static\n/dev/root / erofs ro 0 0\ntmpfs /tmp tmpfs 0 0\n');
  writeFileSync(join(a, 'etc', 'os-release'), 'NAME=nodeimg-MARKER-0123456789\nID=nodeimg\n');
  writeFileSync(join(a, 'etc', 'old'), 'going away\n');
  writeFileSync(join(a, 'usr', 'bin', 'tool'), Buffer.alloc(10_000, 0x90));
  chmodSync(join(a, 'usr', 'bin', 'tool'), 0o755);
  const b = join(tmp, 'b');
  cpSync(a, b, { recursive: true });
  writeFileSync(
    join(b, 'etc', 'fstab'),
    '# static\n/dev/root / erofs ro,noatime 0 0\ntmpfs /tmp tmpfs 0 0\n',
  );
  rmSync(join(b, 'etc', 'old'));
  writeFileSync(join(b, 'etc', 'new'), 'arrived\n');
  chmodSync(join(b, 'usr', 'bin', 'tool'), 0o700);
  published = await erofsDisk(tmp, 'published', a);
  rebuilt = await erofsDisk(tmp, 'rebuilt', b);
});

/** A copy of the published disk with one byte changed at `at`. */
async function tampered(name: string, at: number): Promise<string> {
  const out = join(tmp, name);
  cpSync(published, out);
  const fh = await open(out, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = (b[0] as number) ^ 0x20;
  await fh.write(b, 0, 1, at);
  await fh.close();
  return out;
}

/** A minimal report around one published disk difference, as the CLI would print and validate. */
function report(disk: DiskDifference): ReproduceReport {
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
    firstStage: 'disk',
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
        name: 'disk.raw',
        stage: 'disk',
        listed: H,
        downloaded: H,
        rebuilt: H,
        storeIntegrity: null,
        ok: false,
        disk,
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

describe('erofs and dm-verity partitions in the reproduce disk diff', () => {
  it('lists the files of the root partition that differ, and why the hash partition differs', async () => {
    const d = await explainDisk(published, rebuilt);
    expect(d.warnings).toEqual([]);
    const root = d.regions.find((r) => r.partition === 2);
    expect(root?.filesystem?.type).toBe('erofs');
    const entries = root?.filesystem?.entries ?? [];
    // directories' sizes and link counts follow from their entries and are not compared; -T gives
    // every entry the same mtime, so /etc itself does not differ
    expect(entries.map((e) => [e.path, e.fields])).toEqual([
      ['/etc/fstab', ['size', 'content']],
      ['/etc/new', ['added']],
      ['/etc/old', ['removed']],
      ['/usr/bin/tool', ['mode']],
    ]);
    const fstab = entries.find((e) => e.path === '/etc/fstab');
    expect(fstab?.diff).toEqual(
      expect.arrayContaining([
        '- /dev/root / erofs ro 0 0',
        '+ /dev/root / erofs ro,noatime 0 0',
        '  # static',
      ]),
    );
    expect(fstab?.published).toMatchObject({ type: 'file', mode: '644', uid: 0, gid: 0, mtime: 1700000000 });
    const tool = entries.find((e) => e.path === '/usr/bin/tool');
    expect([tool?.published?.mode, tool?.rebuilt?.mode]).toEqual(['755', '700']);
    expect(tool?.published?.sha256).toBe(tool?.rebuilt?.sha256);
    const verity = d.regions.find((r) => r.partition === 3);
    expect(verity?.note).toMatch(
      /dm-verity hash tree: root hash published [0-9a-f]{64}, rebuilt [0-9a-f]{64}; it differs because partition 2/,
    );
    expect(verity?.filesystem).toBeUndefined();
    const doc = JSON.parse(JSON.stringify({ ...report(d), attestation: null })) as unknown;
    assertValid('reproduce report', reproduceSchema, doc);
    const text = reportText(report(d));
    expect(text).toContain('erofs: ');
    expect(text).toContain('/etc/fstab (size, content)');
    expect(text).toContain('+ /dev/root / erofs ro,noatime 0 0');
    expect(text).toContain('/usr/bin/tool (mode)');
    expect(text).toMatch(
      /published: file 10000 bytes mode 755 owner 0:0 mtime 1700000000 sha256 [0-9a-f]{16}…/,
    );
    expect(text).toContain('it differs because partition 2');
  });

  it('names the file whose bytes were altered in the published disk', async () => {
    const bytes = readFileSync(published);
    const at = bytes.indexOf('MARKER-0123456789');
    expect(at).toBeGreaterThan(0);
    const d = await explainDisk(await tampered('altered-file.raw', at + 3), published); // K -> k
    const root = d.regions.find((r) => r.partition === 2);
    expect(root?.filesystem?.entries.map((e) => e.path)).toEqual(['/etc/os-release']);
    expect(root?.filesystem?.entries[0]?.diff).toEqual(
      expect.arrayContaining(['- NAME=nodeimg-MARkER-0123456789', '+ NAME=nodeimg-MARKER-0123456789']),
    );
    expect(d.regions.some((r) => r.partition === 3)).toBe(false);
  });

  it('says when the hash partition alone was altered', async () => {
    const bytes = readFileSync(published);
    // the hash partition starts after the root partition; alter a byte of its hash blocks
    const sig = bytes.indexOf('verity\0\0');
    const d = await explainDisk(await tampered('altered-hash.raw', sig + 4096 + 5), published);
    expect(d.regions.map((r) => r.partition)).toEqual([3]);
    expect(d.regions[0]?.note).toMatch(
      /partition 2 \(the data it hashes\) is identical: the hash partition itself was changed/,
    );
  });

  it('bounds the list and says how many more differ', async () => {
    const a = join(tmp, 'many-a');
    const b = join(tmp, 'many-b');
    mkdirSync(a);
    mkdirSync(b);
    for (let i = 0; i < MAX_LISTED + 30; i++) {
      writeFileSync(join(a, `f${String(i).padStart(4, '0')}`), `a${i}\n`);
      writeFileSync(join(b, `f${String(i).padStart(4, '0')}`), `b${i}\n`);
    }
    const d = await explainDisk(await erofsDisk(tmp, 'many-a', a), await erofsDisk(tmp, 'many-b', b));
    const fs = d.regions.find((r) => r.partition === 2)?.filesystem;
    expect(fs?.entries).toHaveLength(MAX_LISTED);
    expect(fs?.more).toBe(30);
    expect(reportText(report(d))).toContain('… and 30 more');
  });
});
