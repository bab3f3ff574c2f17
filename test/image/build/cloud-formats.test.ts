// image/build/disk/cloud-formats: qcow2 (qemu-img), Azure fixed VHD and the GCE tarball made from a
// disk written by nodeimg's writers are byte-identical across two builds (different folders, times,
// TZ, umask, working directory), and each one gives the raw disk back through the standard tools:
// qemu-img check/info/convert, tar, gzip.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkQcow2, readVhdFooterOf, writeGceTarball, writeVhd } from '../../../image/build/disk/index.js';
import { NodeimgError } from '../../../image/formats/errors.js';
import { vhdGeometry } from '../../../image/formats/vhd/index.js';
import { EPOCH, buildInChild, sha256File } from '../../helpers/isolated-build.js';

const CLI = join(import.meta.dirname, '..', '..', 'helpers', 'build-cloud-formats-cli.ts');
const MiB = 1024 * 1024;
const RAW_SIZE = 40 * MiB + 7 * 512;
const VHD_SIZE = 41 * MiB;

let root: string;
const builds: string[] = [];

/** Builds in a child process with its own TZ, umask and working directory. */
const build = (name: string, tz: string, umask: string) => buildInChild(CLI, root, name, tz, umask);
const sha = sha256File;
const qemuImg = async (...args: string[]) => (await execa('qemu-img', args)).stdout;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nodeimg-cloud-formats-'));
  builds.push(await build('a', 'Pacific/Chatham', '077'));
  await new Promise((r) => setTimeout(r, 1100));
  builds.push(await build('b', 'America/Los_Angeles', '002'));
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('cloud formats', () => {
  it('two builds are byte-identical: raw, qcow2, VHD and GCE tarball', async () => {
    const [a, b] = builds as [string, string];
    const files = (await readdir(a)).sort();
    expect(files).toEqual(['disk.qcow2', 'disk.raw', 'disk.tar.gz', 'disk.vhd']);
    expect((await readdir(b)).sort()).toEqual(files);
    for (const f of files)
      expect({ f, sha: await sha(join(b, f)) }).toEqual({ f, sha: await sha(join(a, f)) });
  });

  it('qcow2: qemu-img check is clean, info gives the pinned options, convert gives the raw disk back', async () => {
    const out = builds[0] as string;
    const check = await checkQcow2(join(out, 'disk.qcow2'));
    expect(check).toMatchObject({ virtualSize: RAW_SIZE, clusterSize: 65536, compat: '1.1' });
    const info = JSON.parse(await qemuImg('info', '--output=json', join(out, 'disk.qcow2'))) as {
      format: string;
      'format-specific': { data: Record<string, unknown> };
    };
    expect(info.format).toBe('qcow2');
    expect(info['format-specific'].data).toMatchObject({
      'compression-type': 'zlib',
      'lazy-refcounts': false,
      'refcount-bits': 16,
      'extended-l2': false,
    });
    await qemuImg(
      'convert',
      '-f',
      'qcow2',
      '-O',
      'raw',
      join(out, 'disk.qcow2'),
      join(root, 'from-qcow2.raw'),
    );
    expect(await sha(join(root, 'from-qcow2.raw'))).toBe(await sha(join(out, 'disk.raw')));
  });

  it('VHD: footer fields, qemu-img info sizes, the padded raw disk comes back', async () => {
    const out = builds[0] as string;
    const vhd = join(out, 'disk.vhd');
    const footer = await readVhdFooterOf(vhd);
    expect(footer).toMatchObject({
      features: 2,
      formatVersion: 0x10000,
      dataOffset: null,
      timestamp: EPOCH - 946_684_800,
      unixTime: EPOCH,
      creatorApp: 'nimg',
      creatorVersion: 0x10000,
      creatorHostOs: 0x5769326b,
      originalSize: VHD_SIZE,
      currentSize: VHD_SIZE,
      diskType: 'fixed',
      savedState: false,
      geometry: vhdGeometry(VHD_SIZE / 512),
    });
    // the unique id is the padded disk's sha256 (first 16 bytes, version 4 UUID bits)
    const padded = new Uint8Array(VHD_SIZE);
    padded.set(await readFile(join(out, 'disk.raw')));
    const digest = createHash('sha256').update(padded).digest();
    expect(Buffer.from(footer.uniqueId).toString('hex')).toBe(
      Buffer.from([
        ...digest.subarray(0, 6),
        (digest[6]! & 0x0f) | 0x40,
        digest[7]!,
        (digest[8]! & 0x3f) | 0x80,
        ...digest.subarray(9, 16),
      ]).toString('hex'),
    );
    // qemu's vpc driver: CHS size for an unknown creator app, the footer's size when told so
    const g = footer.geometry;
    const chs = JSON.parse(await qemuImg('info', '-f', 'vpc', '--output=json', vhd)) as {
      'virtual-size': number;
    };
    expect(chs['virtual-size']).toBe(g.cylinders * g.heads * g.sectorsPerTrack * 512);
    const opts = `driver=vpc,force_size_calc=current_size,file.filename=${vhd}`;
    const cur = JSON.parse(await qemuImg('info', '--output=json', '--image-opts', opts)) as {
      'virtual-size': number;
    };
    expect(cur['virtual-size']).toBe(VHD_SIZE);
    await qemuImg('convert', '--image-opts', opts, '-O', 'raw', join(root, 'from-vhd.raw'));
    expect(await sha(join(root, 'from-vhd.raw'))).toBe(createHash('sha256').update(padded).digest('hex'));
    // and the data in front of the footer is the padded raw disk, byte for byte
    const whole = await readFile(vhd);
    expect(whole.length).toBe(VHD_SIZE + 512);
    expect(createHash('sha256').update(whole.subarray(0, VHD_SIZE)).digest('hex')).toBe(
      createHash('sha256').update(padded).digest('hex'),
    );
  });

  it('VHD: "win " as creator makes qemu-img info use the footer size; a given unique id is kept', async () => {
    const out = builds[0] as string;
    const vhd = join(root, 'win.vhd');
    const uniqueId = new Uint8Array(16).fill(0xab);
    await writeVhd(join(out, 'disk.raw'), vhd, { creatorApp: 'win ', uniqueId, sourceDateEpoch: EPOCH });
    const info = JSON.parse(await qemuImg('info', '-f', 'vpc', '--output=json', vhd)) as {
      'virtual-size': number;
    };
    expect(info['virtual-size']).toBe(VHD_SIZE);
    expect((await readVhdFooterOf(vhd)).uniqueId).toEqual(uniqueId);
  });

  it('GCE: tar lists one oldgnu disk.raw with fixed fields, extracting gives the raw disk, bare gzip header', async () => {
    const out = builds[0] as string;
    const tgz = join(out, 'disk.tar.gz');
    const listing = (await execa('tar', ['--numeric-owner', '-tvzf', tgz], { env: { TZ: 'UTC' } })).stdout;
    expect(listing).toBe(`-rw-r--r-- 0/0        ${RAW_SIZE} 2023-11-14 22:13 disk.raw`);
    const gz = await readFile(tgz);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    const x = join(root, 'extract');
    await mkdir(x);
    await execa('tar', ['-xzf', tgz, '-C', x]);
    expect(await readdir(x)).toEqual(['disk.raw']);
    expect(await sha(join(x, 'disk.raw'))).toBe(await sha(join(out, 'disk.raw')));
    // the uncompressed tar is what GNU tar --format=oldgnu writes for the same file
    const tar = (await execa('gzip', ['-dc', tgz], { encoding: 'buffer' })).stdout;
    expect(Buffer.from(tar.subarray(257, 265)).toString('latin1')).toBe('ustar  \0');
    const ref = join(root, 'ref.tar');
    await execa(
      'tar',
      [
        '--format=oldgnu',
        `--mtime=@${EPOCH}`,
        '--owner=root:0',
        '--group=root:0',
        '--mode=0644',
        '-cf',
        ref,
        'disk.raw',
      ],
      { cwd: x },
    );
    expect(createHash('sha256').update(tar).digest('hex')).toBe(await sha(ref));
  });

  it('GCE: a disk that is not a whole number of GiB is refused unless allowed; bad inputs are typed errors', async () => {
    const out = builds[0] as string;
    const err = await writeGceTarball(join(out, 'disk.raw'), join(root, 'x.tar.gz')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeimgError);
    expect((err as NodeimgError).code).toBe('USAGE');
    const odd = join(root, 'odd.raw');
    await writeFile(odd, new Uint8Array(1000));
    const e2 = await writeVhd(odd, join(root, 'odd.vhd')).catch((e: unknown) => e);
    expect((e2 as NodeimgError).code).toBe('USAGE');
    const e3 = await writeVhd(join(root, 'missing.raw'), join(root, 'm.vhd')).catch((e: unknown) => e);
    expect((e3 as NodeimgError).code).toBe('IO_NOT_FOUND');
    expect(await readdir(root)).not.toContain('.m.vhd.partial');
  });
});
