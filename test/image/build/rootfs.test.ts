// The root-file-system stages without the network or a full mmdebstrap run (those are in
// rootfs.slow.test.ts): the lock's validation and the parsers of apt's output, the mmdebstrap
// options and normalisation hooks, the flat repository with the archive's overrides (real
// dpkg-deb + dpkg-scanpackages), the .deb store checks, the tarball audit on crafted tarballs, and
// erofs/squashfs images of a crafted tarball (real tar, mkfs.erofs, mksquashfs, dump.erofs): the
// same bytes from two extractions, the seed's UUID and SOURCE_DATE_EPOCH in the erofs superblock,
// owners, modes, hard links and xattrs kept.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../../image/build/run-tool.js';
import {
  auditRootfsTar,
  buildErofsImage,
  buildSquashfsImage,
  checkLockedDebs,
  DEFAULT_MIRRORS,
  digestFile,
  lockedDebPath,
  mmdebstrapOptions,
  overrideFile,
  parsePrintUris,
  parseStanzas,
  sourcesList,
  storeDebFiles,
  validateRootfsLock,
  versionWithoutEpoch,
  writeFlatRepo,
  type LockedDeb,
  type RootfsLock,
} from '../../../image/build/rootfs/index.js';
import { seedUuid } from '../../../image/formats/seed.js';

const SDE = 1_700_000_000;
const SEED = '6e6f6465-696d-4467-a972-697465727321';
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-rootfs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function deb(over: Partial<LockedDeb> = {}): LockedDeb {
  return {
    package: 'hello',
    version: '1:2.10-3',
    architecture: 'amd64',
    sha256: 'a'.repeat(64),
    size: 100,
    url: 'http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
    filename: 'hello_2.10-3_amd64.deb',
    priority: 'optional',
    section: 'devel',
    ...over,
  };
}

function lockOf(packages: LockedDeb[], over: Partial<RootfsLock> = {}): RootfsLock {
  return {
    suite: 'bookworm',
    architecture: 'amd64',
    variant: 'minbase',
    include: [],
    mirrors: DEFAULT_MIRRORS,
    packages,
    ...over,
  };
}

describe('lock', () => {
  it('parses what apt prints while resolving', () => {
    const uris = parsePrintUris(
      `'http://deb.debian.org/debian/pool/main/a/attr/libattr1_2.5.1-4_amd64.deb' libattr1_1%3a2.5.1-4_amd64.deb 22164 SHA256:${'c'.repeat(64)}\n`,
    );
    expect(uris).toEqual([
      {
        url: 'http://deb.debian.org/debian/pool/main/a/attr/libattr1_2.5.1-4_amd64.deb',
        size: 22164,
        sha256: 'c'.repeat(64),
      },
    ]);
    expect(() => parsePrintUris('garbage\n')).toThrow(expect.objectContaining({ code: 'TOOL_FAILED' }));
    const st = parseStanzas(
      'Package: apt\nVersion: 2.6.2\nPriority: required\nSection: admin\n\nPackage: apt\nVersion: 2.6.2\nPriority: important\nSection: admin\n\nPackage: x\nVersion: 1\n',
    );
    expect(st.get('apt=2.6.2')).toEqual({ priority: 'required', section: 'admin' });
    expect(st.get('x=1')).toEqual({ priority: 'optional', section: 'misc' });
    expect(versionWithoutEpoch('1:2.38.1-5+deb12u3')).toBe('2.38.1-5+deb12u3');
  });

  it('refuses what it will not pass to mmdebstrap or a shell', () => {
    expect(validateRootfsLock(lockOf([deb()]))).toBeDefined();
    const bad: [Partial<RootfsLock>, RegExp][] = [
      [{ variant: 'everything' }, /variant/],
      [{ mirrors: ["deb http://x/debian bookworm main'; rm -rf /"] }, /mirror line/],
      [{ mirrors: [] }, /no mirror/],
      [{ include: ['a,b'] }, /include/],
      [{ packages: [] }, /no packages/],
      [{ packages: [deb(), deb()] }, /locked twice/],
      [{ packages: [deb({ sha256: 'xyz' })] }, /sha256/],
      [{ packages: [deb({ architecture: 'arm64' })] }, /arm64/],
      [{ packages: [deb({ version: '1.0;ls' })] }, /name=version/],
      [{ packages: [deb({ filename: '../x.deb' })] }, /file name/],
      [{ packages: [deb({ priority: 'a b' })] }, /priority/],
    ];
    for (const [over, re] of bad)
      expect(() => validateRootfsLock(lockOf([deb()], over))).toThrow(
        expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(re) }),
      );
  });

  it('gives mmdebstrap the variant, includes and normalisation hooks', () => {
    expect(sourcesList(['deb a b c', 'deb d e f'])).toBe('deb a b c\n\ndeb d e f\n');
    const opts = mmdebstrapOptions(lockOf([deb()], { include: ['systemd', 'udev'] }), 'node-1');
    expect(opts).toEqual([
      '--mode=root',
      '--variant=minbase',
      '--architectures=amd64',
      '--include=systemd,udev',
      '--customize-hook=rm -f "$1/etc/resolv.conf"',
      `--customize-hook=printf '%s\\n' 'node-1' > "$1/etc/hostname"`,
      `--customize-hook=printf '%s' '${sourcesList(DEFAULT_MIRRORS)}' > "$1/etc/apt/sources.list"`,
    ]);
    expect(() => mmdebstrapOptions(lockOf([deb()]), "x'y")).toThrow(/host name/);
  });
});

