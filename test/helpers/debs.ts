// Real Debian binaries for tests: downloads a package with `apt-get download` and unpacks it with
// `dpkg-deb -x` into a cache, once. Safe to call from several test files (and forks) at once: an
// mkdir lock serialises the work and the extraction appears under its final name atomically.
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LOCK_WAIT_MS = 200;
const LOCK_STALE_MS = 10 * 60 * 1000;

export interface DebPackage {
  /** The package asked for (e.g. the metapackage linux-image-amd64). */
  readonly requested: string;
  /** The package downloaded (e.g. linux-image-6.1.0-56-amd64). */
  readonly name: string;
  readonly version: string;
  /** Extraction root: files are at root + '/usr/…', root + '/boot/…'. */
  readonly root: string;
}

export function cacheDir(): string {
  return process.env['NODEIMG_TEST_CACHE'] ?? join(REPO, '.cache', 'debs');
}

/** Extraction root of a Debian package (downloaded and unpacked on first use). */
export async function debFiles(pkg: string): Promise<string> {
  return (await debPackage(pkg)).root;
}

/** Like debFiles, with the resolved package name and version. */
export async function debPackage(pkg: string): Promise<DebPackage> {
  const { name, version } = await resolve(pkg);
  const cache = cacheDir();
  await mkdir(cache, { recursive: true });
  const root = join(cache, `${name}-${version.replaceAll(':', '%3a')}`);
  const result: DebPackage = { requested: pkg, name, version, root };
  if (await exists(root)) return result;
  const lock = `${root}.lock`;
  while (!(await tryLock(lock))) {
    await new Promise((r) => setTimeout(r, LOCK_WAIT_MS));
    if (await exists(root)) return result;
  }
  try {
    if (!(await exists(root))) await downloadAndExtract(name, version, cache, root);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
  return result;
}

async function downloadAndExtract(name: string, version: string, cache: string, root: string): Promise<void> {
  const tmp = await mkdtemp(join(cache, `.tmp-${name}-`));
  try {
    const dl = await execa('apt-get', ['download', `${name}=${version}`], { cwd: tmp, reject: false, all: true });
    if (dl.exitCode !== 0) throw aptError(`apt-get download ${name}=${version}`, dl.all ?? '');
    const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${name} produced no .deb in ${tmp}`);
    await execa('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'root')]);
    await rename(join(tmp, 'root'), root);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Candidate name and version. linux-image-<flavour> metapackages ship no kernel: follow their
 * Depends to the real linux-image-<abi>-<flavour> package, which ships /boot/vmlinuz-*.
 */
async function resolve(pkg: string): Promise<{ name: string; version: string }> {
  const show = await execa('apt-cache', ['show', '--no-all-versions', pkg], { reject: false, all: true });
  const text = show.stdout ?? '';
  const version = /^Version: (\S+)$/m.exec(text)?.[1];
  if (show.exitCode !== 0 || !version) throw aptError(`apt-cache show ${pkg}`, show.all ?? '');
  const depends = /^Depends: (.*)$/m.exec(text)?.[1] ?? '';
  const kernel = /^linux-image-[a-z][a-z0-9-]*$/.test(pkg) ? /\b(linux-image-\d[\w.+-]*)/.exec(depends)?.[1] : undefined;
  if (kernel) return resolve(kernel);
  return { name: pkg, version };
}

function aptError(what: string, output: string): Error {
  const tail = output.trim().split('\n').slice(-5).join('\n');
  const lists = /Unable to locate|No packages found|has no installation candidate|Can't select|not found/i.test(output);
  const hint = lists ? 'The apt package lists look missing or stale: run scripts/setup (it runs apt-get update).' : 'Check network access to the Debian mirror, or run scripts/setup.';
  return new Error(`${what} failed:\n${tail}\n${hint}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function tryLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
    return true;
  } catch {
    // A lock left by a killed process is taken over after LOCK_STALE_MS.
    const st = await stat(lock).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
    return false;
  }
}
