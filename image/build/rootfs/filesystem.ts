// The read-only root file system image made from the rootfs tarball (reproducible-build spec §3):
//
//   tar --xattrs --xattrs-include=* --numeric-owner --same-owner -xpf rootfs.tar -C TREE
//   mkfs.erofs [-zlz4hc] -T SDE -U UUID OUT TREE        (erofs-utils 1.5: no --tar yet)
//   mksquashfs TREE OUT -noappend -comp zstd ...        (SOURCE_DATE_EPOCH exported, no -mkfs-time)
//
// The tree is extracted as root with numeric owners, modes, xattrs (POSIX ACLs included) and hard
// links; erofs output does not depend on the extraction's inode numbers or readdir order (spec: the
// same image from trees on ext4 and tmpfs). The erofs UUID comes from the build seed (label
// "erofs-uuid:<label>") unless given: without -U mkfs.erofs picks a random one. squashfs-tools 4.5
// drops system.posix_acl_* xattrs ("Unrecognised xattr prefix"), so erofs is the default; both
// tools run through runTool with the pinned environment (SOURCE_DATE_EPOCH included).
import { dirname, resolve as resolvePath } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { seedUuid } from '../../formats/seed.js';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool, type RunToolOptions } from '../run-tool.js';
import { digestFile, requireRoot, withScratchDir, writeAtomically, type FileDigest } from './files.js';

export interface FilesystemInput {
  /** The rootfs tarball (buildRootfsTarball). */
  readonly tarball: string;
  readonly sourceDateEpoch?: number;
  /** Where the tree is extracted; default the output's directory (same disk, not tmpfs). */
  readonly workDir?: string;
  readonly signal?: AbortSignal;
}

export interface ErofsInput extends FilesystemInput {
  /** Build seed (a UUID); the file-system UUID derives from it unless `uuid` is given. */
  readonly seed?: string;
  /** Default "root". */
  readonly label?: string;
  readonly uuid?: string;
  /** Default lz4hc (what the spec measured: 181 MiB for minbase+systemd+kernel in 9-11 s). */
  readonly compression?: 'lz4hc' | 'lz4' | 'none';
}

export interface SquashfsInput extends FilesystemInput {
  /** Default zstd. */
  readonly compression?: 'zstd' | 'xz' | 'gzip' | 'lz4';
}

export interface FilesystemImage extends FileDigest {
  readonly type: 'erofs' | 'squashfs';
  /** erofs: the superblock UUID. */
  readonly uuid?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toolOptions(input: FilesystemInput): RunToolOptions {
  return {
    sourceDateEpoch: input.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH,
    timeoutMs: 60 * 60_000,
    ...(input.signal ? { signal: input.signal } : {}),
  };
}

/** Extracts the tarball into a scratch tree next to `out`, runs `body`, removes the tree. */
async function withTree<T>(
  input: FilesystemInput,
  out: string,
  body: (tree: string) => Promise<T>,
): Promise<T> {
  requireRoot('extracting the root file system tree');
  return withScratchDir(input.workDir ?? dirname(resolvePath(out)), 'rootfs-tree', async (tree) => {
    await runTool(
      'tar',
      [
        '--xattrs',
        '--xattrs-include=*',
        '--numeric-owner',
        '--same-owner',
        '-xpf',
        resolvePath(input.tarball),
        '-C',
        tree,
      ],
      toolOptions(input),
    );
    return body(tree);
  });
}

/** The erofs image of the tarball at `out` (see the file comment). */
export async function buildErofsImage(input: ErofsInput, out: string): Promise<FilesystemImage> {
  const uuid = (
    input.uuid ??
    (input.seed === undefined ? undefined : seedUuid(input.seed, `erofs-uuid:${input.label ?? 'root'}`))
  )?.toLowerCase();
  if (uuid === undefined)
    throw new NodeimgError('USAGE', 'the erofs image needs a seed or a UUID', {
      hint: 'mkfs.erofs would pick a random UUID, which is not reproducible',
    });
  if (!UUID_RE.test(uuid)) throw new NodeimgError('USAGE', `not a UUID: ${JSON.stringify(uuid)}`);
  const compression = input.compression ?? 'lz4hc';
  const epoch = input.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  return withTree(input, out, (tree) =>
    writeAtomically(out, async (tmp) => {
      await runTool(
        'mkfs.erofs',
        [...(compression === 'none' ? [] : [`-z${compression}`]), '-T', String(epoch), '-U', uuid, tmp, tree],
        toolOptions(input),
      );
      return { ...(await digestFile(tmp)), path: out, type: 'erofs' as const, uuid };
    }),
  );
}

/** The squashfs image of the tarball at `out` (drops POSIX ACL xattrs: see the file comment). */
export async function buildSquashfsImage(input: SquashfsInput, out: string): Promise<FilesystemImage> {
  const compression = input.compression ?? 'zstd';
  return withTree(input, out, (tree) =>
    writeAtomically(out, async (tmp) => {
      await runTool(
        'mksquashfs',
        [tree, tmp, '-noappend', '-no-progress', '-quiet', '-comp', compression],
        toolOptions(input),
      );
      return { ...(await digestFile(tmp)), path: out, type: 'squashfs' as const };
    }),
  );
}
