// The build engine (issue 6 §3): runs a stage graph with a content-addressed cache. A stage's key is
// the sha256 of the canonical JSON of {kind, version, nodeimg, params, inputs: {name: sha256},
// tools: {package: version}, runtime}; a stage whose key is in the cache does not run. Keys are
// computed from digests alone, so source stages (locked .debs, digests known from the lock) are only
// fetched or verified when a stage that reads them really runs. Before a stage runs, every input
// file is hashed (once per build) and compared with the digest its key was made from: a damaged
// cache entry is removed and reported instead of being used. Independent stages run concurrently
// (at most `concurrency` at a time); the first failure aborts the others, and the engine returns
// only when every running stage has stopped and cleaned up.
import { availableParallelism } from 'node:os';
import { readdir } from 'node:fs/promises';
import { CheckFailedError, NodeimgError } from '../errors.js';
import type { KnownFile } from '../../image/build/stages/types.js';
import type { CacheEntry, StageCache } from './cache.js';
import { canonicalDigest, type CanonicalValue } from './canonical.js';
import { BuildInterrupted, contextError } from './errors.js';
import { checkGraph, type BuildNode, type InputRef, type SourceNode, type StageNode } from './graph.js';
import { FileHasher } from './hasher.js';
import { Semaphore } from './semaphore.js';

export type StageStatus = 'ran' | 'cached' | 'skipped';

export interface StageInputRecord {
  readonly sha256: string;
  /** stage:<id>/<output> or file:<label>. */
  readonly from: string;
}

export interface OutputRecord extends KnownFile {
  /** Where the file is (absent for a skipped source stage). */
  readonly path?: string;
}

export interface StageOutcome {
  readonly id: string;
  readonly key: string;
  readonly status: StageStatus;
  readonly elapsedMs: number;
  readonly inputs: Readonly<Record<string, StageInputRecord>>;
  readonly tools: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, OutputRecord>>;
}

export interface EngineEvents {
  /** The stage starts to run (it was not in the cache). */
  start?(id: string): void;
  progress?(id: string, text: string): void;
  done?(outcome: StageOutcome): void;
  /** The stage failed (the first failure of the build; the others are stopped). */
  failed?(id: string, error: NodeimgError): void;
}

export interface EngineOptions {
  readonly cache: StageCache;
  readonly nodeimgVersion: string;
  /** Debian package -> version, for every package a stage's tools come from. */
  readonly toolVersions: Readonly<Record<string, string>>;
  /** 'node', 'zlib' -> version. */
  readonly runtimeVersions: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Stages running at once; default the number of CPUs. */
  readonly concurrency?: number;
  /** Hash the outputs of cache hits too (slower; finds damaged entries a size check misses). */
  readonly verifyCache?: boolean;
  readonly events?: EngineEvents;
}

interface Keyed {
  readonly key: string;
  readonly inputs: Record<string, StageInputRecord>;
  readonly tools: Record<string, string>;
}

const ABSENT = 'not installed';

export class Engine {
  private readonly nodes: ReadonlyMap<string, StageNode>;
  private readonly order: readonly StageNode[];
  private readonly opts: EngineOptions;
  private readonly ac = new AbortController();
  private readonly hasher = new FileHasher();
  private readonly slots: Semaphore;
  private readonly ensured = new Map<string, Promise<StageOutcome & { entry: CacheEntry }>>();
  private readonly materialized = new Map<
    string,
    Promise<{ paths: Readonly<Record<string, string>>; outcome: StageOutcome }>
  >();
  private firstError: NodeimgError | undefined;

  constructor(nodes: readonly StageNode[], opts: EngineOptions) {
    checkGraph(nodes);
    this.order = nodes;
    this.nodes = new Map(nodes.map((n) => [n.id, n]));
    this.opts = opts;
    this.slots = new Semaphore(opts.concurrency ?? availableParallelism());
    const user = opts.signal;
    if (user?.aborted) this.ac.abort(user.reason);
    user?.addEventListener('abort', () => this.ac.abort(user.reason), { once: true });
  }

  private get signal(): AbortSignal {
    return this.ac.signal;
  }

  private node(id: string): StageNode {
    const n = this.nodes.get(id);
    if (!n) throw new NodeimgError('INTERNAL', `no stage ${id}`);
    return n;
  }

