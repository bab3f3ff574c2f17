// `nodeimg build` as a function: recipe -> lock check -> stage graph -> tools check -> engine ->
// manifest -> output folder. The CLI (pipeline/commands/build.ts), the tests and bench/build.mjs
// call this; the task list (tasks.ts) only listens to its events.
import { join, resolve } from 'node:path';
import { NodeimgError } from '../errors.js';
import { defaultCacheDir, StageCache } from './cache.js';
import { Engine, type EngineEvents, type StageOutcome } from './engine.js';
import { contextError } from './errors.js';
import { assertLockMatches, loadLock, LOCK_FILE } from './lock.js';
import { makeManifest, manifestText, type BuildManifest } from './manifest.js';
import { writeOutputDir } from './output.js';
import { planBuild, type Plan, type SigningFiles } from './plan.js';
import { loadRecipe } from './recipe.js';
import { assertToolsPresent, packageVersions } from './tools.js';
import { nodeimgVersion } from './version.js';
import './rootfs-planner.js'; // registers the root file system stages and planner (registry.ts)
import { createHash } from 'node:crypto';
import type { LockedPackage } from '../../image/build/stages/apt.js';
import { fetchLocked } from '../packages/fetch-locked.js';
import type { ObjectReader } from '../ports.js';

export interface BuildOptions {
  /** Recipe file, or a folder holding recipe.json. */
  readonly recipe: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Output folder; default out/<recipe name> under cwd. */
  readonly out?: string;
  /** Cache folder; default defaultCacheDir(env). */
  readonly cache?: string;
  /** Lock file; default nodeimg.lock.json next to the recipe. */
  readonly lock?: string;
  /** Secure Boot key and certificate; override the recipe's /boot/secureBoot. */
  readonly signing?: SigningFiles;
  readonly signal?: AbortSignal;
  /** A release store's package archive: missing .debs are taken from it first (issue 12 §3). */
  readonly archive?: ObjectReader;
  /** false: never download from the lock's mirror URLs (only the cache and the archive). */
  readonly useMirror?: boolean;
  readonly verifyCache?: boolean;
  readonly concurrency?: number;
  readonly events?: EngineEvents;
  /** Called once the graph is known, before anything runs (the task list is made from it). */
  readonly onPlan?: (plan: Plan) => void;
}

export interface BuildResult {
  readonly recipeName: string;
  readonly outDir: string;
  readonly cacheDir: string;
  readonly plan: Plan;
  readonly outcomes: readonly StageOutcome[];
  readonly manifest: BuildManifest;
  readonly manifestSha256: string;
  readonly elapsedMs: number;
}

export async function buildRecipe(opts: BuildOptions): Promise<BuildResult> {
  const t0 = Date.now();
  const loaded = await loadRecipe(opts.recipe, opts.cwd);
  const r = loaded.recipe;
  const lock = await loadLock(opts.lock ? resolve(opts.cwd, opts.lock) : join(loaded.dir, LOCK_FILE));
  assertLockMatches(r, lock, opts.recipe);
  const signing =
    opts.signing ??
    (r.boot.secureBoot
      ? { key: join(loaded.dir, r.boot.secureBoot.key), cert: join(loaded.dir, r.boot.secureBoot.cert) }
      : undefined);
  const cacheDir = resolve(opts.cwd, opts.cache ?? defaultCacheDir(opts.env, opts.cwd));
  const cache = new StageCache(cacheDir);
  const fetchDeb = async (p: LockedPackage, signal: AbortSignal, progress: (t: string) => void) => {
    progress(`fetching ${(p.size / 1e6).toFixed(1)} MB`);
    const got = await fetchLocked(p, {
      cacheDir: cache.debsDir,
      ...(opts.archive ? { archive: opts.archive } : {}),
      ...(opts.useMirror === false ? { useMirror: false } : {}),
      http: { signal },
    });
    return got.source === 'archive'
      ? `the package archive ${opts.archive?.ref ?? ''}`
      : `${got.source} ${p.url}`;
  };
  const plan = await planBuild({ loaded, lock: lock.lock, fetchDeb, ...(signing ? { signing } : {}) });
  await assertToolsPresent(plan.nodes);
  const toolVersions = await packageVersions(
    plan.nodes.flatMap((n) => n.tools.map((t) => t.package)),
    opts.signal,
  );
  try {
    await cache.init();
    await cache.cleanStale();
  } catch (err) {
    throw contextError(`preparing the cache ${cacheDir}`, err);
  }
  opts.onPlan?.(plan);
  const engine = new Engine(plan.nodes, {
    cache,
    nodeimgVersion: nodeimgVersion(),
    toolVersions,
    runtimeVersions: { node: process.versions.node, zlib: process.versions.zlib ?? 'unknown' },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.verifyCache ? { verifyCache: true } : {}),
    ...(opts.events ? { events: opts.events } : {}),
  });
  const outcomes = await engine.run();
  const manifest = await makeManifest({
    plan,
    outcomes,
    recipe: { name: r.name, sha256: loaded.sha256 },
    lockSha256: lock.sha256,
    sourceDateEpoch: r.sourceDateEpoch,
    nodeimgVersion: nodeimgVersion(),
    nodeVersion: process.versions.node,
  });
  const text = manifestText(manifest);
  const outDir = resolve(opts.cwd, opts.out ?? join('out', r.name));
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const files = plan.artifacts.map((a) => {
    const f = byId.get(a.from.stage)?.outputs[a.from.output];
    if (!f?.path)
      throw new NodeimgError('INTERNAL', `artefact ${a.path}: stage ${a.from.stage} left no file`);
    return { name: a.path, source: f.path, size: f.size };
  });
  await writeOutputDir(outDir, files, text, opts.signal);
  return {
    recipeName: r.name,
    outDir,
    cacheDir,
    plan,
    outcomes,
    manifest,
    manifestSha256: createHash('sha256').update(text).digest('hex'),
    elapsedMs: Date.now() - t0,
  };
}
