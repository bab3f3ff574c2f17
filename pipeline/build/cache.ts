// The build cache (--cache DIR; default $NODEIMG_CACHE, else $XDG_CACHE_HOME/nodeimg, else
// ~/.cache/nodeimg):
//   DIR/stages/<key>/out/<output>   a finished stage's outputs
//   DIR/stages/<key>/stage.json     what they are (sha256, size): written before the folder is
//                                   renamed into place, so a folder under stages/ is always complete
//   DIR/debs/sha256/<hex>.deb       locked packages by content (image/build/stages/fetch.ts)
//   DIR/tmp/                        stages at work; removed when they end, stale ones on later runs
// A stage runs in DIR/tmp/<id>-XXXXXX/{out,work}/ and is published with one rename, so an
// interrupted or failed stage leaves nothing that looks like a result.
import { homedir } from 'node:os';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KnownFile } from '../../image/build/stages/types.js';

export interface CachedFile extends KnownFile {
  readonly path: string;
}

export interface CacheEntry {
  readonly key: string;
  readonly outputs: Readonly<Record<string, CachedFile>>;
}

export interface StageWorkspace {
  readonly dir: string;
  readonly outDir: string;
  readonly workDir: string;
}

interface StageRecord {
  readonly key: string;
  readonly id: string;
  readonly outputs: Readonly<Record<string, KnownFile>>;
}

const STALE_MS = 6 * 3600 * 1000;

/** --cache default: $NODEIMG_CACHE, $XDG_CACHE_HOME/nodeimg or ~/.cache/nodeimg. Pure but for homedir. */
export function defaultCacheDir(env: NodeJS.ProcessEnv, cwd: string): string {
  const own = env['NODEIMG_CACHE'];
  if (own) return resolve(cwd, own);
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg) return resolve(cwd, xdg, 'nodeimg');
  return join(homedir(), '.cache', 'nodeimg');
}

export class StageCache {
  readonly root: string;
  readonly stagesDir: string;
  readonly tmpDir: string;
  readonly debsDir: string;
  /** The lock's apt metadata (InRelease files and Packages indexes by sha256, issue 12). */
  readonly metaDir: string;

  constructor(root: string) {
    this.root = root;
    this.stagesDir = join(root, 'stages');
    this.tmpDir = join(root, 'tmp');
    this.debsDir = join(root, 'debs');
    this.metaDir = join(root, 'apt-meta');
  }

  async init(): Promise<void> {
    for (const d of [this.stagesDir, this.tmpDir, this.debsDir]) await mkdir(d, { recursive: true });
  }

  private entryDir(key: string): string {
    return join(this.stagesDir, key);
  }

  /** The entry for `key` if it is complete: its record is there and every output has its size. */
  async lookup(key: string, outputs: readonly string[]): Promise<CacheEntry | undefined> {
    const dir = this.entryDir(key);
    let record: StageRecord;
    try {
      record = JSON.parse(await readFile(join(dir, 'stage.json'), 'utf8')) as StageRecord;
    } catch {
      return undefined;
    }
    const files: Record<string, CachedFile> = {};
    for (const name of outputs) {
      const known = record.outputs[name];
      const path = join(dir, 'out', name);
      const st = await stat(path).catch(() => undefined);
      if (!known || !st || !st.isFile() || st.size !== known.size) return undefined;
      files[name] = { path, sha256: known.sha256, size: known.size };
    }
    return { key, outputs: files };
  }

  /** A fresh workspace for a stage run. */
  async begin(id: string): Promise<StageWorkspace> {
    const dir = await mkdtemp(join(this.tmpDir, `${id.replace(/[^A-Za-z0-9.+-]/g, '_')}-`));
    const outDir = join(dir, 'out');
    const workDir = join(dir, 'work');
    await mkdir(outDir);
    await mkdir(workDir);
    return { dir, outDir, workDir };
  }

  /** Publishes a finished workspace as the entry for `key` (or keeps an entry another build published). */
  async commit(
    ws: StageWorkspace,
    key: string,
    id: string,
    outputs: Readonly<Record<string, KnownFile>>,
  ): Promise<CacheEntry> {
    await rm(ws.workDir, { recursive: true, force: true });
    const record: StageRecord = { key, id, outputs };
    await writeFile(join(ws.dir, 'stage.json'), `${JSON.stringify(record, null, 2)}\n`);
    try {
      await rename(ws.dir, this.entryDir(key));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await this.abandon(ws); // a concurrent build published the same key first
    }
    const entry = await this.lookup(key, Object.keys(outputs));
    if (!entry) throw new Error(`cache entry ${key} vanished right after it was published`);
    return entry;
  }

  async abandon(ws: StageWorkspace): Promise<void> {
    await rm(ws.dir, { recursive: true, force: true });
  }

  /** Removes the entry for `key` (its files did not match their record). */
  async discard(key: string): Promise<void> {
    const dir = this.entryDir(key);
    const gone = `${dir}.discarded-${process.pid}`;
    await rename(dir, gone).catch(() => undefined);
    await rm(gone, { recursive: true, force: true });
  }

  /** Removes workspaces older than 6 hours (left by a killed build). */
  async cleanStale(now = Date.now()): Promise<void> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const p = join(this.tmpDir, name);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > STALE_MS) await rm(p, { recursive: true, force: true });
    }
  }
}
