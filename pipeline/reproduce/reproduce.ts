// `nodeimg reproduce` as a function (issue 11): verify the release (verify-release.ts; nothing is
// written before it passes) -> extract source.tar into a work folder and check its recipe and lock
// against the signed manifest -> rebuild with an empty cache (only .debs verified by their locked
// sha256 may be taken from a shared deb cache) -> compare the rebuilt manifest with the published
// one (compare.ts) and the published artefacts with the rebuilt files (published-artefact.ts) ->
// a report, and the in-toto statement a third party can sign and publish.
import { copyFile, link, mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { buildRecipe, type BuildResult } from '../build/build.js';
import type { EngineEvents } from '../build/engine.js';
import { LOCK_FILE, type Lock } from '../build/lock.js';
import { RECIPE_FILE, type Recipe } from '../build/recipe.js';
import type { SigningFiles } from '../build/plan.js';
import { UsageError } from '../errors.js';
import { nodeimgVersion } from '../build/version.js';
import { debPath, sha256OfFile } from '../../image/build/stages/fetch.js';
import { checkSourceMatches, extractSourceArchive, SOURCE_ARCHIVE } from '../release/source-archive.js';
import { prefetchFromArchive, releasePackageArchive } from '../release/packages.js';
import type { FetchRequest } from '../verify/fetch-measurements.js';
import { compareManifests, dependents, type ManifestComparison } from './compare.js';
import {
  checkPublishedArtefact,
  startIntegrityCheck,
  type PublishedArtefactCheck,
} from './published-artefact.js';
import { reproduceStatement, type ReproduceStatement } from './attestation.js';
import { verifyReproduceInputs } from './verify-release.js';
import type { ObjectReader } from '../ports.js';

export interface ReproduceOptions {
  readonly request: FetchRequest & { readonly store: Pick<ObjectReader, 'ref' | 'get' | 'getStream'> };
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Work folder (kept); default a temporary folder removed at the end. */
  readonly work?: string;
  /** A folder of .debs laid out as a build cache's debs/ store (sha256/<hex>.deb). */
  readonly debCache?: string;
  /** Names of published artefacts to download and compare (default: disk.raw). */
  readonly checkArtefacts?: readonly string[];
  /**
   * The reproducer's own Secure Boot key and certificate, for a release whose recipe signs (its
   * private key is never published): the sign stage and everything after it are then left out of
   * the verdict, only the unsigned stages are compared.
   */
  readonly signing?: SigningFiles;
  readonly signal?: AbortSignal;
  readonly events?: EngineEvents;
  /** Progress lines (human). */
  readonly note?: (line: string) => void;
}

export interface ReproduceReport {
  readonly version: string;
  readonly ref: string;
  readonly stream: string;
  readonly store: string;
  readonly index: { readonly sequence: number; readonly sha256: string };
  readonly signer: string;
  readonly manifestSha256: string;
  readonly rebuiltManifestSha256: string;
  readonly reproducible: boolean;
  /** The first stage (manifest order) whose key or outputs differ, or that made a differing published artefact. */
  readonly firstStage: string | null;
  readonly comparison: ManifestComparison;
  readonly published: readonly PublishedArtefactCheck[];
  readonly source: { readonly sha256: string; readonly members: readonly string[] };
  readonly work: string | null;
  readonly elapsedMs: { readonly verify: number; readonly build: number; readonly compare: number };
  readonly statement: ReproduceStatement;
}

/** Links (or copies) every locked .deb found in `debCache` into `cacheDir`, each verified by sha256. */
async function seedFromDebCache(debCache: string, lock: Lock, cacheDir: string, note: (s: string) => void) {
  await mkdir(join(cacheDir, 'debs', 'sha256'), { recursive: true });
  let used = 0;
  for (const p of lock.packages) {
    const from = debPath(debCache, p.sha256);
    if (
      !(await stat(from).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    const got = await sha256OfFile(from);
    if (got.sha256 !== p.sha256 || got.size !== p.size) {
      note(`deb cache: ${from} does not have the locked sha256 ${p.sha256}; not used`);
      continue;
    }
    const to = debPath(join(cacheDir, 'debs'), p.sha256);
    await link(from, to).catch(() => copyFile(from, to));
    used++;
  }
  note(`deb cache: ${used} of ${lock.packages.length} locked .debs taken from ${debCache} (sha256 verified)`);
}

function stageOf(from: string | undefined): string | null {
  const m = /^stage:([^/]+)\//.exec(from ?? '');
  return m ? (m[1] as string) : null;
}

export async function reproduceRelease(opts: ReproduceOptions): Promise<ReproduceReport> {
  const note = opts.note ?? (() => undefined);
  const req = opts.request;
  const c = req.coords;
  const t0 = Date.now();
  // 1. verification; nothing is written before it passes
  const inputs = await verifyReproduceInputs(req);
  note(
    `verified ${c.version}: version index ${inputs.index.sequence}, manifest ${inputs.manifestSha256}, signer ${inputs.signer}`,
  );
  const t1 = Date.now();

  // 2. the work folder, the sources
  const work = opts.work ? resolve(opts.cwd, opts.work) : await mkdtemp(join(tmpdir(), 'nodeimg-reproduce-'));
  try {
    const src = join(work, 'source');
    await mkdir(src, { recursive: true });
    const digests = await extractSourceArchive(inputs.source, src);
    checkSourceMatches(digests, inputs.manifest);
    const recipe = JSON.parse(await readFile(join(src, RECIPE_FILE), 'utf8')) as Recipe;
    if (recipe.boot.secureBoot && !opts.signing)
      throw new UsageError(
        `${c.version} is signed for Secure Boot with a private key that is not published (${SOURCE_ARCHIVE} leaves out ${recipe.boot.secureBoot.key})`,
        {
          hint: 'sign with a key of your own: --secure-boot-key KEY --secure-boot-cert CERT; the stages from signing on are then left out of the comparison',
        },
      );
    if (recipe.boot.secureBoot && opts.signing) {
      // the recipe names its key file, which was not published: point that name at the
      // reproducer's own key (a link, the key is not copied); the build signs with opts.signing
      const at = resolve(src, recipe.boot.secureBoot.key);
      if (!at.startsWith(src + sep))
        throw new UsageError(
          `the recipe's Secure Boot key ${recipe.boot.secureBoot.key} is outside its folder`,
        );
      await mkdir(dirname(at), { recursive: true });
      await symlink(resolve(opts.cwd, opts.signing.key), at);
    }
    const exclude = opts.signing ? dependents(inputs.manifest, 'sign') : new Set<string>();
    const cache = join(work, 'cache');
    await rm(cache, { recursive: true, force: true });
    const lock = JSON.parse(await readFile(join(src, LOCK_FILE), 'utf8')) as Lock;
    if (opts.debCache) await seedFromDebCache(resolve(opts.cwd, opts.debCache), lock, cache, note);
    // issue 12: the release's own package archive before the mirror (which may have moved on)
    const archive = releasePackageArchive(req.store, inputs.info);
    if (archive !== undefined) await prefetchFromArchive(archive, lock.packages, join(cache, 'debs'), note);

    // the published artefacts to check: their digests are streamed from the store while the rebuild
    // runs (the second core is mostly idle during a build), the rest of the check waits for it
    const wanted = opts.checkArtefacts ?? ['disk.raw'];
    const toCheck = inputs.info.artefacts
      .filter((a) => wanted.includes(a.name))
      .map((a) => {
        const stage = stageOf(inputs.manifest.artifacts.find((x) => x.path === a.name)?.from);
        const skip = stage !== null && exclude.has(stage);
        return { a, stage, integrity: skip ? undefined : startIntegrityCheck(req.store, a) };
      });

    // 3. the rebuild, with an empty stage cache
    const out = join(work, 'out');
    await rm(out, { recursive: true, force: true });
    const build: BuildResult = await buildRecipe({
      recipe: join(src, RECIPE_FILE),
      cwd: work,
      env: opts.env,
      out,
      cache,
      ...(opts.signing ? { signing: opts.signing } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.events ? { events: opts.events } : {}),
    });
    note(`rebuilt ${build.recipeName} in ${build.elapsedMs} ms: manifest ${build.manifestSha256}`);
    const t2 = Date.now();

    // 4. comparisons
    const comparison = compareManifests(inputs.manifest, build.manifest, inputs.measurements, exclude);
    if (exclude.size > 0)
      note(`signed with your own key: left out of the comparison: ${[...exclude].join(', ')}`);
    const published: PublishedArtefactCheck[] = [];
    const pubDir = join(work, 'published');
    await mkdir(pubDir, { recursive: true });
    for (const { a, stage, integrity } of toCheck) {
      const rebuilt = build.manifest.artifacts.find((x) => x.path === a.name);
      if (integrity === undefined) {
        note(`not checking the published ${a.name}: it comes from ${stage}, after Secure Boot signing`);
        continue;
      }
      note(`checking the published ${a.name}`);
      published.push(
        await checkPublishedArtefact({
          store: req.store,
          artefact: a,
          stage,
          rebuiltPath: rebuilt ? join(out, a.name) : null,
          rebuiltSha256: rebuilt?.sha256 ?? null,
          workDir: pubDir,
          env: opts.env,
          integrity,
        }),
      );
    }
    const reproducible =
      comparison.stages.length === 0 &&
      comparison.artefacts.length === 0 &&
      comparison.measurements.length === 0 &&
      comparison.recipe &&
      comparison.lock &&
      published.every((p) => p.ok);
    const firstStage = comparison.stages[0]?.id ?? published.find((p) => !p.ok)?.stage ?? null;
    await inputs.commit();
    const sourceEntry = inputs.info.artefacts.find((a) => a.name === SOURCE_ARCHIVE);
    const statement = reproduceStatement({
      coords: c,
      store: req.store.ref,
      manifestSha256: inputs.manifestSha256,
      rebuiltManifestSha256: build.manifestSha256,
      source: {
        sha256: sourceEntry?.sha256 ?? '',
        recipe: inputs.manifest.recipe.sha256,
        lock: inputs.manifest.lock.sha256,
      },
      artefacts: build.manifest.artifacts,
      comparison,
      published,
      reproducible,
      builder: { nodeimg: nodeimgVersion(), node: process.versions.node, tools: build.manifest.tools },
    });
    return {
      version: c.version,
      ref: c.ref,
      stream: c.stream,
      store: req.store.ref,
      index: { sequence: inputs.index.sequence, sha256: inputs.index.sha256 },
      signer: inputs.signer,
      manifestSha256: inputs.manifestSha256,
      rebuiltManifestSha256: build.manifestSha256,
      reproducible,
      firstStage,
      comparison,
      published,
      source: { sha256: sourceEntry?.sha256 ?? '', members: [...digests.keys()].sort() },
      work: opts.work ? work : null,
      elapsedMs: { verify: t1 - t0, build: t2 - t1, compare: Date.now() - t2 },
      statement,
    };
  } finally {
    if (!opts.work) await rm(work, { recursive: true, force: true });
  }
}
