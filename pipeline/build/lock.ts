// The lock file (pipeline/schema/lock.schema.json): every package of a recipe pinned to the exact
// .deb (name, version, architecture, sha256, size, archive path, URL, Section, Priority) by
// `nodeimg lock`. `nodeimg build` uses only locked files and refuses a lock whose package set is not
// the recipe's, naming the packages that differ. The lock digest is the sha256 of the file.
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckFailedError, NodeimgError } from '../errors.js';
import type { LockedPackage } from '../../image/build/stages/apt.js';
import { canonicalJson, type CanonicalValue } from './canonical.js';
import { packageName, type Recipe } from './recipe.js';
import { assertSchema } from './schema-errors.js';

export const LOCK_SCHEMA_ID = 'https://nodeimg.dev/schema/lock/v1.json';
export const LOCK_FILE = 'nodeimg.lock.json';
const MAX_LOCK = 16 * 1024 * 1024;

export interface Lock {
  readonly lock: 1;
  readonly distribution: { readonly name: 'debian'; readonly suite: string; readonly architecture: string };
  /** The apt sources the lock was authenticated from (issue 12); absent for host-apt locks. */
  readonly sources?: readonly string[];
  readonly packages: readonly LockedPackage[];
}

export interface LoadedLock {
  readonly lock: Lock;
  readonly file: string;
  readonly sha256: string;
}

/** The lock document for resolved packages, sorted by name. Pure. */
export function makeLock(
  recipe: Recipe,
  packages: readonly LockedPackage[],
  sources?: readonly string[],
): Lock {
  return {
    lock: 1,
    distribution: { ...recipe.distribution },
    ...(sources === undefined ? {} : { sources: [...sources] }),
    packages: [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** Its canonical text (what is written and hashed). Pure. */
export function lockText(lock: Lock): string {
  return canonicalJson(lock as unknown as CanonicalValue);
}

/** Why `lock` is not the lock of `recipe`'s package set: one line per difference. Pure. */
export function lockDifferences(recipe: Recipe, lock: Lock): string[] {
  const out: string[] = [];
  const d = recipe.distribution;
  const ld = lock.distribution;
  if (d.name !== ld.name || d.suite !== ld.suite || d.architecture !== ld.architecture)
    out.push(
      `distribution: the recipe builds ${d.name} ${d.suite} ${d.architecture}, the lock pins ${ld.name} ${ld.suite} ${ld.architecture}`,
    );
  const byRequest = new Map<string, LockedPackage>();
  for (const p of lock.packages) {
    if (p.requested === undefined) continue;
    if (byRequest.has(p.requested)) out.push(`${p.requested}: locked twice`);
    byRequest.set(p.requested, p);
  }
  const wanted = new Set<string>();
  for (const spec of [...recipe.packages, ...(recipe.rootfs?.packages ?? [])]) {
    const name = packageName(spec);
    wanted.add(name);
    const locked = byRequest.get(name);
    if (locked === undefined) {
      out.push(`${spec}: in the recipe but not locked`);
      continue;
    }
    const pinned = spec.includes('=') ? spec.slice(name.length + 1) : undefined;
    if (pinned !== undefined && locked.version !== pinned)
      out.push(`${name}: the recipe pins ${pinned}, the lock has ${locked.version}`);
    if (locked.architecture !== 'all' && locked.architecture !== d.architecture)
      out.push(`${name}: locked for ${locked.architecture}, the recipe builds ${d.architecture}`);
  }
  for (const requested of [...byRequest.keys()].sort())
    if (!wanted.has(requested)) out.push(`${requested}: locked but no longer in the recipe`);
  return out;
}

/** Throws CHECK_FAILED listing the differences, if any. */
export function assertLockMatches(recipe: Recipe, loaded: LoadedLock, recipeArg: string): void {
  const diff = lockDifferences(recipe, loaded.lock);
  if (diff.length === 0) return;
  throw new CheckFailedError(
    `${basename(loaded.file)} is not the lock of this recipe's package set:\n  ${diff.join('\n  ')}`,
    { hint: `run \`nodeimg lock ${recipeArg}\` to pin the recipe's packages again, and review the change` },
  );
}

export async function loadLock(file: string): Promise<LoadedLock> {
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new NodeimgError(
      err.code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED',
      `cannot read the lock ${file}: ${err.message}`,
      { cause: err, ...(err.code === 'ENOENT' ? { hint: 'make it with `nodeimg lock <recipe>`' } : {}) },
    );
  });
  if (bytes.length > MAX_LOCK)
    throw new NodeimgError('PARSE_LIMIT', `${file} is larger than ${MAX_LOCK} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new NodeimgError('PARSE_INVALID', `${basename(file)} is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  assertSchema(`lock ${basename(file)}`, LOCK_SCHEMA_ID, doc);
  return { lock: doc as Lock, file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes the lock atomically (a temporary name in the same folder, then rename). */
export async function writeLock(file: string, lock: Lock): Promise<string> {
  const text = lockText(lock);
  const tmp = join(dirname(file), `.${basename(file)}.partial`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new NodeimgError('IO_FAILED', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  return createHash('sha256').update(text).digest('hex');
}