  /** Runs every stage; resolves with their outcomes in graph order. */
  async run(): Promise<StageOutcome[]> {
    const builds = this.order.filter((n): n is BuildNode => n.type === 'build');
    const settled = await Promise.allSettled(builds.map((n) => this.ensure(n.id)));
    if (this.firstError) throw this.firstError;
    if (this.opts.signal?.aborted) throw new BuildInterrupted(this.opts.signal.reason);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw contextError('build', failed.reason);
    const byId = new Map<string, StageOutcome>();
    for (const s of settled) if (s.status === 'fulfilled') byId.set(s.value.id, s.value);
    for (const n of this.order) if (n.type === 'source') byId.set(n.id, await this.sourceOutcome(n));
    return this.order.map((n) => byId.get(n.id) as StageOutcome);
  }

  /** Records the first real failure and stops everything else. */
  private fail(id: string, err: unknown): never {
    if (this.signal.aborted)
      throw err instanceof NodeimgError ? err : new BuildInterrupted(this.signal.reason);
    const wrapped = contextError(`stage ${id}`, err);
    this.firstError = wrapped;
    this.opts.events?.failed?.(id, wrapped);
    this.ac.abort(wrapped);
    throw wrapped;
  }

  private async digestsOf(id: string): Promise<Readonly<Record<string, KnownFile>>> {
    const n = this.node(id);
    return n.type === 'source' ? n.known : (await this.ensure(id)).outputs;
  }

