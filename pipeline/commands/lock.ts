// `nodeimg lock <recipe> [-o FILE] [--check]`: pins every package of a recipe to the exact .deb
// (name, version, architecture, sha256, size, archive path and URL, Section, Priority) from the
// host's apt indexes, which must be those of the recipe's suite; --check only verifies, offline,
// that an existing lock still pins exactly the recipe's package set.
import { basename, join, resolve } from 'node:path';
import type { Command } from '../command.js';
import { NodeimgError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../render.js';
import { aptCodenames, resolvePackage, type LockedPackage } from '../../image/build/stages/apt.js';
import { assertLockMatches, loadLock, LOCK_FILE, makeLock, writeLock, type Lock } from '../build/lock.js';
import { loadRecipe } from '../build/recipe.js';
import { getRootfsLocker } from '../build/registry.js';
import '../build/rootfs-locker.js'; // registers the root file system locker (registry.ts)

const USAGE = 'nodeimg lock <recipe.json | recipe folder> [-o FILE] [--check]';

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
  --check           do not resolve anything: check that the existing lock pins exactly the
                    recipe's packages (exit 1 naming the packages that differ); no network

Packages are resolved through the host's apt indexes (apt-cache show, apt-get download
--print-uris), which must include the recipe's suite; run apt-get update first for the newest
versions. linux-image-<flavour> resolves to the linux-image-<abi>-<flavour> package holding the
kernel. The lock is canonical JSON (pipeline/schema/lock.schema.json); nodeimg build refuses a lock
that does not match its recipe and checks every .deb against it.`,
  options: {
    out: { type: 'string', short: 'o' },
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
    const locker = r.rootfs ? getRootfsLocker() : undefined;
    if (r.rootfs && !locker)
      throw new NodeimgError(
        'PARSE_UNSUPPORTED',
        `${basename(loaded.file)}: /rootfs: locking a root file system's packages is not available yet in this nodeimg`,
      );
    const codenames = await aptCodenames(r.distribution.architecture);
    if (!codenames.includes(r.distribution.suite))
      throw new NodeimgError(
        'USAGE',
        `the host's apt indexes are for ${codenames.join(', ') || 'nothing'} (${r.distribution.architecture}), not ${r.distribution.suite}`,
        {
          hint: `lock on a ${r.distribution.suite} host, or add ${r.distribution.suite}'s sources and run apt-get update`,
        },
      );
    const resolved: LockedPackage[] = [];
    for (const spec of r.packages) resolved.push(await resolvePackage(spec));
    if (r.rootfs && locker) {
      const have = new Set(resolved.map((p) => p.name));
      for (const p of await locker(r, r.rootfs)) if (!have.has(p.name)) resolved.push(p);
    }
    const lock = makeLock(r, resolved);
    const before = await loadLock(out).then(
      (l) => l.lock,
      () => undefined,
    );
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
