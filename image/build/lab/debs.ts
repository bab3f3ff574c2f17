// Debian packages as plain folders: `apt-get download` + `dpkg-deb -x` into a cache, so the lab can
// use a kernel or systemd-boot without installing them on the host. Idempotent and safe when
// several processes ask for the same package at once: each works in its own temporary folder and
// publishes it with one atomic rename under an mkdir lock.
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { runTool } from '../run-tool.js';
import { debCacheDir } from './paths.js';

const LOCK_STALE_MS = 10 * 60 * 1000;

export interface DebRoot {
  /** The real package (linux-image-amd64 resolves to linux-image-<abi>-amd64). */
  readonly package: string;
  readonly version: string;
  /** Where its data.tar was extracted: files are at join(root, 'usr/lib/...'). */
  readonly root: string;
}

export interface DebOptions {
  /** Default: debCacheDir() ($NODEIMG_CACHE/debs or <repo>/.cache/debs). */
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
}

export interface AptStanza {
  readonly package: string;
  readonly version: string;
  readonly depends: readonly string[];
}

/** Parses the first stanza of `apt-cache show --no-all-versions`. Pure. */
export function parseAptShow(text: string): AptStanza | undefined {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}: (.*)$`, 'm').exec(text.split(/\n\n/)[0] ?? '')?.[1]?.trim();
  const pkg = field('Package');
  const version = field('Version');
  if (pkg === undefined || version === undefined) return undefined;
  const depends = (field('Depends') ?? '')
    .split(',')
    .map((d) => d.trim().split(/[\s(|]/)[0] ?? '')
    .filter((d) => d !== '');
  return { package: pkg, version, depends };
}

/**
 * The package that really holds the files: linux-image-<flavour> metapackages (no version digits
 * in the name) resolve to the linux-image-<abi>-<flavour> package they depend on. Pure.
 */
export function realPackage(stanza: AptStanza): string | undefined {
  const meta = /^linux-image-([a-z][a-z0-9-]*)$/.exec(stanza.package);
  if (meta === null) return undefined;
  const flavour = meta[1] ?? '';
  return stanza.depends.find((d) => new RegExp(`^linux-image-\\d[^ ]*-${flavour}$`).test(d));
}

async function candidate(pkg: string, signal?: AbortSignal): Promise<AptStanza> {
  const hint =
    'the apt package lists may be missing or stale: run scripts/setup (it runs apt-get update when they are empty)';
  const { stdout } = await runTool(
    'apt-cache',
    ['show', '--no-all-versions', pkg],
    signal ? { signal } : {},
  ).catch((err: unknown) => {
    // apt-cache exits 100 for an unknown package
    throw new NodeimgError('IO_NOT_FOUND', `apt-cache knows no package ${pkg}; ${hint}`, { cause: err });
  });
  const stanza = parseAptShow(stdout);
  if (stanza === undefined)
    throw new NodeimgError('IO_NOT_FOUND', `apt-cache knows no package ${pkg}; ${hint}`);
  const real = realPackage(stanza);
  return real === undefined ? stanza : candidate(real, signal);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** mkdir lock shared with test/helpers/debs.ts; one left by a killed process is taken over when stale. */
async function tryLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
    return true;
  } catch {
    const st = await stat(lock).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
    return false;
  }
}

async function downloadAndExtract(
  name: string,
  version: string,
  cache: string,
  root: string,
  signal?: AbortSignal,
) {
  const tmp = await mkdtemp(join(cache, `.tmp-${name}-`));
  try {
    await chmod(tmp, 0o755); // apt-get download drops privileges to _apt when it can
    await runTool('apt-get', ['download', '-q', `${name}=${version}`], {
      cwd: tmp,
      timeoutMs: 600_000,
      ...(signal ? { signal } : {}),
    });
    const file = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (file === undefined)
      throw new NodeimgError('IO_FAILED', `apt-get download ${name}=${version} wrote no .deb`);
    await runTool('dpkg-deb', ['-x', join(tmp, file), join(tmp, 'root')], { timeoutMs: 600_000 });
    await rename(join(tmp, 'root'), root).catch(async (err: NodeJS.ErrnoException) => {
      if ((err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') || !(await exists(root))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Downloads and extracts `pkg` (the candidate version) once; later calls, also from other processes,
 * return the cached copy. The tree appears under its final name by one atomic rename, under an
 * mkdir lock (<root>.lock), so it is complete whenever it exists.
 */
export async function debRoot(pkg: string, opts: DebOptions = {}): Promise<DebRoot> {
  const cache = opts.cacheDir ?? debCacheDir();
  const { package: name, version } = await candidate(pkg, opts.signal);
  // same layout as test/helpers/debs.ts, so both share one extraction
  const root = join(cache, `${name}-${version.replace(/:/g, '%3a')}`);
  const result: DebRoot = { package: name, version, root };
  if (await exists(root)) return result;
  await mkdir(cache, { recursive: true });
  const lock = `${root}.lock`;
  while (!(await tryLock(lock))) {
    await new Promise((r) => setTimeout(r, 200));
    opts.signal?.throwIfAborted();
    if (await exists(root)) return result;
  }
  try {
    if (!(await exists(root))) await downloadAndExtract(name, version, cache, root, opts.signal);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
  return result;
}
