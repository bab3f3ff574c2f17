// source.tar, the public inputs of a release (issue 11): recipe.json, its lock and every file the
// recipe names (the init script; the Secure Boot certificate, never its private key), so a third
// party can rebuild the release. It is deterministic like the build itself: members sorted by
// name, mtime = the recipe's sourceDateEpoch, uid/gid 0, no user/group names, mode 0644, plain
// ustar headers (tar-stream writes no pax records for short ASCII names: POSIX.1-1988 ustar).
// The archive is published as an artefact, so its sha256 is in the signed info.json; the
// manifest's recipe.sha256 and lock.sha256 are the digests of the files inside it.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { extract, pack } from 'tar-stream';
import { NodeimgError, UsageError } from '../errors.js';
import { loadRecipe, RECIPE_FILE } from '../build/recipe.js';
import { LOCK_FILE } from '../build/lock.js';

export const SOURCE_ARCHIVE = 'source.tar';
const MAX_MEMBERS = 256;
const MAX_MEMBER = 16 * 1024 * 1024;

export interface SourceArchive {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  /** Member names, sorted. */
  readonly members: readonly string[];
  /** Files the recipe names that were left out (private keys), for the release's report. */
  readonly excluded: readonly string[];
  /** Member name -> sha256 hex. */
  readonly digests: ReadonlyMap<string, string>;
}

/** A recipe-relative path as a tar member name; refuses absolute paths and `..`. */
function memberName(rel: string): string {
  const n = posix.normalize(rel.split(sep).join('/'));
  if (n.startsWith('/') || n === '..' || n.startsWith('../') || n === '.')
    throw new UsageError(
      `the recipe names ${rel}, outside its folder: a source archive holds only the recipe folder`,
    );
  return n;
}

/** Writes source.tar of the recipe at `recipe` (file or folder) into `outPath`. */
export async function writeSourceArchive(opts: {
  readonly recipe: string;
  readonly cwd: string;
  readonly lock?: string;
  readonly outPath: string;
}): Promise<SourceArchive> {
  const loaded = await loadRecipe(opts.recipe, opts.cwd);
  const r = loaded.recipe;
  const files = new Map<string, Uint8Array>();
  files.set(RECIPE_FILE, await readFile(loaded.file));
  const lockPath = opts.lock ? resolve(opts.cwd, opts.lock) : join(loaded.dir, LOCK_FILE);
  files.set(LOCK_FILE, await readFile(lockPath));
  files.set(memberName(r.initrd.init), await readFile(join(loaded.dir, r.initrd.init)));
  const excluded: string[] = [];
  if (r.boot.secureBoot) {
    files.set(memberName(r.boot.secureBoot.cert), await readFile(join(loaded.dir, r.boot.secureBoot.cert)));
    excluded.push(memberName(r.boot.secureBoot.key));
  }
  const names = [...files.keys()].sort();
  const p = pack();
  const mtime = new Date(r.sourceDateEpoch * 1000);
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((ok, ko) => {
    p.on('end', ok);
    p.on('error', ko);
  });
  for (const name of names) {
    const body = Buffer.from(files.get(name) as Uint8Array);
    p.entry(
      { name, size: body.length, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file' },
      body,
    );
  }
  p.finalize();
  await ended;
  // a few KiB: in memory, then written under a temporary name and renamed (never a partial file)
  const tar = Buffer.concat(chunks);
  const tmp = `${opts.outPath}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, tar);
    await rename(tmp, opts.outPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new NodeimgError('IO_FAILED', `cannot write ${opts.outPath}: ${(err as Error).message}`);
  }
  const sha256 = createHash('sha256').update(tar).digest('hex');
  const size = tar.length;
  const digests = new Map(
    names.map(
      (n) =>
        [
          n,
          createHash('sha256')
            .update(files.get(n) as Uint8Array)
            .digest('hex'),
        ] as const,
    ),
  );
  return { path: opts.outPath, sha256, size, members: names, excluded, digests };
}

/**
 * Extracts a (verified) source.tar into `dir`: regular files only, names inside `dir`, at most
 * MAX_MEMBERS of at most MAX_MEMBER bytes. Returns the member names with their sha256.
 */
export async function extractSourceArchive(bytes: Uint8Array, dir: string): Promise<Map<string, string>> {
  const x = extract();
  const out = new Map<string, string>();
  const root = resolve(dir);
  const fail = (msg: string): never => {
    throw new NodeimgError('PARSE_INVALID', `${SOURCE_ARCHIVE}: ${msg}`);
  };
  x.end(Buffer.from(bytes));
  for await (const entry of x) {
    const h = entry.header;
    if (out.size >= MAX_MEMBERS) fail(`more than ${MAX_MEMBERS} members`);
    if (h.type !== 'file') fail(`${h.name} is a ${h.type ?? 'special'} entry, not a regular file`);
    const name = memberName(h.name);
    const target = resolve(root, name);
    if (!target.startsWith(root + sep)) fail(`${h.name} points outside the archive`);
    if ((h.size ?? 0) > MAX_MEMBER) fail(`${h.name} is larger than ${MAX_MEMBER} bytes`);
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body, { mode: 0o644 });
    out.set(name, createHash('sha256').update(body).digest('hex'));
  }
  return out;
}

/**
 * The manifest's recipe and lock digests must be those of the archive's recipe.json and lock
 * (`digests`: member name -> sha256 hex); CHECK_FAILED names the one that differs.
 */
export function checkSourceMatches(
  digests: ReadonlyMap<string, string>,
  manifest: { readonly recipe: { readonly sha256: string }; readonly lock: { readonly sha256: string } },
  what = SOURCE_ARCHIVE,
): void {
  const pairs: [string, string][] = [
    [RECIPE_FILE, manifest.recipe.sha256],
    [LOCK_FILE, manifest.lock.sha256],
  ];
  for (const [name, want] of pairs) {
    const got = digests.get(name);
    if (got !== want)
      throw new NodeimgError(
        'CHECK_FAILED',
        `${what}: ${name} ${got === undefined ? 'is missing' : `has sha256 ${got}`}, the build manifest names ${want}`,
      );
  }
}

/**
 * Writes source.tar of the recipe into a temporary folder, checks it against the build manifest
 * (its recipe and lock must be the ones the manifest names), runs `fn` with it and removes it.
 */
export async function withSourceArchive<T>(
  opts: {
    readonly recipe: string;
    readonly cwd: string;
    readonly lock?: string;
    readonly manifest: Parameters<typeof checkSourceMatches>[1];
  },
  fn: (source: SourceArchive) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-source-'));
  try {
    const source = await writeSourceArchive({
      recipe: opts.recipe,
      cwd: opts.cwd,
      ...(opts.lock !== undefined ? { lock: opts.lock } : {}),
      outPath: join(dir, SOURCE_ARCHIVE),
    });
    checkSourceMatches(source.digests, opts.manifest);
    return await fn(source);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
