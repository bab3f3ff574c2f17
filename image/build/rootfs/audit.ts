// Checks a root file system tarball for what makes it reproducible and what the lock promises,
// reading it once as a stream (tar-stream; only five small files are kept in memory):
//
// - no member newer than SOURCE_DATE_EPOCH (mmdebstrap clamps mtimes to it);
// - none of the host- or time-dependent files the spec lists (§2): /etc/resolv.conf, dpkg/apt
//   logs, ldconfig's aux-cache, D-Bus machine-id, apt lists and caches, downloaded .debs;
// - /etc/machine-id empty (systemd makes one on first boot), /etc/hostname as asked,
//   /etc/apt/sources.list the canonical mirror lines and nothing in sources.list.d;
// - /etc/shadow's last-change field (days since 1970) the SOURCE_DATE_EPOCH day, not the build day;
// - var/lib/dpkg/status lists exactly the locked packages at the locked versions.
//
// Returns the problems found; buildRootfsTarball fails the stage when there is one.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { sourcesList, type RootfsLock } from './lock.js';

export interface RootfsAudit {
  readonly members: number;
  /** Installed packages found in var/lib/dpkg/status. */
  readonly packages: number;
  readonly problems: readonly string[];
}

export interface AuditExpectations {
  readonly lock: RootfsLock;
  readonly sourceDateEpoch: number;
  readonly hostname: string;
}

const KEEP = new Set([
  'etc/hostname',
  'etc/machine-id',
  'etc/shadow',
  'etc/apt/sources.list',
  'var/lib/dpkg/status',
]);
const FORBIDDEN: readonly [RegExp, string][] = [
  [/^etc\/resolv\.conf$/, 'copied from the build host'],
  [/^var\/log\/(dpkg\.log|alternatives\.log|apt\/(history\.log|term\.log|eipp\.log\.xz))$/, 'a build log'],
  [/^var\/cache\/ldconfig\/aux-cache$/, 'ldconfig cache with inode data'],
  [/^var\/lib\/dbus\/machine-id$/, 'a machine id'],
  [/^var\/lib\/apt\/lists\/(?!lock$|partial\/?$|auxfiles\/?$).+/, 'apt package lists of the build'],
  [/^var\/cache\/apt\/[^/]+\.bin$/, 'apt cache'],
  [/^var\/cache\/apt\/archives\/[^/]+\.deb$/, 'a downloaded package'],
  [/^etc\/apt\/sources\.list\.d\/.+/, 'an extra apt source'],
];

/** Installed packages of a dpkg status file: name -> "version arch". */
function installed(status: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const stanza of status.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined =>
      new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const pkg = field('Package');
    if (pkg === undefined || field('Status') !== 'install ok installed') continue;
    out.set(pkg, `${field('Version') ?? '?'} ${field('Architecture') ?? '?'}`);
  }
  return out;
}

function checkPackages(status: string | undefined, lock: RootfsLock, problems: string[]): number {
  if (status === undefined) {
    problems.push('var/lib/dpkg/status is missing');
    return 0;
  }
  const have = installed(status);
  const want = new Map(lock.packages.map((d) => [d.package, `${d.version} ${d.architecture}`]));
  for (const [pkg, v] of want) {
    const got = have.get(pkg);
    if (got === undefined) problems.push(`locked package ${pkg} ${v} is not installed`);
    else if (got !== v) problems.push(`${pkg} is installed as ${got}, locked as ${v}`);
  }
  for (const [pkg, v] of have) if (!want.has(pkg)) problems.push(`${pkg} ${v} is installed but not locked`);
  return have.size;
}

function checkShadow(shadow: string | undefined, day: number, problems: string[]): void {
  for (const line of (shadow ?? '').split('\n')) {
    if (line === '') continue;
    const lastChange = line.split(':')[2] ?? '';
    if (lastChange !== '' && lastChange !== String(day))
      problems.push(
        `/etc/shadow: ${line.split(':')[0]} last changed on day ${lastChange}, not ${day} (SOURCE_DATE_EPOCH)`,
      );
  }
}

/** Audits the tarball at `path` (see the file comment). */
export async function auditRootfsTar(path: string, want: AuditExpectations): Promise<RootfsAudit> {
  const problems: string[] = [];
  const kept = new Map<string, string>();
  let members = 0;
  const ex = extract();
  ex.on('entry', (header: Header, stream, next) => {
    members++;
    const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
    const mtime = header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0;
    if (mtime > want.sourceDateEpoch)
      problems.push(`${name}: mtime ${mtime} is after SOURCE_DATE_EPOCH ${want.sourceDateEpoch}`);
    for (const [re, why] of FORBIDDEN) if (re.test(name)) problems.push(`${name} is in the image (${why})`);
    const chunks: Buffer[] = [];
    if (KEEP.has(name)) stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (KEEP.has(name)) kept.set(name, Buffer.concat(chunks).toString('utf8'));
      next();
    });
    stream.resume();
  });
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), ex);
  const hostname = kept.get('etc/hostname');
  if (hostname !== `${want.hostname}\n`)
    problems.push(
      `/etc/hostname is ${JSON.stringify(hostname)}, not ${JSON.stringify(`${want.hostname}\n`)}`,
    );
  const machineId = kept.get('etc/machine-id');
  if (machineId !== undefined && machineId !== '') problems.push('/etc/machine-id is not empty');
  const sources = kept.get('etc/apt/sources.list');
  if (sources !== sourcesList(want.lock.mirrors))
    problems.push(`/etc/apt/sources.list is ${JSON.stringify(sources)}`);
  checkShadow(kept.get('etc/shadow'), Math.floor(want.sourceDateEpoch / 86400), problems);
  const packages = checkPackages(kept.get('var/lib/dpkg/status'), want.lock, problems);
  return { members, packages, problems };
}