async function makeDeb(name: string, version: string, priority: string): Promise<string> {
  const root = join(dir, `src-${name}`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await mkdir(join(root, 'usr/share', name), { recursive: true });
  await writeFile(join(root, 'usr/share', name, 'file'), `${name}\n`);
  await writeFile(
    join(root, 'DEBIAN/control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: nodeimg <nodeimg@invalid>\nPriority: ${priority}\nSection: misc\nDescription: test package\n`,
  );
  const out = join(dir, `${name}.deb`);
  await runTool('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out]);
  return out;
}

describe('flat repository and .deb store', () => {
  it('applies the archive overrides, checks the store, links the files under their pool names', async () => {
    const store = join(dir, 'store');
    await mkdir(store);
    await makeDeb('alpha', '1.0-1', 'important');
    await makeDeb('beta', '2:0.5', 'optional');
    const incoming = join(dir, 'incoming');
    await mkdir(incoming);
    await runTool('cp', [join(dir, 'alpha.deb'), join(dir, 'beta.deb'), incoming]);
    const filed = await storeDebFiles(incoming, store);
    expect(filed.size).toBe(2);
    const entry = async (name: string, version: string, priority: string): Promise<LockedDeb> => {
      const d = await digestFile(join(dir, `${name}.deb`));
      return deb({
        package: name,
        version,
        architecture: 'all',
        sha256: d.sha256,
        size: d.size,
        filename: `${name}_${versionWithoutEpoch(version)}_all.deb`,
        priority,
        section: 'admin',
      });
    };
    const lock = lockOf([
      await entry('alpha', '1.0-1', 'required'),
      await entry('beta', '2:0.5', 'optional'),
    ]);
    expect(filed.has(lock.packages[0]?.sha256 ?? '')).toBe(true);
    expect(overrideFile(lock)).toBe('alpha required admin\nbeta optional admin\n');
    const repo = join(dir, 'repo');
    await mkdir(repo);
    await writeFlatRepo(lock, store, repo);
    const packages = await readFile(join(repo, 'Packages'), 'utf8');
    const alpha = packages.split('\n\n').find((st) => st.startsWith('Package: alpha\n')) ?? '';
    expect(alpha).toMatch(/^Priority: required$/m); // the control file says important
    expect(alpha).toMatch(/^Section: admin$/m);
    expect(packages).toMatch(/Filename: \.\/alpha_1\.0-1_all\.deb/);
    expect(packages).toMatch(/Version: 2:0\.5\n/);
    // a damaged and a missing file
    await writeFile(lockedDebPath(store, lock.packages[0] as LockedDeb), 'not a deb');
    await expect(checkLockedDebs(lock, store)).rejects.toMatchObject({ code: 'CHECK_FAILED' });
    await rm(lockedDebPath(store, lock.packages[0] as LockedDeb));
    await expect(checkLockedDebs(lock, store)).rejects.toMatchObject({
      code: 'IO_NOT_FOUND',
      message: expect.stringMatching(/alpha=1\.0-1/),
    });
  });
});

interface Member {
  name: string;
  body?: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  xattr?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
}

async function tarOf(path: string, members: Member[]): Promise<string> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const m of members) {
    const type = m.type ?? (m.body === undefined ? 'directory' : 'file');
    const header = {
      name: m.name,
      type,
      mode: m.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      mtime: new Date((m.mtime ?? SDE) * 1000),
      ...(m.linkname === undefined ? {} : { linkname: m.linkname }),
      ...(m.devmajor === undefined ? {} : { devmajor: m.devmajor, devminor: m.devminor ?? 0 }),
      ...(m.xattr === undefined
        ? {}
        : { pax: Object.fromEntries(Object.entries(m.xattr).map(([k, v]) => [`SCHILY.xattr.${k}`, v])) }),
    };
    if (type === 'file') p.entry(header, m.body ?? '');
    else p.entry(header);
  }
  p.finalize();
  await done;
  await writeFile(path, Buffer.concat(chunks));
  return path;
}

const STATUS = (pkgs: [string, string, string][]): string =>
  pkgs
    .map(([p, v, a]) => `Package: ${p}\nStatus: install ok installed\nVersion: ${v}\nArchitecture: ${a}\n`)
    .join('\n');

function goodTree(over: Record<string, Member | null> = {}): Member[] {
  const base: Record<string, Member> = {
    etc: { name: './etc/' },
    hostname: { name: './etc/hostname', body: 'localhost\n' },
    machine: { name: './etc/machine-id', body: '' },
    shadow: {
      name: './etc/shadow',
      body: `root:*:${Math.floor(SDE / 86400)}:0:99999:7:::\nnobody:*::::::\n`,
      gid: 42,
    },
    sources: { name: './etc/apt/sources.list', body: sourcesList(DEFAULT_MIRRORS) },
    status: { name: './var/lib/dpkg/status', body: STATUS([['hello', '1:2.10-3', 'amd64']]) },
    lock: { name: './var/lib/apt/lists/lock', body: '' },
  };
  const out: Member[] = [];
  for (const m of Object.values({ ...base, ...over })) if (m !== null) out.push(m);
  return out;
}

describe('rootfs tarball audit', () => {
  const want = { lock: lockOf([deb()]), sourceDateEpoch: SDE, hostname: 'localhost' };
  it('passes a normalised tarball', async () => {
    const a = await auditRootfsTar(await tarOf(join(dir, 'good.tar'), goodTree()), want);
    expect(a).toEqual({ members: 7, packages: 1, problems: [] });
  });
  it.each<[string, Record<string, Member | null>, RegExp]>([
    [
      'a late mtime',
      { hostname: { name: './etc/hostname', body: 'localhost\n', mtime: SDE + 1 } },
      /mtime 1700000001 is after/,
    ],
    [
      'resolv.conf',
      { resolv: { name: './etc/resolv.conf', body: 'nameserver 10.0.0.1\n' } },
      /resolv\.conf is in the image/,
    ],
    [
      'the host name',
      { hostname: { name: './etc/hostname', body: 'buildhost\n' } },
      /\/etc\/hostname is "buildhost\\n"/,
    ],
    ['a machine id', { machine: { name: './etc/machine-id', body: 'abc\n' } }, /machine-id is not empty/],
    [
      'a build-day shadow',
      { shadow: { name: './etc/shadow', body: 'root:*:20784:0:99999:7:::\n' } },
      /day 20784, not 19675/,
    ],
    [
      'a log',
      { log: { name: './var/log/dpkg.log', body: 'x' } },
      /dpkg\.log is in the image \(a build log\)/,
    ],
    [
      'apt lists',
      { lists: { name: './var/lib/apt/lists/deb.debian.org_Packages', body: 'x' } },
      /apt package lists/,
    ],
    [
      'the copy:// source',
      { sources: { name: './etc/apt/sources.list', body: 'deb [trusted=yes] copy:///tmp/x ./\n' } },
      /sources\.list is/,
    ],
    [
      'a missing package',
      { status: { name: './var/lib/dpkg/status', body: '' } },
      /hello 1:2\.10-3 amd64 is not installed/,
    ],
    [
      'another version',
      { status: { name: './var/lib/dpkg/status', body: STATUS([['hello', '1:2.10-4', 'amd64']]) } },
      /installed as 1:2\.10-4 amd64/,
    ],
    [
      'an unlocked package',
      {
        status: {
          name: './var/lib/dpkg/status',
          body: STATUS([
            ['hello', '1:2.10-3', 'amd64'],
            ['vim', '9', 'amd64'],
          ]),
        },
      },
      /vim 9 amd64 is installed but not locked/,
    ],
  ])('reports %s', async (label, over, re) => {
    const a = await auditRootfsTar(
      await tarOf(join(dir, `bad-${label.replace(/[^a-z]+/g, '-')}.tar`), goodTree(over)),
      want,
    );
    expect(a.problems.join('\n')).toMatch(re);
  });
});

describe.skipIf(!isRoot)('erofs and squashfs images (as root: the tree keeps owners and devices)', () => {
  const tree: Member[] = [
    { name: './', mode: 0o755 },
    { name: './etc/' },
    {
      name: './etc/shadow',
      body: 'root:*:19675:0:99999:7:::\n',
      mode: 0o640,
      gid: 42,
      xattr: { 'user.nodeimg': 'kept' },
    },
    { name: './etc/shadow-link', type: 'link', linkname: './etc/shadow' },
    { name: './usr/' },
    { name: './usr/lib/' },
    { name: './usr/lib/helper', body: '#!/bin/sh\n', mode: 0o4754, gid: 105 },
    { name: './bin', type: 'symlink', linkname: 'usr/bin' },
    { name: './dev/' },
    { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: './var/' },
    { name: './var/cache/' },
    { name: './var/cache/apt/' },
    { name: './var/cache/apt/archives/' },
    { name: './var/cache/apt/archives/partial/', mode: 0o700, uid: 42 },
    ...Array.from({ length: 40 }, (_, i) => ({ name: `./usr/lib/f${i}`, body: `${'x'.repeat(i * 37)}\n` })),
  ];
  const dump = async (image: string, path: string) =>
    (await runTool('dump.erofs', [`--path=${path}`, image])).stdout;

  it('builds the same erofs from two extractions, with the seed UUID, SDE and the tree intact', async () => {
    const tar = await tarOf(join(dir, 'tree.tar'), tree);
    const a = await buildErofsImage(
      { tarball: tar, seed: SEED, workDir: join(dir, 'wa') },
      join(dir, 'out-a', 'root.erofs'),
    );
    const b = await buildErofsImage(
      { tarball: tar, seed: SEED, workDir: join(dir, 'wb') },
      join(dir, 'out-b', 'root.erofs'),
    );
    expect(b.sha256).toBe(a.sha256);
    expect(a.uuid).toBe(seedUuid(SEED, 'erofs-uuid:root'));
    expect(a.size % 4096).toBe(0);
    const img = await readFile(a.path);
    expect(img.readUInt32LE(0x400)).toBe(0xe0f5e1e2); // EROFS_SUPER_MAGIC_V1
    expect(img.subarray(0x430, 0x440).toString('hex')).toBe((a.uuid ?? '').replaceAll('-', ''));
    expect(Number(img.readBigUInt64LE(0x418))).toBe(SDE);
    expect(await dump(a.path, '/etc/shadow')).toMatch(
      /Links: 2[\s\S]*Xattr size: [1-9][\s\S]*Uid: 0\s+Gid: 42\s+Access: 0640/,
    );
    // dump.erofs 1.5 prints only the permission bits: read i_mode (u16 at +4) of the inode itself
    const helper = await dump(a.path, '/usr/lib/helper');
    expect(helper).toMatch(/Uid: 0\s+Gid: 105/);
    const nid = Number(/NID: (\d+)/.exec(helper)?.[1]);
    const inode = img.readUInt32LE(0x428) * 4096 + nid * 32; // meta_blkaddr, 32-byte inode slots
    expect(img.readUInt16LE(inode + 4)).toBe(0o104754);
    expect(await dump(a.path, '/var/cache/apt/archives/partial')).toMatch(/Uid: 42\s+Gid: 0\s+Access: 0700/);
    expect(await dump(a.path, '/dev/null')).toMatch(/char dev/);
    await runTool('fsck.erofs', [a.path]);
    // another seed, another UUID and image; no scratch tree or partial file left behind
    const c = await buildErofsImage(
      { tarball: tar, seed: '00000000-0000-4000-8000-000000000001' },
      join(dir, 'out-c', 'root.erofs'),
    );
    expect(c.sha256).not.toBe(a.sha256);
    expect((await runTool('ls', ['-A', join(dir, 'out-c')])).stdout).toBe('root.erofs\n');
    await expect(buildErofsImage({ tarball: tar }, join(dir, 'out-d', 'x'))).rejects.toMatchObject({
      code: 'USAGE',
    });
  });

  it('builds the same squashfs from two extractions', async () => {
    const tar = await tarOf(join(dir, 'tree-sq.tar'), tree);
    const a = await buildSquashfsImage(
      { tarball: tar, workDir: join(dir, 'sa') },
      join(dir, 'sq-a', 'root.squashfs'),
    );
    const b = await buildSquashfsImage(
      { tarball: tar, workDir: join(dir, 'sb') },
      join(dir, 'sq-b', 'root.squashfs'),
    );
    expect(b.sha256).toBe(a.sha256);
    const img = await readFile(a.path);
    expect(img.subarray(0, 4).toString()).toBe('hsqs');
    expect(img.readUInt32LE(8)).toBe(SDE); // mkfs_time from SOURCE_DATE_EPOCH
  });
});
