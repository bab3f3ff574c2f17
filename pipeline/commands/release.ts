// `nodeimg release <recipe> --version vX.Y.Z`: build (cached) -> measure -> [boot-check] -> sign ->
// log -> publish, as one listr2 task list, then a summary (table, or --json) of what was published
// where: store keys, digests and transparency-log indexes. With no store or log flags it publishes
// into the local directory store and the local transparency log: the README's main job.
// A lock with package provenance (issue 12) is checked against the build cache's apt metadata
// before the build, and its packages are archived into the store's pool after it (packages.ts).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DefaultRenderer, Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';
import { writeJson, type Command, type CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';
import { parseStoreRef, STORE_REF_FORMS } from '../adapters/store/store-ref.js';
import { buildRecipe, type BuildResult } from '../build/build.js';
import { outcomeText, progressMode } from '../build/tasks.js';
import { coordinates } from '../release/names.js';
import { publishRelease, type PublishedRelease } from '../release/publish.js';
import { SOURCE_ARCHIVE, withSourceArchive } from '../release/source-archive.js';
import { formatBytes, table } from '../render.js';
import { defaultCacheDir, StageCache } from '../build/cache.js';
import { loadLock, LOCK_FILE } from '../build/lock.js';
import { loadRecipe } from '../build/recipe.js';
import { nodeimgVersion } from '../build/version.js';
import {
  archiveReleasePackages,
  checkPackageMetadata,
  DEFAULT_KEYRING,
  lockProvenance,
  NO_PROVENANCE,
  type ArchivedRelease,
  type PackageSources,
} from '../release/packages.js';
import { chooseSigner, SIGNER_HELP, SIGNER_OPTIONS } from './sign-signer.js';
import { chooseLog, LOG_TARGET_HELP, LOG_TARGET_OPTIONS } from './log-target.js';
import type { MeasurementsDocument } from '../../measurements/document.js';

const USAGE =
  'nodeimg release <recipe> --version vX.Y.Z [--ref REF] [--stream NAME] [--store REF] (--key key.pem | --keyless ...) [--log dir:PATH | --rekor URL] [--boot-check] [--keyring FILE | --no-package-archive] [--cache DIR] [-o DIR] [--json]';
export const DEFAULT_STORE = 'dir:.nodeimg/store';

/** The signed documents are published as such; every other build output is an artefact. */
const DOCUMENTS = new Set(['manifest.json', 'measurements.json']);

interface ReleaseContext {
  /** Set when the lock has provenance and --no-package-archive was not given. */
  sources?: PackageSources & { urls: Map<string, string> };
  packages?: ArchivedRelease;
  build?: BuildResult;
  published?: PublishedRelease;
  bootCheck?: string;
}

/** listr2's default renderer, on stderr even when stdout is not a terminal (as in build's tasks.ts). */
class StderrRenderer extends DefaultRenderer {
  static override nonTTY = true;
}

/** sha256 of disk.raw for the SBOM's image package, when the build made one. */
function imageDigest(build: BuildResult): { imageSha256?: string } {
  const disk = build.manifest.artifacts.find((a) => a.path === 'disk.raw');
  return disk === undefined ? {} : { imageSha256: disk.sha256 };
}

/** The --json summary's `packages`: what was archived and published, or why nothing was. */
function packagesSummary(a: ArchivedRelease | undefined, p: PublishedRelease, skipped: string | null) {
  return {
    archived: p.packages?.count ?? 0,
    uploadedBytes: a?.archive.uploadedBytes ?? 0,
    debBytes: a?.archive.debBytes ?? 0,
    objects: {
      sent: a?.archive.objects.filter((o) => o.result === 'created').length ?? 0,
      present: a?.archive.objects.filter((o) => o.result !== 'created').length ?? 0,
    },
    provenance: p.packages?.provenance ?? null,
    sbom: p.packages?.sbom ?? null,
    skipped,
  };
}

async function measurementsOf(build: BuildResult): Promise<MeasurementsDocument> {
  const m = build.manifest.measurements[0];
  if (m === undefined)
    throw new NodeimgError('INTERNAL', `the build of ${build.recipeName} produced no measurements document`);
  if (build.manifest.measurements.length > 1)
    throw new UsageError(
      `${build.recipeName} measures ${build.manifest.measurements.length} platforms; a release publishes one measurements.json (pick one platform in the recipe)`,
    );
  return JSON.parse(await readFile(join(build.outDir, m.path), 'utf8')) as MeasurementsDocument;
}

export const releaseCommand: Command = {
  name: 'release',
  summary:
    'Cut a release: build (cached), measure, optionally boot-check, sign, log and publish it with a signed version index.',
  usage: USAGE,
  help: `Runs, as one task list:
  build       nodeimg build <recipe> (stages from the cache when nothing changed)
  boot-check  with --boot-check: boots disk.raw under QEMU + OVMF + swtpm and requires every
              predicted PCR to equal what the TPM received
  packages    when every lock entry has provenance (nodeimg lock against a signed mirror): before
              the build, the InRelease and Packages files in --cache DIR/apt-meta are checked
              again (gpgv against --keyring); after it, every locked .deb, InRelease and index is
              stored once in the store's shared pool packages/... (objects already there are not
              sent again), and packages.json (provenance) and sbom.spdx.json (SPDX 2.3) are
              published next to info.json, which lists both with their sha256. A lock without
              provenance releases without them (and says so); a lock with it on some entries only
              is refused.
  publish     into the store, in the order that keeps readers safe: artefacts, then
              source.tar (recipe, lock, init script: the public inputs, for nodeimg reproduce),
              manifest.json, measurements.json (with the release's version, ref, stream and enforced
              PCRs) and info.json each with its Sigstore bundle and .sig (signed, logged), then the
              next signed version index, and last the pointer versions/current.json
              (compare-and-swap). Re-running the same release resumes and converges; the same
              version with different content is refused (exit 7).

options:
  --version vX.Y.Z       the version (canonical semver)
  --ref REF              default "-" (release builds); --stream NAME default "stable"
  --store REF            ${STORE_REF_FORMS}; default ${DEFAULT_STORE}
${SIGNER_HELP}
${LOG_TARGET_HELP}
  --boot-check           boot the image once before publishing (about 20-30 s under TCG)
  --keyring FILE         OpenPGP keyring the lock's InRelease files must verify against
                         (default ${DEFAULT_KEYRING})
  --no-package-archive   do not archive packages nor publish packages.json / sbom.spdx.json
  --cache DIR, -o DIR, --lock FILE   as for nodeimg build
  --json                 the summary as JSON on stdout; no progress on stderr

A verifier then runs:
  nodeimg fetch-measurements --store REF --version vX.Y.Z --key key.pub --trusted-root ROOT --offline
and, for the packages (packages.json and sbom.spdx.json against info.json, the archive's chain):
  ... --verify-packages [--deep] [--keyring FILE]
`,
  options: {
    ...SIGNER_OPTIONS,
    ...LOG_TARGET_OPTIONS,
    version: { type: 'string' },
    ref: { type: 'string' },
    stream: { type: 'string' },
    store: { type: 'string' },
    'boot-check': { type: 'boolean' },
    keyring: { type: 'string' },
    'no-package-archive': { type: 'boolean' },
    cache: { type: 'string' },
    out: { type: 'string', short: 'o' },
    lock: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const v = args.values;
    const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
    const hint = `usage: ${USAGE}`;
    const version = str('version');
    if (version === undefined) throw new UsageError('--version is required', { hint });
    const coords = coordinates(version, str('ref') ?? '-', str('stream') ?? 'stable');
    const storeRef = str('store') ?? DEFAULT_STORE;
    const store = parseStoreRef(storeRef, { cwd: io.cwd, env: io.env });
    if (!store.writable) throw new UsageError(`${storeRef} is read-only; publish to dir: or s3://`, { hint });
    const target = chooseLog(args, io, USAGE);
    const chosen = await chooseSigner(args, io, USAGE);
    const json = v['json'] === true;
    const recipeArg = args.positionals[0] as string;
    const noArchive = v['no-package-archive'] === true;
    if (noArchive && str('keyring') !== undefined)
      throw new UsageError('--keyring and --no-package-archive exclude each other', { hint });
    const ctx: ReleaseContext = {};
    let skipped: string | null = noArchive ? 'not archived: --no-package-archive' : null;
    if (!noArchive) {
      // the same recipe, lock and cache the build will use (pipeline/build/build.ts)
      const loaded = await loadRecipe(recipeArg, io.cwd);
      const lockFile = str('lock') ? resolve(io.cwd, str('lock') as string) : join(loaded.dir, LOCK_FILE);
      const { lock } = await loadLock(lockFile);
      const prov = lockProvenance(lock, lockFile);
      if (prov.kind === 'none') {
        skipped = NO_PROVENANCE;
        io.stderr.write(`release: ${NO_PROVENANCE}\n`);
      } else {
        const cacheDir = resolve(io.cwd, str('cache') ?? defaultCacheDir(io.env, io.cwd));
        const cache = new StageCache(cacheDir);
        const { loadKeyring } = await import('../../image/build/apt-archive/gpgv.js');
        ctx.sources = {
          packages: prov.packages,
          keyring: await loadKeyring(str('keyring') ?? DEFAULT_KEYRING, io.cwd),
          architecture: lock.distribution.architecture,
          cacheDir,
          debsDir: cache.debsDir,
          metaDir: cache.metaDir,
          recipe: recipeArg,
          urls: new Map(lock.packages.map((p) => [p.sha256, p.url])),
        };
        await checkPackageMetadata(ctx.sources);
      }
    }
    const interrupt = onInterrupt(io.stderr, 'release', 'stopping; what is published stays consistent');

    const list: ListrTask<ReleaseContext>[] = [
      {
        title: `build ${args.positionals[0] as string}`,
        task: async (c, task) => {
          c.build = await buildRecipe({
            recipe: args.positionals[0] as string,
            cwd: io.cwd,
            env: io.env,
            ...(str('out') ? { out: str('out') as string } : {}),
            ...(str('cache') ? { cache: str('cache') as string } : {}),
            ...(str('lock') ? { lock: str('lock') as string } : {}),
            signal: interrupt.signal,
            events: {
              start: (id) => {
                task.output = `${id}: running`;
              },
              progress: (id, text) => {
                task.output = `${id}: ${text}`;
              },
              done: (o) => {
                task.output = `${o.id}: ${outcomeText(o)}`;
              },
            },
          });
          const ran = c.build.outcomes.filter((o) => o.status === 'ran').length;
          task.title = `built ${c.build.recipeName}: ${ran} of ${c.build.outcomes.length} stages ran, manifest ${c.build.manifestSha256.slice(0, 16)}…`;
        },
      },
      {
        title: 'boot-check',
        skip: () => v['boot-check'] !== true && 'boot-check skipped (--boot-check to boot the image first)',
        task: async (c, task) => {
          const build = c.build as BuildResult;
          const { bootCheckCommand } = await import('./boot-check.js');
          const disk = join(build.outDir, 'disk.raw');
          const m = build.manifest.measurements[0];
          const sink = { chunks: [] as string[] };
          const { Writable } = await import('node:stream');
          const collect = new Writable({
            write(chunk: Buffer, _e, cb) {
              sink.chunks.push(chunk.toString());
              task.output = chunk.toString().trimEnd().split('\n').pop() ?? '';
              cb();
            },
          });
          const code = await bootCheckCommand.run(
            {
              values: { ...(m ? { against: join(build.outDir, m.path) } : {}) },
              positionals: [disk],
            },
            { stdout: collect, stderr: collect, env: io.env, cwd: io.cwd },
          );
          if (code !== 0)
            throw new NodeimgError(
              'CHECK_FAILED',
              `boot-check of ${disk} failed (exit ${code}):\n${sink.chunks.join('').trim()}`,
            );
          c.bootCheck = 'every predicted PCR matched the booted TPM';
          task.title = `boot-check: ${c.bootCheck}`;
        },
      },
      {
        title: 'archive packages',
        skip: (c) => c.sources === undefined && `packages not archived (${skipped ?? 'no provenance'})`,
        task: async (c, task) => {
          const src = c.sources as NonNullable<ReleaseContext['sources']>;
          const build = c.build as BuildResult;
          let sent = 0;
          let present = 0;
          c.packages = await archiveReleasePackages(store, {
            ...src,
            name: build.recipeName,
            version: coords.version,
            sourceDateEpoch: build.manifest.sourceDateEpoch,
            tool: `nodeimg-${nodeimgVersion()}`,
            ...imageDigest(build),
            onObject: (o) => {
              if (o.result === 'created') sent += o.size;
              else present++;
              task.output = `${formatBytes(sent)} sent, ${present} objects already present; ${o.result === 'created' ? 'stored' : 'present'}: ${o.key}`;
            },
          });
          const a = c.packages.archive;
          task.title = `archived ${c.packages.documents.count} packages: ${formatBytes(a.uploadedBytes)} sent of ${formatBytes(a.debBytes)} of .debs, ${present} objects already present`;
        },
      },
      {
        title: `sign, log and publish ${coords.version} to ${storeRef}`,
        task: async (c, task) => {
          const build = c.build as BuildResult;
          // the public inputs, so third parties can rebuild it (nodeimg reproduce)
          const inputs = {
            recipe: args.positionals[0] as string,
            cwd: io.cwd,
            ...(str('lock') ? { lock: str('lock') as string } : {}),
            manifest: build.manifest,
          };
          await withSourceArchive(inputs, async (source) => {
            const log = await target.open();
            try {
              c.published = await publishRelease({
                store,
                coords,
                name: build.recipeName,
                artefacts: build.manifest.artifacts
                  .filter(
                    (a) =>
                      !DOCUMENTS.has(a.path) && !build.manifest.measurements.some((m) => m.path === a.path),
                  )
                  .map((a) => ({
                    name: a.path,
                    path: join(build.outDir, a.path),
                    sha256: a.sha256,
                    size: a.size,
                  }))
                  .concat([
                    { name: SOURCE_ARCHIVE, path: source.path, sha256: source.sha256, size: source.size },
                  ]),
                manifestText: await readFile(join(build.outDir, 'manifest.json'), 'utf8'),
                measurements: await measurementsOf(build),
                ...(c.packages ? { packages: c.packages.documents } : {}),
                signer: chosen.signer,
                log,
                onStep: (s) => {
                  task.output = `${s.result === 'created' ? 'stored' : 'already there'}: ${s.key}`;
                },
              });
            } finally {
              await log.close();
            }
            if (source.excluded.length > 0)
              task.output = `${SOURCE_ARCHIVE} leaves out ${source.excluded.join(', ')} (private): a reproducer signs with their own key and compares the unsigned stages`;
          });
          const p = c.published as PublishedRelease;
          task.title = p.newIndex
            ? `published ${coords.version}: version index ${p.index.sequence}`
            : `${coords.version} was already published with the same content (index ${p.index.sequence})`;
        },
      },
    ];
    const stream = io.stderr as NodeJS.WriteStream;
    const common = { ctx, exitOnError: true, registerSignalListeners: false } as const;
    const rendererOptions = { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }) };
    const mode = progressMode(io.stderr, io.env, json);
    const runTasks = (): Promise<ReleaseContext> =>
      mode === 'tty'
        ? new Listr(list, {
            ...common,
            renderer: StderrRenderer,
            rendererOptions: { ...rendererOptions, collapseSubtasks: false },
          }).run()
        : mode === 'plain'
          ? new Listr(list, { ...common, renderer: 'simple', rendererOptions }).run()
          : new Listr(list, { ...common, renderer: 'silent' }).run();
    try {
      await runTasks();
    } catch (err) {
      if (interrupt.signal.aborted) {
        io.stderr.write(
          'release: interrupted; what is published stays consistent (the version index was not changed unless the run finished); run the same release again to complete it\n',
        );
        return 130;
      }
      throw err;
    } finally {
      interrupt.dispose();
    }
    const p = ctx.published as PublishedRelease;
    const b = ctx.build as BuildResult;
    const summary = {
      version: coords.version,
      ref: coords.ref,
      stream: coords.stream,
      store: store.ref,
      newIndex: p.newIndex,
      index: p.index,
      manifestSha256: b.manifestSha256,
      documents: p.documents,
      artefacts: p.artefacts,
      logIndexes: p.logIndexes,
      log: target.name,
      bootCheck: ctx.bootCheck ?? null,
      written: p.steps.filter((s) => s.result === 'created').length,
      packages: packagesSummary(ctx.packages, p, skipped),
    };
    if (json) {
      writeJson(io, summary);
      return EXIT.ok;
    }
    io.stdout.write(
      `${table(
        ['object', 'size', 'sha256', 'log index'],
        [
          ...Object.entries(p.documents).map(([name, d]) => [
            d.key,
            formatBytes(d.size).replace(/ \(\d+ bytes\)$/, ''),
            d.sha256,
            String(p.logIndexes[name] ?? ''),
          ]),
          ...p.artefacts.map((a) => [
            a.key,
            formatBytes(a.size).replace(/ \(\d+ bytes\)$/, ''),
            a.sha256,
            '',
          ]),
          [p.index.key, '', p.index.sha256, String(p.logIndexes['index'] ?? '')],
        ],
      )}\n` +
        `${coords.version} (${coords.ref}/${coords.stream}) in ${store.ref}: version index ${p.index.sequence}` +
        `${p.newIndex ? '' : ' (unchanged: already released)'}, ${summary.written} objects written; log ${target.name}\n` +
        (summary.packages.skipped === null
          ? `packages: ${summary.packages.archived} archived (${formatBytes(summary.packages.uploadedBytes)} sent, .debs ${formatBytes(summary.packages.debBytes)}); ${summary.packages.provenance?.key ?? ''}, ${summary.packages.sbom?.key ?? ''}\n`
          : `packages: ${summary.packages.skipped}\n`),
    );
    return EXIT.ok;
  },
};
