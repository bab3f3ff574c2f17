// The root file system planner wired into `nodeimg build`'s graph (no stage runs): examples/
// debian-node's recipe and lock give the rootfs -> erofs -> verity chain over exactly the lock's
// root file system packages, the initrd addition from the kernel package, two read-only DPS
// partitions whose UUIDs come from the verity stage, and the command-line fragment for the UKI;
// the lock's entries carry `requested` only for recipe-named packages; a recipe the planner cannot
// build yet is refused by name.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGraph, type BuildNode } from '../../../pipeline/build/graph.js';
import { loadLock } from '../../../pipeline/build/lock.js';
import { planBuild } from '../../../pipeline/build/plan.js';
import { loadRecipe, type LoadedRecipe } from '../../../pipeline/build/recipe.js';
import { lockedPackageOf, poolPath } from '../../../pipeline/build/rootfs-locker.js';
import '../../../pipeline/build/rootfs-planner.js';
import { stageKinds } from '../../../pipeline/build/registry.js';
import { ROOT } from '../../helpers/build.js';

const EXAMPLE = join(ROOT, 'examples', 'debian-node');

async function plan(edit?: (r: LoadedRecipe['recipe']) => LoadedRecipe['recipe']) {
  const loaded = await loadRecipe(EXAMPLE, ROOT);
  const lock = (await loadLock(join(EXAMPLE, 'nodeimg.lock.json'))).lock;
  return planBuild({ loaded: edit ? { ...loaded, recipe: edit(loaded.recipe) } : loaded, lock });
}

const node = (nodes: readonly { id: string }[], id: string): BuildNode => {
  const n = nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no stage ${id}`);
  return n as BuildNode;
};

describe('rootfs planner', () => {
  it('registers its stage kinds', () => {
    expect(stageKinds()).toEqual(expect.arrayContaining(['erofs', 'rootfs-initrd', 'rootfs-tar', 'verity']));
  });

  it('plans examples/debian-node: rootfs, erofs, verity, initrd addition, partitions, cmdline', async () => {
    const p = await plan();
    checkGraph(p.nodes);
    const lock = JSON.parse(await readFile(join(EXAMPLE, 'nodeimg.lock.json'), 'utf8')) as {
      packages: { name: string; requested?: string }[];
    };
    const top = new Set(['busybox-static', 'linux-image-amd64', 'systemd-boot-efi']);
    const rootfsPkgs = lock.packages.filter((x) => !top.has(x.requested ?? '')).map((x) => x.name);
    const rootfs = node(p.nodes, 'rootfs');
    const params = rootfs.params as { packages: { package: string }[]; include: string[]; variant: string };
    expect(params.packages.map((x) => x.package)).toEqual([...rootfsPkgs].sort());
    expect(params.include).toEqual(['systemd', 'systemd-sysv', 'udev', 'kmod', 'dmsetup']);
    expect(params.variant).toBe('minbase');
    expect(Object.keys(rootfs.inputs)).toHaveLength(rootfsPkgs.length);
    expect(node(p.nodes, 'erofs').inputs['rootfs']).toEqual({ stage: 'rootfs', output: 'rootfs.tar' });
    expect(node(p.nodes, 'verity').inputs['data']).toEqual({ stage: 'erofs', output: 'root.erofs' });
    expect(node(p.nodes, 'rootfs-initrd').inputs['kernel']).toEqual({
      stage: 'fetch:linux-image-amd64',
      output: 'deb',
    });
    expect(node(p.nodes, 'initrd').inputs['extra']).toEqual({
      stage: 'rootfs-initrd',
      output: 'rootfs-initrd.cpio.gz',
    });
    expect(node(p.nodes, 'uki').inputs['cmdline-extra']).toEqual({ stage: 'verity', output: 'cmdline.txt' });
    const disk = node(p.nodes, 'disk');
    expect((disk.params as { partitions: unknown[] }).partitions).toEqual([
      {
        type: 'root-x86-64',
        label: 'root-x86-64',
        readOnly: true,
        input: 'partition-2',
        uuidInput: 'partition-2-uuid',
      },
      {
        type: 'root-x86-64-verity',
        label: 'root-x86-64-verity',
        readOnly: true,
        input: 'partition-3',
        uuidInput: 'partition-3-uuid',
      },
    ]);
    expect(disk.inputs['partition-3-uuid']).toEqual({ stage: 'verity', output: 'hash-uuid.txt' });
    expect(p.artifacts.map((a) => a.path)).toEqual([
      'disk.raw',
      'uki.efi',
      'measurements.json',
      'roothash.txt',
    ]);
  });

  it('refuses what it cannot build yet', async () => {
    await expect(
      plan((r) => ({ ...r, rootfs: { ...(r.rootfs ?? { type: 'erofs' }), type: 'squashfs' } })),
    ).rejects.toThrow(/type squashfs is not available yet/);
    await expect(
      plan((r) => ({ ...r, rootfs: { ...(r.rootfs ?? { type: 'erofs' }), verity: false } })),
    ).rejects.toThrow(/without dm-verity/);
  });
});

describe('rootfs locker entries', () => {
  it('keeps the archive path of the pool URL and marks only requested names', () => {
    const d = {
      package: 'libc6',
      version: '2.36-9+deb12u14',
      architecture: 'amd64',
      sha256: 'a'.repeat(64),
      size: 1,
      url: 'http://deb.debian.org/debian-security/pool/updates/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb',
      filename: 'libc6_2.36-9+deb12u14_amd64.deb',
      priority: 'optional',
      section: 'libs',
    };
    expect(poolPath(d.url)).toBe('pool/updates/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb');
    expect(lockedPackageOf(d, new Set(['systemd'])).requested).toBeUndefined();
    expect(lockedPackageOf(d, new Set(['libc6'])).requested).toBe('libc6');
    expect(() => poolPath('http://example.org/x.deb')).toThrow(/outside a pool/);
  });
});
