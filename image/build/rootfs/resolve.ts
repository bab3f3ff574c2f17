// Resolving a package set into a lock, online (reproducible-build spec §2 "Pinning"): one
// mmdebstrap run against the Debian archive with the recipe's variant and --include list and the
// same normalisation hooks as the offline build, output discarded (--format=null), which
//   - keeps the downloaded .debs (--skip=essential/unlink) and copies them out
//     (sync-out /var/cache/apt/archives) into the content-addressed store,
//   - records, in a customize hook before mmdebstrap's cleanup removes the apt lists, the installed
//     packages (dpkg-query), their pool URL, size and sha256 from the signed index
//     (`apt-get download --print-uris name=version` in the chroot) and their archive Priority and
//     Section (`apt-cache show name=version`).
// Every .deb kept must have the index's sha256 (the spec found all 96 of minbase did). Takes a
// minute or two (minbase: 96 packages, 38 MB).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';
import { storeDebFiles } from './debs.js';
import { requireRoot, withScratchDir } from './files.js';
import {
  DEFAULT_MIRRORS,
  parsePrintUris,
  parseStanzas,
  validateRootfsLock,
  validateRootfsLockSpec,
  versionWithoutEpoch,
  type LockedDeb,
  type RootfsLock,
  type RootfsLockSpec,
} from './lock.js';
import { mmdebstrapOptions } from './mmdebstrap.js';

export interface RootfsResolveSpec {
  /** Default "bookworm". */
  readonly suite?: string;
  /** Default "amd64". */
  readonly architecture?: string;
  /** Default "minbase". */
  readonly variant?: string;
  readonly include?: readonly string[];
  /** Default: bookworm, bookworm-updates, bookworm-security (deb.debian.org). */
  readonly mirrors?: readonly string[];
}

export interface ResolveOptions {
  /** The content-addressed store (debs.ts) that receives the downloaded .debs. */
  readonly debStore: string;
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
}

/** Run in the chroot's customize phase: $1 = chroot, $2 = output directory. */
const RECORD_HOOK = `#!/bin/sh
set -eu
root="$1"; out="$2"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='\${db:Status-Abbrev}\\t\${Package}\\t\${Version}\\t\${Architecture}\\n' \\
  | awk -F'\\t' '$1 ~ /^ii/ { print $2 "\\t" $3 "\\t" $4 }' > "$out/installed.tsv"
cut -f1,2 "$out/installed.tsv" | tr '\\t' '=' > "$out/wanted.txt"
chroot "$root" xargs apt-get download --print-uris < "$out/wanted.txt" > "$out/uris.txt"
chroot "$root" xargs apt-cache show < "$out/wanted.txt" > "$out/stanzas.txt"
`;

function lockEntries(installed: string, uris: string, stanzas: string): LockedDeb[] {
  const byName = new Map(
    parsePrintUris(uris).map((u) => [decodeURIComponent(basename(new URL(u.url).pathname)), u]),
  );
  const fields = parseStanzas(stanzas);
  const out: LockedDeb[] = [];
  for (const line of installed.split('\n')) {
    if (line === '') continue;
    const [pkg = '', version = '', architecture = ''] = line.split('\t');
    const filename = `${pkg}_${versionWithoutEpoch(version)}_${architecture}.deb`;
    const uri = byName.get(filename);
    const f = fields.get(`${pkg}=${version}`);
    if (uri === undefined || f === undefined)
      throw new NodeimgError(
        'TOOL_FAILED',
        `apt knows no pool file / index stanza for installed ${pkg}=${version} (${filename})`,
      );
    out.push({
      package: pkg,
      version,
      architecture,
      sha256: uri.sha256,
      size: uri.size,
      url: uri.url,
      filename,
      ...f,
    });
  }
  return out.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0));
}

/**
 * Resolves `spec` against the archive into a lock and fills the store with its .debs. Online;
 * runs mmdebstrap as root.
 */
export async function resolveRootfsLock(spec: RootfsResolveSpec, opts: ResolveOptions): Promise<RootfsLock> {
  const lockSpec: RootfsLockSpec = {
    suite: spec.suite ?? 'bookworm',
    architecture: spec.architecture ?? 'amd64',
    variant: spec.variant ?? 'minbase',
    include: [...(spec.include ?? [])],
    mirrors: [...(spec.mirrors ?? DEFAULT_MIRRORS)],
  };
  if (!/^[a-z0-9-]+$/.test(lockSpec.suite))
    throw new NodeimgError('USAGE', `suite ${JSON.stringify(lockSpec.suite)}`);
  validateRootfsLockSpec(lockSpec); // before the long run
  requireRoot('resolving the root file system (mmdebstrap --mode=root)');

  await mkdir(opts.debStore, { recursive: true });
  return withScratchDir(resolvePath(opts.debStore), 'resolve', async (dir) => {
    if (/[\s'"\\]/.test(dir))
      throw new NodeimgError('USAGE', `the deb store path ${dir} has spaces or quotes`);
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'debs'));
    await writeFile(join(dir, 'record.sh'), RECORD_HOOK);
    await runTool(
      'mmdebstrap',
      [
        ...mmdebstrapOptions(lockSpec, 'localhost'),
        '--format=null',
        '--skip=essential/unlink',
        `--customize-hook=sync-out /var/cache/apt/archives ${join(dir, 'debs')}`,
        `--customize-hook=sh ${join(dir, 'record.sh')} "$1" ${dir}`,
        lockSpec.suite,
        '/dev/null',
        ...lockSpec.mirrors,
      ],
      {
        sourceDateEpoch: opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH,
        timeoutMs: 60 * 60_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
    const read = (name: string): Promise<string> => readFile(join(dir, name), 'utf8');
    const packages = lockEntries(
      await read('installed.tsv'),
      await read('uris.txt'),
      await read('stanzas.txt'),
    );
    const filed = await storeDebFiles(join(dir, 'debs'), opts.debStore);
    const unmatched = packages.filter((d) => !filed.has(d.sha256));
    if (unmatched.length > 0)
      throw new NodeimgError(
        'CHECK_FAILED',
        `the .debs mmdebstrap downloaded do not have the index sha256 for: ${unmatched.map((d) => `${d.package}=${d.version}`).join(', ')}`,
      );
    return validateRootfsLock({ ...lockSpec, packages });
  });
}
