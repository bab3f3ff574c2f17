// `nodeimg build <recipe>`: a reproducible node image from a recipe and its lock (issue 6). Stages
// are cached by the content hash of their inputs in --cache; the output folder receives the final
// artefacts and manifest.json together, or nothing. Ctrl-C stops the running tools, removes
// temporary files and exits 130.
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';
import { formatBytes, table } from '../render.js';
import { buildRecipe, type BuildResult } from '../build/build.js';
import { LOCK_FILE } from '../build/lock.js';
import { progress, progressMode } from '../build/tasks.js';
import { assertSchema } from '../build/schema-errors.js';

const USAGE =
  'nodeimg build <recipe.json | recipe folder> [-o DIR] [--cache DIR] [--lock FILE] [--key sb.key --cert sb.crt] [--archive STORE] [--no-mirror] [--verify-cache] [--json]';
const SUMMARY_SCHEMA_ID = 'https://nodeimg.dev/schema/build-summary/v1.json';

function summary(r: BuildResult) {
  return {
    ok: true as const,
    recipe: r.recipeName,
    out: r.outDir,
    cache: r.cacheDir,
    manifestSha256: r.manifestSha256,
    elapsedMs: r.elapsedMs,
    stages: r.outcomes.map((o) => ({
      id: o.id,
      status: o.status,
      cached: o.status !== 'ran',
      key: o.key,
      elapsedMs: o.elapsedMs,
      outputs: Object.fromEntries(
        Object.entries(o.outputs).map(([k, f]) => [k, { sha256: f.sha256, size: f.size }]),
      ),
    })),
    artifacts: [...r.manifest.artifacts.map((a) => ({ path: a.path, sha256: a.sha256, size: a.size }))],
  };
}

export const buildCommand: Command = {
  name: 'build',
  summary:
    'Build a node image from a recipe and its lock: stages cached by content, outputs and manifest.json.',
  usage: USAGE,
  help: `arguments:
  <recipe>            a recipe file (pipeline/schema/recipe.schema.json) or a folder holding recipe.json

options:
  -o, --out DIR       the output folder (default out/<recipe name>): the artefacts (disk.raw,
                      disk.qcow2, disk.vhd, disk.tar.gz as the recipe's formats say, uki.efi,
                      measurements.json) and manifest.json, replaced as a whole only when the new
                      build is complete
  --cache DIR         stage outputs and downloaded .debs (default $NODEIMG_CACHE, else
                      $XDG_CACHE_HOME/nodeimg, else ~/.cache/nodeimg); safe to delete
  --lock FILE         the lock (default ${LOCK_FILE} next to the recipe; made by nodeimg lock)
  --key FILE          sign the UKI (and systemd-boot) for Secure Boot with this unencrypted PEM RSA
  --cert FILE         key and certificate (instead of the recipe's /boot/secureBoot)
  --archive STORE     take missing .debs from this release store's package archive first
                      (packages/sha256/<hex>, published by nodeimg release: dir:PATH, s3://BUCKET/PREFIX,
                      https://...), then from the lock's mirror URLs
  --no-mirror         never download from a mirror: only the cache and --archive
  --verify-cache      also re-hash the outputs of stages found in the cache (slower)
  --json              a summary on stdout (schema: pipeline/schema/build-summary.schema.json): which
                      stages ran or came from the cache, with times; no progress on stderr

Every package comes from the lock, and every .deb is checked against its size and sha256 whichever
source served it (cache, --archive, mirror); a
lock that does not pin exactly the recipe's packages is refused. A stage runs only when the
sha256 of its kind, version, parameters, input digests and tool versions is not in the cache.
manifest.json (pipeline/schema/build-manifest.schema.json) records all of it without paths or
times: two builds of the same recipe and lock with the same tools give identical bytes.`,
  options: {
    out: { type: 'string', short: 'o' },
    cache: { type: 'string' },
    lock: { type: 'string' },
    key: { type: 'string' },
    cert: { type: 'string' },
    archive: { type: 'string' },
    'no-mirror': { type: 'boolean' },
    'verify-cache': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const v = args.values;
    const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
    const key = str('key');
    const cert = str('cert');
    if ((key === undefined) !== (cert === undefined))
      throw new UsageError('--key and --cert go together', { hint: `usage: ${USAGE}` });
    const json = v['json'] === true;
    const archiveRef = str('archive');
    const archive =
      archiveRef === undefined
        ? undefined
        : (await import('../adapters/store/store-ref.js')).parseStoreRef(archiveRef, {
            cwd: io.cwd,
            env: io.env,
          });
    const shown = progress(progressMode(io.stderr, io.env, json), io.stderr);
    const interrupt = onInterrupt(
      io.stderr,
      'build',
      'stopping the running stages, removing temporary files',
    );
    let result: BuildResult;
    try {
      result = await buildRecipe({
        recipe: args.positionals[0] as string,
        cwd: io.cwd,
        env: io.env,
        ...(str('out') ? { out: str('out') as string } : {}),
        ...(str('cache') ? { cache: str('cache') as string } : {}),
        ...(str('lock') ? { lock: str('lock') as string } : {}),
        ...(key && cert ? { signing: { key: resolve(io.cwd, key), cert: resolve(io.cwd, cert) } } : {}),
        ...(v['verify-cache'] === true ? { verifyCache: true } : {}),
        ...(archive ? { archive } : {}),
        ...(v['no-mirror'] === true ? { useMirror: false } : {}),
        signal: interrupt.signal,
        events: shown.events,
        onPlan: shown.onPlan,
      });
    } catch (err) {
      await shown.finish();
      if (interrupt.signal.aborted) {
        io.stderr.write('build: interrupted; no output was written and the temporary files are removed\n');
        return 130;
      }
      throw err;
    } finally {
      interrupt.dispose();
    }
    await shown.finish();
    const s = summary(result);
    if (json) {
      assertSchema('build summary', SUMMARY_SCHEMA_ID, s);
      io.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return EXIT.ok;
    }
    const ran = s.stages.filter((x) => x.status === 'ran').length;
    io.stdout.write(
      `${table(
        ['artefact', 'size', 'sha256'],
        s.artifacts.map((a) => [a.path, formatBytes(a.size).replace(/ \(\d+ bytes\)$/, ''), a.sha256]),
      )}\n` +
        `${s.out}: ${s.artifacts.length} artefacts and manifest.json (sha256 ${s.manifestSha256}); ` +
        `${ran} of ${s.stages.length} stages ran, ${s.stages.length - ran} from the cache, ${(s.elapsedMs / 1000).toFixed(1)} s\n`,
    );
    return EXIT.ok;
  },
};
