// `nodeimg lock <recipe> [-o FILE] [--source LINE]... [--keyring FILE] [--cache DIR] [--check]`:
// pins every package of a recipe to the exact .deb (name, version, architecture, sha256, size,
// archive path and URL, Section, Priority) and records where it came from: the signed InRelease
// that vouched for it (issue 12; pipeline/build/lock-resolve.ts). --host-apt resolves through the
// host's apt indexes instead (no provenance); --check only verifies, offline, that an existing lock
// still pins exactly the recipe's package set.
import { join, resolve } from 'node:path';
import type { Command } from '../command.js';
import { NodeimgError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../render.js';
import type { LockedPackage } from '../../image/build/stages/apt.js';
import { systemClock } from '../adapters/system-clock.js';
import { defaultCacheDir, StageCache } from '../build/cache.js';
import { assertLockMatches, loadLock, LOCK_FILE, makeLock, writeLock, type Lock } from '../build/lock.js';
import { loadRecipe } from '../build/recipe.js';

const USAGE =
  'nodeimg lock <recipe.json | recipe folder> [-o FILE] [--source LINE]... [--keyring FILE] [--cache DIR] [--host-apt] [--check]';

function changes(before: Lock | undefined, after: Lock): string[] {
  if (!before) return [];
  const old = new Map(before.packages.map((p) => [p.requested ?? p.name, p]));
  const out: string[] = [];
  for (const p of after.packages) {
    const k = p.requested ?? p.name;
    const o = old.get(k);
    if (!o) out.push(`+ ${k}: ${p.name} ${p.version}`);
    else if (o.name !== p.name || o.version !== p.version || o.sha256 !== p.sha256)
      out.push(`~ ${k}: ${o.name} ${o.version} -> ${p.name} ${p.version}`);
    old.delete(k);
  }
  for (const k of old.keys()) out.push(`- ${k}`);
  return out;
}

export const lockCommand: Command = {
  name: 'lock',
  summary:
    "Pin every package of a build recipe to an exact .deb (version, sha256, URL) in the recipe's lock file.",
  usage: USAGE,
  help: `arguments:
  <recipe>          a recipe file (pipeline/schema/recipe.schema.json) or a folder holding recipe.json

options:
  -o, --out FILE    the lock file (default: ${LOCK_FILE} next to the recipe)
  --source LINE     an apt source "deb URL SUITE COMPONENT..." to resolve from; repeat for several
                    (default: the existing lock's sources, else deb.debian.org's SUITE, SUITE-updates
                    and debian-security's SUITE-security, main)
  --keyring FILE    the OpenPGP keyring that must have signed each InRelease
                    (default: /usr/share/keyrings/debian-archive-keyring.gpg)
  --cache DIR       the build cache: locked .debs go to DIR/debs, InRelease and Packages indexes to
                    DIR/apt-meta (default: $NODEIMG_CACHE, $XDG_CACHE_HOME/nodeimg, ~/.cache/nodeimg)
  --host-apt        resolve through the host's apt indexes (apt-cache) instead: no download and no
                    provenance in the lock (nodeimg release then archives no packages)
  --check           do not resolve anything: check that the existing lock pins exactly the
                    recipe's packages (exit 1 naming the packages that differ); no network

Each source's InRelease is fetched and its signature checked with gpgv against the keyring, its
Valid-Until honoured; the Packages indexes are checked against the Release's SHA256 lines, and
every locked .deb is downloaded and checked against its signed Packages entry. Each lock entry
records that InRelease (suite, sha256, Date). A chain that does not verify refuses the lock with
its own code (exit 1): PROVENANCE_SIGNATURE, PROVENANCE_EXPIRED, PROVENANCE_INDEX_MISMATCH,
PROVENANCE_DEB_MISMATCH, ... and nothing is written. linux-image-<flavour> resolves to the
linux-image-<abi>-<flavour> package holding the kernel. The lock is canonical JSON
(pipeline/schema/lock.schema.json); nodeimg build refuses a lock that does not match its recipe and
checks every .deb against it.`,
  options: {
    out: { type: 'string', short: 'o' },
    source: { type: 'string', multiple: true },
    keyring: { type: 'string' },
    cache: { type: 'string' },
    'host-apt': { type: 'boolean' },
    check: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const arg = args.positionals[0] as string;
    const loaded = await loadRecipe(arg, io.cwd);
    const r = loaded.recipe;
    const out =
      typeof args.values['out'] === 'string'
        ? resolve(io.cwd, args.values['out'])
        : join(loaded.dir, LOCK_FILE);
    if (args.values['check'] === true) {
      const lock = await loadLock(out);
      assertLockMatches(r, lock, arg);
      io.stdout.write(
        `${out}: pins every package of ${r.name} (${lock.lock.packages.length} packages), sha256 ${lock.sha256}\n`,
      );
      return EXIT.ok;
    }
    if ((r.rootfs?.packages ?? []).some((p) => p.includes('=')))
      throw new NodeimgError('USAGE', '/rootfs/packages: a root file system package cannot pin a version', {
        hint: 'name the package only; the lock pins the version the archive has',
      });
    const before = await loadLock(out).then(
      (l) => l.lock,
      () => undefined,
    );
    const hostApt = args.values['host-apt'] === true;
    const given = (args.values['source'] as string[] | undefined) ?? [];
    if (hostApt && (given.length > 0 || args.values['keyring'] !== undefined))
      throw new NodeimgError('USAGE', '--host-apt takes neither --source nor --keyring');
    const { resolveAuthenticated, resolveHostApt, defaultSources, DEBIAN_KEYRING } =
      await import('../build/lock-resolve.js');
    let resolved: LockedPackage[];
    let sources: string[] | undefined;
    const cacheArg = args.values['cache'];
    const cache = new StageCache(
      typeof cacheArg === 'string' ? resolve(io.cwd, cacheArg) : defaultCacheDir(io.env, io.cwd),
    );
    await cache.init();
    if (hostApt) resolved = await resolveHostApt(r, cache.debsDir);
    else {
      sources = given.length > 0 ? given : [...(before?.sources ?? defaultSources(r.distribution.suite))];
      const keyring = args.values['keyring'];
      resolved = await resolveAuthenticated(r, {
        sources,
        keyring: typeof keyring === 'string' ? keyring : DEBIAN_KEYRING,
        cwd: io.cwd,
        debsDir: cache.debsDir,
        metaDir: cache.metaDir,
        clock: systemClock,
        progress: (line) => io.stderr.write(`${line}\n`),
      });
    }
    const lock = makeLock(r, resolved, sources);
    const sha = await writeLock(out, lock);
    io.stdout.write(
      `${table(
        ['package', 'locked as', 'version', 'size', 'sha256'],
        lock.packages.map((p) => [
          p.requested ?? '',
          p.name,
          p.version,
          String(p.size),
          `${p.sha256.slice(0, 16)}…`,
        ]),
      )}\n`,
    );
    const diff = changes(before, lock);
    io.stdout.write(
      `wrote ${out} (sha256 ${sha})${before ? (diff.length ? `; changes:\n  ${diff.join('\n  ')}` : '; unchanged') : ''}\n`,
    );
    return EXIT.ok;
  },
};
