// The root file system tarball, built offline by mmdebstrap from the locked .deb files exactly as
// reproducible-build spec §2 describes (bit-identical to the online build of the same lock):
//
//   SOURCE_DATE_EPOCH=<sde> mmdebstrap --mode=root --format=tar --variant=V --architectures=A
//     --include=P1,P2 --customize-hook=<normalisation, below> "" OUT "deb [trusted=yes] copy://REPO ./"
//
// - the flat repo (repo.ts) carries the archive's Priority/Section overrides; the suite is ""
//   because mmdebstrap picks the Essential set with ?archive(^SUITE$), which a flat repo without a
//   Release file cannot match;
// - mode root (nodeimg builds as root): same tarball as unshare/fakechroot, fastest (spec §2);
// - SOURCE_DATE_EPOCH (runTool's pinned environment) makes mmdebstrap clamp every mtime, write
//   /etc/shadow's last-change days from it, empty /etc/machine-id and delete the logs, caches,
//   apt lists and ldconfig's aux-cache (mmdebstrap(1) "cleanup"); nodeimg does not repeat that.
//
// Normalisation nodeimg adds (customize hooks), each because the spec found it necessary:
// - rm /etc/resolv.conf: mmdebstrap copies the build host's file (host-dependent bytes);
// - /etc/hostname := the recipe's host name: mmdebstrap copies the build host's;
// - /etc/apt/sources.list := the canonical mirror lines, written the way mmdebstrap writes them
//   for an online build (one line each, blank lines between): the offline build's file would name
//   the temporary copy:// repository.
// audit.ts then checks the tarball for all of the above.
import { dirname, resolve as resolvePath } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';
import { auditRootfsTar, type RootfsAudit } from './audit.js';
import { digestFile, requireRoot, withScratchDir, writeAtomically, type FileDigest } from './files.js';
import { sourcesList, validateRootfsLock, type RootfsLock, type RootfsLockSpec } from './lock.js';
import { writeFlatRepo } from './repo.js';

export interface RootfsBuildInput {
  readonly lock: RootfsLock;
  /** Content-addressed .deb store (debs.ts) holding every locked package. */
  readonly debStore: string;
  /** Default 1700000000. */
  readonly sourceDateEpoch?: number;
  /** /etc/hostname; default "localhost". */
  readonly hostname?: string;
  /** Where the flat repository is made; default the output's directory. */
  readonly workDir?: string;
  readonly signal?: AbortSignal;
}

export interface RootfsTarball extends FileDigest {
  readonly audit: RootfsAudit;
}

const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$/;

/** The customize hooks of the file comment (shell commands; $1 is the chroot). */
export function normalisationHooks(spec: Pick<RootfsLockSpec, 'mirrors'>, hostname: string): string[] {
  if (!HOSTNAME_RE.test(hostname))
    throw new NodeimgError('USAGE', `${JSON.stringify(hostname)} is not a host name`);
  // validateRootfsLock keeps quotes and backslashes out of mirror lines, so single quotes are safe
  return [
    'rm -f "$1/etc/resolv.conf"',
    `printf '%s\\n' '${hostname}' > "$1/etc/hostname"`,
    `printf '%s' '${sourcesList(spec.mirrors)}' > "$1/etc/apt/sources.list"`,
  ];
}

/** The mmdebstrap options of a lock (the same online, when resolving, and offline). */
export function mmdebstrapOptions(spec: RootfsLockSpec, hostname: string): string[] {
  return [
    '--mode=root',
    `--variant=${spec.variant}`,
    `--architectures=${spec.architecture}`,
    ...(spec.include.length > 0 ? [`--include=${spec.include.join(',')}`] : []),
    ...normalisationHooks(spec, hostname).map((h) => `--customize-hook=${h}`),
  ];
}

/**
 * Builds the root file system tarball of `input.lock` at `out`, offline, then audits it
 * (audit.ts; CHECK_FAILED if it is not normalised or does not hold exactly the locked packages).
 */
export async function buildRootfsTarball(input: RootfsBuildInput, out: string): Promise<RootfsTarball> {
  const lock = validateRootfsLock(input.lock);
  requireRoot('building the root file system (mmdebstrap --mode=root)');
  const epoch = input.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  const hostname = input.hostname ?? 'localhost';
  const options = mmdebstrapOptions(lock, hostname);
  return withScratchDir(input.workDir ?? dirname(resolvePath(out)), 'rootfs-repo', async (repo) => {
    await writeFlatRepo(lock, input.debStore, repo);
    return writeAtomically(out, async (tmp) => {
      await runTool(
        'mmdebstrap',
        [...options, '--format=tar', '', tmp, `deb [trusted=yes] copy://${resolvePath(repo)} ./`],
        {
          sourceDateEpoch: epoch,
          timeoutMs: 60 * 60_000,
          ...(input.signal ? { signal: input.signal } : {}),
        },
      );
      const audit = await auditRootfsTar(tmp, { lock, sourceDateEpoch: epoch, hostname });
      if (audit.problems.length > 0)
        throw new NodeimgError(
          'CHECK_FAILED',
          `the rootfs tarball is not what the lock describes:\n  ${audit.problems.slice(0, 20).join('\n  ')}`,
        );
      return { ...(await digestFile(tmp)), path: out, audit };
    });
  });
}
