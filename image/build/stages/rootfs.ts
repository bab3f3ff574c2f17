// The root file system stages (issue 6; reproducible-build spec §2-§4), registered by
// pipeline/build/rootfs-planner.ts:
// - `rootfs-tar`: mmdebstrap, offline, from exactly the locked .debs (image/build/rootfs/
//   mmdebstrap.ts: flat repo, normalisation hooks, audit) -> rootfs.tar;
// - `erofs`: the tarball extracted as root (numeric owners, xattrs), the recipe's files written
//   over it (mode 0644, owner 0:0, mtime SOURCE_DATE_EPOCH), `mkfs.erofs -T SDE -U <seed UUID>`
//   -> root.erofs, padded to whole 4 KiB blocks for dm-verity;
// - `verity`: nodeimg's dm-verity hash image (image/build/verity.ts, salt and superblock UUID from
//   the seed) -> root.verity, the partition UUIDs the Discoverable Partitions Specification derives
//   from the root hash (first / last 128 bits), and the kernel command-line fragment the initrd
//   reads (nodeimg.roothash=, nodeimg.verity=<data blocks>,<hash start block>,<salt>).
import { copyFile, link, mkdir, open, stat, utimes, writeFile, chmod, chown, lstat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { buildRootfsTarball, type LockedDeb, type RootfsLock } from '../rootfs/index.js';
import { runTool } from '../run-tool.js';
import { writeVerityHashImage } from '../verity.js';
import type { BuildStage } from './types.js';

/** A locked .deb as stage parameters (image/build/rootfs/lock.ts LockedDeb as a plain type). */
export type LockedDebParams = { readonly [K in keyof LockedDeb]: LockedDeb[K] };

export type RootfsTarParams = {
  readonly suite: string;
  readonly architecture: string;
  readonly variant: string;
  readonly include: readonly string[];
  readonly mirrors: readonly string[];
  readonly hostname: string;
  readonly sourceDateEpoch: number;
  /** The locked closure; each package's .deb is the input `deb:<package>`. */
  readonly packages: readonly LockedDebParams[];
};

export const rootfsTarStage: BuildStage<RootfsTarParams> = {
  kind: 'rootfs-tar',
  version: 1,
  tools: [
    { bin: 'mmdebstrap', package: 'mmdebstrap' },
    { bin: 'apt-get', package: 'apt' },
    { bin: 'dpkg', package: 'dpkg' },
    { bin: 'dpkg-scanpackages', package: 'dpkg-dev' },
    { bin: 'tar', package: 'tar' },
  ],
  outputs: () => ['rootfs.tar'],
  async run(ctx) {
    const p = ctx.params;
    const store = join(ctx.workDir, 'debs');
    await mkdir(store);
    for (const d of p.packages) {
      const from = ctx.inputs[`deb:${d.package}`];
      if (from === undefined) throw new NodeimgError('INTERNAL', `rootfs-tar: no input deb:${d.package}`);
      const to = join(store, `${d.sha256}.deb`);
      await link(from, to).catch(() => copyFile(from, to));
    }
    const lock: RootfsLock = {
      suite: p.suite,
      architecture: p.architecture,
      variant: p.variant,
      include: p.include,
      mirrors: p.mirrors,
      packages: p.packages,
    };
    ctx.progress(`mmdebstrap --variant=${p.variant} (${p.packages.length} packages, offline)`);
    await buildRootfsTarball(
      {
        lock,
        debStore: store,
        sourceDateEpoch: p.sourceDateEpoch,
        hostname: p.hostname,
        workDir: ctx.workDir,
        signal: ctx.signal,
      },
      join(ctx.outDir, 'rootfs.tar'),
    );
  },
};

export type ErofsParams = {
  readonly sourceDateEpoch: number;
  /** The file-system UUID (from the seed). */
  readonly uuid: string;
  /** Absolute path in the image -> the input holding its bytes. */
  readonly files: { readonly [path: string]: string };
};

const BLOCK = 4096;

/** Writes `bytes` at `path` inside `tree`: 0644, root-owned, mtime `epoch`; new folders 0755. */
async function overlayFile(tree: string, path: string, source: string, epoch: number): Promise<void> {
  const parts = path.split('/').filter((x) => x !== '');
  if (parts.length === 0 || parts.some((x) => x === '.' || x === '..'))
    throw new NodeimgError(
      'PARSE_INVALID',
      `rootfs file ${JSON.stringify(path)} is not a plain absolute path`,
    );
  const target = join(tree, ...parts);
  if (relative(tree, target).startsWith('..')) throw new NodeimgError('INTERNAL', `${path} escapes the tree`);
  const dirs: string[] = [];
  for (let d = dirname(target); d !== tree; d = dirname(d)) dirs.unshift(d);
  for (const d of dirs) {
    const st = await lstat(d).catch(() => undefined);
    if (st?.isSymbolicLink())
      throw new NodeimgError(
        'PARSE_INVALID',
        `rootfs file ${path}: ${relative(tree, d)} is a symbolic link`,
        {
          hint: 'name the real path (e.g. /usr/lib/... rather than /lib/...)',
        },
      );
    if (st === undefined) {
      await mkdir(d, { mode: 0o755 });
      await chmod(d, 0o755);
    }
  }
  await copyFile(source, target);
  await chmod(target, 0o644);
  await chown(target, 0, 0);
  for (const x of [target, ...dirs.reverse()]) await utimes(x, epoch, epoch);
}

export const erofsStage: BuildStage<ErofsParams> = {
  kind: 'erofs',
  version: 1,
  tools: [
    { bin: 'tar', package: 'tar' },
    { bin: 'mkfs.erofs', package: 'erofs-utils' },
  ],
  outputs: () => ['root.erofs'],
  async run(ctx) {
    const p = ctx.params;
    const tree = join(ctx.workDir, 'tree');
    await mkdir(tree);
    await chmod(tree, 0o755);
    const opts = { sourceDateEpoch: p.sourceDateEpoch, timeoutMs: 60 * 60_000, signal: ctx.signal };
    ctx.progress('tar -x rootfs.tar');
    await runTool(
      'tar',
      [
        '--xattrs',
        '--xattrs-include=*',
        '--numeric-owner',
        '--same-owner',
        '-xpf',
        ctx.inputs['rootfs'] as string,
        '-C',
        tree,
      ],
      opts,
    );
    for (const [path, input] of Object.entries(p.files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const source = ctx.inputs[input];
      if (source === undefined) throw new NodeimgError('INTERNAL', `erofs: no input ${input}`);
      await overlayFile(tree, path, source, p.sourceDateEpoch);
    }
    await utimes(tree, p.sourceDateEpoch, p.sourceDateEpoch);
    ctx.progress('mkfs.erofs (uncompressed)');
    const out = join(ctx.outDir, 'root.erofs');
    await runTool('mkfs.erofs', ['-T', String(p.sourceDateEpoch), '-U', p.uuid, out, tree], opts);
    const size = (await stat(out)).size;
    if (size % BLOCK !== 0) {
      const fh = await open(out, 'r+');
      try {
        await fh.truncate(size + BLOCK - (size % BLOCK));
      } finally {
        await fh.close();
      }
    }
  },
};

export type VerityParams = { readonly seed: string; readonly label: string };

/** A UUID string of 16 bytes of a hex root hash (DPS: partition UUIDs from the root hash). Pure. */
export function uuidOfHex(hex32: string): string {
  const h = hex32.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(h)) throw new NodeimgError('INTERNAL', `not 16 bytes of hex: ${hex32}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const verityStage: BuildStage<VerityParams> = {
  kind: 'verity',
  version: 1,
  tools: [],
  outputs: () => ['cmdline.txt', 'data-uuid.txt', 'hash-uuid.txt', 'root.verity', 'roothash.txt'],
  async run(ctx) {
    ctx.progress('dm-verity hash tree');
    const v = await writeVerityHashImage(ctx.inputs['data'] as string, join(ctx.outDir, 'root.verity'), {
      seed: ctx.params.seed,
      label: ctx.params.label,
    });
    if (v.rootHash.length !== 64) throw new NodeimgError('INTERNAL', `unexpected root hash ${v.rootHash}`);
    // Discoverable Partitions Specification: the data partition's UUID is the first 128 bits of the
    // root hash, the hash partition's the last 128 bits (what systemd-repart writes).
    await writeFile(join(ctx.outDir, 'data-uuid.txt'), `${uuidOfHex(v.rootHash.slice(0, 32))}\n`);
    await writeFile(join(ctx.outDir, 'hash-uuid.txt'), `${uuidOfHex(v.rootHash.slice(32))}\n`);
    await writeFile(join(ctx.outDir, 'roothash.txt'), `${v.rootHash}\n`);
    await writeFile(
      join(ctx.outDir, 'cmdline.txt'),
      `nodeimg.roothash=${v.rootHash} nodeimg.verity=${v.dataBlocks},${v.hashStartBlock},${v.salt === '' ? '-' : v.salt}\n`,
    );
  },
};
