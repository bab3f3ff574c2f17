// The root file system planner of `nodeimg build` (registry.ts; issue 6, reproducible-build spec
// §2-§4): registers the rootfs stages (image/build/stages/rootfs.ts, rootfs-initrd.ts) and turns a
// recipe's /rootfs into
//
//   fetch:<pkg>... -> rootfs (mmdebstrap, offline) -> erofs (+ /rootfs/files) -> verity
//   fetch:<kernel>, rootfs -> rootfs-initrd (modules + dmsetup, appended to the initrd)
//
// with two read-only partitions after the ESP, typed and named as the Discoverable Partitions
// Specification says (root-x86-64 holding the erofs image, root-x86-64-verity holding the hash
// tree; their UUIDs the first and last 128 bits of the root hash) and the command-line fragment
// "nodeimg.roothash=<hex> nodeimg.verity=<data blocks>,<hash start>,<salt>" that the example's /init
// reads to open the root with dmsetup. The root file system's packages are the lock entries the
// rootfs locker added: those /rootfs/packages requests and every dependency (no `requested`).
import { basename, join } from 'node:path';
import { NodeimgError } from '../errors.js';
import { seedUuid } from '../../image/formats/seed.js';
import { DEFAULT_MIRRORS, type LockedDeb } from '../../image/build/rootfs/index.js';
import { erofsStage, rootfsTarStage, verityStage } from '../../image/build/stages/rootfs.js';
import { rootfsInitrdStage } from '../../image/build/stages/rootfs-initrd.js';
import { buildNode, type InputRef } from './graph.js';
import { packageName } from './recipe.js';
import { registerRootfsPlanner, registerStage, type AnyStage, type RootfsPlanner } from './registry.js';

/** Kernel modules for the QEMU q35 virtio disk, dm-verity and erofs (Debian 6.1: all modules). */
export const DEFAULT_MODULES = ['crc32c_generic', 'virtio_pci', 'virtio_blk', 'dm-verity', 'erofs'];
/** What /init runs to create the verity mapping. */
export const INITRD_PROGRAMS = ['/usr/sbin/dmsetup'];

const unsupported = (file: string, message: string): NodeimgError =>
  new NodeimgError('PARSE_UNSUPPORTED', `${basename(file)}: /rootfs: ${message}`);

export const planRootfs: RootfsPlanner = (ctx, rootfs) => {
  const { loaded, lock } = ctx;
  const r = loaded.recipe;
  if (rootfs.type !== 'erofs')
    throw unsupported(loaded.file, `type ${rootfs.type} is not available yet (erofs is)`);
  if (rootfs.verity === false)
    throw unsupported(
      loaded.file,
      'a root without dm-verity is not available (the initrd opens a verity root)',
    );
  const include = (rootfs.packages ?? []).map(packageName);
  const wanted = new Set(include);
  const pkgs = lock.packages.filter((p) => p.requested === undefined || wanted.has(p.requested));
  if (pkgs.length === 0)
    throw new NodeimgError(
      'PARSE_INVALID',
      `${basename(loaded.file)}: the lock has no root file system packages`,
      {
        hint: `run \`nodeimg lock\` on the recipe`,
      },
    );
  const packages: LockedDeb[] = pkgs
    .map((p) => ({
      package: p.name,
      version: p.version,
      architecture: p.architecture,
      sha256: p.sha256,
      size: p.size,
      url: p.url,
      filename: basename(p.filename),
      priority: p.priority,
      section: p.section,
    }))
    .sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0));
  const debs: Record<string, InputRef> = {};
  for (const p of packages) debs[`deb:${p.package}`] = ctx.deb(p.package);
  const epoch = ctx.sourceDateEpoch;
  ctx.add(
    buildNode(
      rootfsTarStage,
      'rootfs',
      {
        suite: r.distribution.suite,
        architecture: r.distribution.architecture,
        variant: rootfs.variant ?? 'minbase',
        include,
        mirrors: [...DEFAULT_MIRRORS],
        hostname: r.name,
        sourceDateEpoch: epoch,
        packages,
      },
      debs,
    ),
  );
  const fileInputs: Record<string, InputRef> = {};
  const files: Record<string, string> = {};
  for (const [i, [path, src]] of Object.entries(rootfs.files ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .entries()) {
    if (path.split('/').some((x) => x === '.' || x === '..'))
      throw new NodeimgError(
        'PARSE_INVALID',
        `${basename(loaded.file)}: /rootfs/files: ${path} is not a plain path`,
      );
    fileInputs[`file-${i}`] = { file: join(loaded.dir, src), label: src };
    files[path] = `file-${i}`;
  }
  const tar = { stage: 'rootfs', output: 'rootfs.tar' };
  ctx.add(
    buildNode(
      erofsStage,
      'erofs',
      { sourceDateEpoch: epoch, uuid: seedUuid(ctx.seed, 'erofs-uuid:root').toLowerCase(), files },
      { rootfs: tar, ...fileInputs },
    ),
  );
  ctx.add(
    buildNode(
      verityStage,
      'verity',
      { seed: ctx.seed, label: 'root' },
      { data: { stage: 'erofs', output: 'root.erofs' } },
    ),
  );
  ctx.add(
    buildNode(
      rootfsInitrdStage,
      'rootfs-initrd',
      {
        modules: [...(rootfs.modules ?? DEFAULT_MODULES)],
        programs: INITRD_PROGRAMS,
        sourceDateEpoch: epoch,
      },
      { kernel: ctx.deb(r.kernel.package), rootfs: tar },
    ),
  );
  return {
    partitions: [
      {
        type: 'root-x86-64',
        label: 'root-x86-64',
        readOnly: true,
        from: { stage: 'erofs', output: 'root.erofs' },
        uuidFrom: { stage: 'verity', output: 'data-uuid.txt' },
      },
      {
        type: 'root-x86-64-verity',
        label: 'root-x86-64-verity',
        readOnly: true,
        from: { stage: 'verity', output: 'root.verity' },
        uuidFrom: { stage: 'verity', output: 'hash-uuid.txt' },
      },
    ],
    cmdline: { stage: 'verity', output: 'cmdline.txt' },
    initrd: { stage: 'rootfs-initrd', output: 'rootfs-initrd.cpio.gz' },
    artifacts: [{ path: 'roothash.txt', from: { stage: 'verity', output: 'roothash.txt' } }],
  };
};

for (const s of [rootfsTarStage, erofsStage, verityStage, rootfsInitrdStage]) registerStage(s as AnyStage);
registerRootfsPlanner(planRootfs);