  private async keyOf(n: StageNode): Promise<Keyed> {
    const inputs: Record<string, StageInputRecord> = {};
    for (const [name, ref] of Object.entries(n.inputs).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if ('stage' in ref) {
        const d = (await this.digestsOf(ref.stage))[ref.output];
        if (!d) throw new NodeimgError('INTERNAL', `${ref.stage} has no output ${ref.output}`);
        inputs[name] = { sha256: d.sha256, from: `stage:${ref.stage}/${ref.output}` };
      } else {
        const sha256 = ref.digest
          ? await ref.digest()
          : (await this.hasher.digest(ref.file, this.signal)).sha256;
        inputs[name] = { sha256, from: `file:${ref.label}` };
      }
    }
    const tools: Record<string, string> = {};
    for (const t of n.tools) tools[t.package] = this.opts.toolVersions[t.package] ?? ABSENT;
    const runtime: Record<string, string> = {};
    for (const r of n.runtime) runtime[r] = this.opts.runtimeVersions[r] ?? 'unknown';
    const key = canonicalDigest({
      kind: n.kind,
      version: n.version,
      nodeimg: this.opts.nodeimgVersion,
      params: n.params as CanonicalValue,
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.sha256])),
      tools,
      runtime,
    });
    return { key, inputs, tools: { ...tools, ...runtime } };
  }

  private ensure(id: string): Promise<StageOutcome & { entry: CacheEntry }> {
    let p = this.ensured.get(id);
    if (!p) {
      const n = this.node(id);
      if (n.type !== 'build') throw new NodeimgError('INTERNAL', `${id} is not a build stage`);
      p = this.build(n).catch((err: unknown) => this.fail(id, err));
      this.ensured.set(id, p);
    }
    return p;
  }

  private async build(n: BuildNode): Promise<StageOutcome & { entry: CacheEntry }> {
    const t0 = Date.now();
    const keyed = await this.keyOf(n);
    let hit = await this.opts.cache.lookup(keyed.key, n.outputs);
    if (hit && this.opts.verifyCache && !(await this.intact(hit))) {
      await this.opts.cache.discard(keyed.key);
      hit = undefined;
    }
    if (hit) return this.finish(n, keyed, hit, 'cached', Date.now() - t0);
    const release = await this.slots.acquire(this.signal);
    try {
      this.signal.throwIfAborted();
      this.opts.events?.start?.(n.id);
      const t1 = Date.now();
      const paths: Record<string, string> = {};
      for (const [name, ref] of Object.entries(n.inputs))
        paths[name] = await this.inputPath(ref, keyed.inputs[name] as StageInputRecord);
      const ws = await this.opts.cache.begin(n.id);
      try {
        await n.run({
          inputs: paths,
          outDir: ws.outDir,
          workDir: ws.workDir,
          signal: this.signal,
          progress: (text) => this.opts.events?.progress?.(n.id, text),
        });
        this.signal.throwIfAborted();
        const written = (await readdir(ws.outDir)).sort();
        const declared = [...n.outputs].sort();
        if (written.join('\n') !== declared.join('\n'))
          throw new NodeimgError(
            'INTERNAL',
            `wrote ${written.join(', ') || 'nothing'}; it declares ${declared.join(', ')}`,
          );
        const outputs: Record<string, KnownFile> = {};
        for (const name of declared)
          outputs[name] = await this.hasher.digest(`${ws.outDir}/${name}`, this.signal);
        const entry = await this.opts.cache.commit(ws, keyed.key, n.id, outputs);
        for (const f of Object.values(entry.outputs)) this.hasher.remember(f.path, f);
        return this.finish(n, keyed, entry, 'ran', Date.now() - t1);
      } catch (err) {
        await this.opts.cache.abandon(ws);
        throw err;
      }
    } finally {
      release();
    }
  }

  private finish(
    n: StageNode,
    keyed: Keyed,
    entry: CacheEntry,
    status: StageStatus,
    elapsedMs: number,
  ): StageOutcome & { entry: CacheEntry } {
    const outcome = {
      id: n.id,
      key: keyed.key,
      status,
      elapsedMs,
      inputs: keyed.inputs,
      tools: keyed.tools,
      outputs: entry.outputs,
      entry,
    };
    this.opts.events?.done?.(outcome);
    return outcome;
  }

  private async intact(entry: CacheEntry): Promise<boolean> {
    for (const f of Object.values(entry.outputs)) {
      if ((await this.hasher.digest(f.path, this.signal)).sha256 !== f.sha256) return false;
    }
    return true;
  }

  /** The path of an input, present and checked against the digest the key was made from. */
  private async inputPath(ref: InputRef, expected: StageInputRecord): Promise<string> {
    if (!('stage' in ref)) return ref.file;
    const from = this.node(ref.stage);
    if (from.type === 'source') {
      const m = await this.materialize(from);
      const path = m.paths[ref.output] as string;
      this.hasher.remember(path, from.known[ref.output] as KnownFile);
      return path;
    }
    const out = await this.ensure(ref.stage);
    const file = out.outputs[ref.output];
    if (!file?.path) throw new NodeimgError('INTERNAL', `${ref.stage} has no output ${ref.output}`);
    const got = await this.hasher.digest(file.path, this.signal);
    if (got.sha256 !== expected.sha256) {
      await this.opts.cache.discard(out.key);
      throw new CheckFailedError(
        `the cached output ${ref.output} of stage ${ref.stage} has sha256 ${got.sha256}, not ${expected.sha256} as recorded; the damaged cache entry was removed`,
        { hint: 'run the build again: the stage runs afresh' },
      );
    }
    return file.path;
  }

  private materialize(n: SourceNode) {
    let p = this.materialized.get(n.id);
    if (!p) {
      p = (async () => {
        const t0 = Date.now();
        this.opts.events?.start?.(n.id);
        const progress = (t: string): void => this.opts.events?.progress?.(n.id, t);
        const m = await n.materialize(this.opts.cache.debsDir, this.signal, progress);
        const outcome = await this.sourceRecord(n, m.fetched ? 'ran' : 'cached', m.paths, Date.now() - t0);
        this.opts.events?.done?.(outcome);
        return { paths: m.paths, outcome };
      })().catch((err: unknown) => this.fail(n.id, err));
      this.materialized.set(n.id, p);
    }
    return p;
  }

  private async sourceRecord(
    n: SourceNode,
    status: StageStatus,
    paths: Readonly<Record<string, string>> | undefined,
    elapsedMs: number,
  ): Promise<StageOutcome> {
    const keyed = await this.keyOf(n);
    const outputs: Record<string, OutputRecord> = {};
    for (const [name, k] of Object.entries(n.known)) {
      const path = paths?.[name];
      outputs[name] = { ...k, ...(path ? { path } : {}) };
    }
    return { id: n.id, key: keyed.key, status, elapsedMs, inputs: keyed.inputs, tools: keyed.tools, outputs };
  }

  /** A source stage's outcome: fetched or verified if a stage read it, else present or not. */
  private async sourceOutcome(n: SourceNode): Promise<StageOutcome> {
    const m = this.materialized.get(n.id);
    if (m) return (await m).outcome;
    const paths = await n.present(this.opts.cache.debsDir, this.signal);
    const outcome = await this.sourceRecord(n, paths ? 'cached' : 'skipped', paths, 0);
    this.opts.events?.done?.(outcome);
    return outcome;
  }
}
