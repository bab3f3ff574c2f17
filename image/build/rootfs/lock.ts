// The root file system's package lock: which Debian packages, at which exact version and sha256,
// with the archive's Priority and Section (reproducible-build spec §2 "Pinning"). The offline
// rebuild needs the overrides because dpkg-scanpackages only sees the control file, and the
// archive overrides some priorities (apt is "important" in its control file, "required" in the
// archive): without them a minbase build silently loses apt, adduser and others. Pure helpers:
// validation and the parsers of what apt prints while resolving.
import { NodeimgError } from '../../formats/errors.js';

export interface LockedDeb {
  readonly package: string;
  readonly version: string;
  /** "amd64" or "all". */
  readonly architecture: string;
  /** Of the .deb file, as the signed archive index gives it (hex). */
  readonly sha256: string;
  readonly size: number;
  /** Where the archive serves it (pool URL). */
  readonly url: string;
  /** Pool file name (the URL's last segment: no epoch). */
  readonly filename: string;
  /** The archive's Packages stanza fields (overrides), e.g. "required" / "admin". */
  readonly priority: string;
  readonly section: string;
}

/** Everything that decides the root file system, besides the packages' bytes. */
export interface RootfsLockSpec {
  /** Debian suite the lock was resolved from, e.g. "bookworm" (recorded; the offline build uses ""). */
  readonly suite: string;
  readonly architecture: string;
  /** mmdebstrap --variant (minbase, essential, apt, required, important, standard, ...). */
  readonly variant: string;
  /** mmdebstrap --include, in order. */
  readonly include: readonly string[];
  /** The image's /etc/apt/sources.list lines ("deb URL SUITE COMPONENTS"). */
  readonly mirrors: readonly string[];
}

export interface RootfsLock extends RootfsLockSpec {
  /** Sorted by package name. */
  readonly packages: readonly LockedDeb[];
}

export const DEFAULT_MIRRORS: readonly string[] = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
];

const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION_RE = /^(?:[0-9]+:)?[A-Za-z0-9.+~-]+$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const FIELD_RE = /^[a-z0-9/_+.-]+$/;
const MIRROR_RE = /^deb(?: \[[^\]'\n]*\])? [a-z][a-z0-9+.-]*:\/\/[^\s'"\\]+ [^\s'"\\]+(?: [a-z0-9/_-]+)+$/;
const VARIANTS = [
  'extract',
  'custom',
  'essential',
  'apt',
  'required',
  'minbase',
  'buildd',
  'important',
  'standard',
];

function bad(message: string): NodeimgError {
  return new NodeimgError('USAGE', `rootfs lock: ${message}`);
}

/** Throws USAGE naming the first option nodeimg will not pass to mmdebstrap or a shell. */
export function validateRootfsLockSpec<T extends RootfsLockSpec>(lock: T): T {
  if (!VARIANTS.includes(lock.variant))
    throw bad(`variant ${JSON.stringify(lock.variant)} is not one of ${VARIANTS.join(', ')}`);
  if (!/^[a-z0-9]+$/.test(lock.architecture)) throw bad(`architecture ${JSON.stringify(lock.architecture)}`);
  for (const p of lock.include)
    if (!PACKAGE_RE.test(p)) throw bad(`--include entry ${JSON.stringify(p)} is not a package name`);
  if (lock.mirrors.length === 0) throw bad('no mirror lines');
  for (const m of lock.mirrors)
    if (!MIRROR_RE.test(m)) throw bad(`mirror line ${JSON.stringify(m)} is not "deb URL SUITE COMPONENT..."`);
  return lock;
}

/** validateRootfsLockSpec, and every package entry well-formed and locked once. */
export function validateRootfsLock(lock: RootfsLock): RootfsLock {
  validateRootfsLockSpec(lock);
  if (lock.packages.length === 0) throw bad('no packages');
  const seen = new Set<string>();
  for (const d of lock.packages) {
    const what = `${d.package}=${d.version}`;
    if (!PACKAGE_RE.test(d.package) || !VERSION_RE.test(d.version))
      throw bad(`${JSON.stringify(what)} is not name=version`);
    if (d.architecture !== 'all' && d.architecture !== lock.architecture)
      throw bad(`${what} is for ${d.architecture}, the lock for ${lock.architecture}`);
    if (!SHA256_RE.test(d.sha256)) throw bad(`${what}: sha256 ${JSON.stringify(d.sha256)}`);
    if (!Number.isSafeInteger(d.size) || d.size <= 0) throw bad(`${what}: size ${d.size}`);
    if (!/^[A-Za-z0-9+.~_-]+\.deb$/.test(d.filename))
      throw bad(`${what}: file name ${JSON.stringify(d.filename)}`);
    if (!FIELD_RE.test(d.priority) || !FIELD_RE.test(d.section))
      throw bad(`${what}: priority/section ${d.priority}/${d.section}`);
    if (seen.has(d.package)) throw bad(`${d.package} is locked twice`);
    seen.add(d.package);
  }
  return lock;
}

/** A line of `apt-get download --print-uris`: 'URL' CACHE-NAME SIZE SHA256:HEX. */
export interface AptUri {
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
}

export function parsePrintUris(text: string): AptUri[] {
  const out: AptUri[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^'([^']+)' \S+ (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (!m)
      throw new NodeimgError('TOOL_FAILED', `unexpected apt-get --print-uris line: ${JSON.stringify(line)}`);
    out.push({ url: m[1] as string, size: Number(m[2]), sha256: m[3] as string });
  }
  return out;
}

/** Package, Version, Architecture, Priority, Section of every stanza of `apt-cache show`. */
export function parseStanzas(text: string): Map<string, { priority: string; section: string }> {
  const out = new Map<string, { priority: string; section: string }>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined =>
      new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const pkg = field('Package');
    const version = field('Version');
    if (pkg === undefined || version === undefined) continue;
    const key = `${pkg}=${version}`;
    if (!out.has(key))
      out.set(key, { priority: field('Priority') ?? 'optional', section: field('Section') ?? 'misc' });
  }
  return out;
}

/** Debian's file-name form of a version: the epoch is not part of pool file names. */
export function versionWithoutEpoch(version: string): string {
  return version.replace(/^[0-9]+:/, '');
}

/** /etc/apt/sources.list as mmdebstrap writes it for one-line mirror arguments (blank lines between). */
export function sourcesList(mirrors: readonly string[]): string {
  return mirrors.map((m) => `${m}\n`).join('\n');
}
