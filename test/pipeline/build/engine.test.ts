// The build engine with small stages written here (no external tools): cache keys, cache hits,
// what reruns after a change, failures and interruptions that leave nothing behind, damaged cache
// entries, source stages fetched only when needed, and the concurrency limit.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StageCache } from '../../../pipeline/build/cache.js';
import { Engine, type EngineOptions, type StageOutcome } from '../../../pipeline/build/engine.js';
import { BuildInterrupted } from '../../../pipeline/build/errors.js';
import { buildNode, sourceNode, type StageNode } from '../../../pipeline/build/graph.js';
import { NodeimgError } from '../../../pipeline/errors.js';
import type { BuildStage, SourceStage } from '../../../image/build/stages/types.js';

let dir: string;
let cache: StageCache;
const runs: string[] = [];

/** Writes params.text + every input's bytes (in name order) to out.txt. */
const concat: BuildStage<{ text: string }> = {
  kind: 'concat',
  version: 1,
  tools: [],
  outputs: () => ['out.txt'],
  async run(ctx) {
    runs.push(ctx.params.text);
    let s = ctx.params.text;
    for (const k of Object.keys(ctx.inputs).sort()) s += await readFile(ctx.inputs[k] as string, 'utf8');
    await writeFile(join(ctx.outDir, 'out.txt'), s);
  },
};

/** Waits until aborted (or `ms`), leaving a file in its folders. */
const slow: BuildStage<{ ms: number }> = {
  kind: 'slow',
  version: 1,
  tools: [],
  outputs: () => ['slow.txt'],
  async run(ctx) {
    runs.push('slow');
    await writeFile(join(ctx.workDir, 'scratch'), 'x');
    await writeFile(join(ctx.outDir, 'slow.txt'), 'partial');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ctx.params.ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(ctx.signal.reason as Error);
      });
    });
  },
};

const fail: BuildStage<{ why: string }> = {
  kind: 'fail',
  version: 1,
  tools: [],
  outputs: () => ['never'],
  async run(ctx) {
    runs.push('fail');
    throw new NodeimgError('CHECK_FAILED', ctx.params.why);
  },
};

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A source whose one file is `text`, kept in storeDir/<sha>; fetching writes it. */
const source: SourceStage<{ text: string }> = {
  kind: 'src',
  version: 1,
  tools: [],
  known: (p) => ({ data: { sha256: sha(p.text), size: Buffer.byteLength(p.text) } }),
  async present(ctx) {
    const p = join(ctx.storeDir, sha(ctx.params.text));
    return (await readFile(p).then(
      () => true,
      () => false,
    ))
      ? { data: p }
      : undefined;
  },
  async materialize(ctx) {
    const p = join(ctx.storeDir, sha(ctx.params.text));
    const have = await readFile(p, 'utf8').catch(() => undefined);
    if (have === undefined) {
      runs.push(`fetch ${ctx.params.text}`);
      await mkdir(ctx.storeDir, { recursive: true });
      await writeFile(p, ctx.params.text);
    }
    return { paths: { data: p }, fetched: have === undefined };
  },
};

function graph(text: { a: string; b: string; c: string }): StageNode[] {
  return [
    sourceNode(source, 'src', { text: 'S' }),
    buildNode(concat, 'a', { text: text.a }, { s: { stage: 'src', output: 'data' } }),
    buildNode(concat, 'b', { text: text.b }, { a: { stage: 'a', output: 'out.txt' } }),
    buildNode(concat, 'c', { text: text.c }, { a: { stage: 'a', output: 'out.txt' } }),
  ];
}

function engine(nodes: StageNode[], more: Partial<EngineOptions> = {}): Engine {
  return new Engine(nodes, {
    cache,
    nodeimgVersion: 'test',
    toolVersions: {},
    runtimeVersions: {},
    concurrency: 2,
    ...more,
  });
}

const ran = (o: StageOutcome[]): string[] => o.filter((x) => x.status === 'ran').map((x) => x.id);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-engine-'));
  cache = new StageCache(join(dir, 'cache'));
  await cache.init();
  runs.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('build engine', () => {
  it('runs every stage once, then finds all of them in the cache with the same keys', async () => {
    const first = await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    expect(ran(first)).toEqual(['src', 'a', 'b', 'c']);
    expect(first.find((o) => o.id === 'b')?.outputs['out.txt']?.sha256).toBe(sha('BAS'));
    runs.length = 0;
    const second = await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    expect(second.map((o) => o.status)).toEqual(['cached', 'cached', 'cached', 'cached']);
    expect(runs).toEqual([]);
    expect(second.map((o) => o.key)).toEqual(first.map((o) => o.key));
    // the record of an input names where it came from
    expect(second.find((o) => o.id === 'b')?.inputs).toEqual({
      a: { sha256: sha('AS'), from: 'stage:a/out.txt' },
    });
  });

  it('a changed parameter reruns that stage and what reads it, nothing else', async () => {
    await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    runs.length = 0;
    const out = await engine(graph({ a: 'A', b: 'B2', c: 'C' })).run();
    expect(ran(out)).toEqual(['b']);
    runs.length = 0;
    const out2 = await engine(graph({ a: 'A2', b: 'B2', c: 'C' })).run();
    expect(ran(out2)).toEqual(['a', 'b', 'c']);
  });

  it('keys depend on tool versions, the implementation version and nodeimg', async () => {
    const nodes = graph({ a: 'A', b: 'B', c: 'C' });
    const k = (o: StageOutcome[]) => o.find((x) => x.id === 'a')?.key;
    const base = k(await engine(nodes).run());
    expect(k(await engine(nodes, { nodeimgVersion: 'other' }).run())).not.toBe(base);
    const toolStage = { ...concat, tools: [{ bin: 'cat', package: 'coreutils' }] };
    const withTool = (v: string) =>
      engine(
        [
          sourceNode(source, 'src', { text: 'S' }),
          buildNode(toolStage, 'a', { text: 'A' }, { s: { stage: 'src', output: 'data' } }),
        ],
        {
          toolVersions: { coreutils: v },
        },
      ).run();
    expect(k(await withTool('9.1'))).not.toBe(k(await withTool('9.2')));
    const v2 = { ...concat, version: 2 };
    expect(
      k(
        await engine([
          sourceNode(source, 'src', { text: 'S' }),
          buildNode(v2, 'a', { text: 'A' }, { s: { stage: 'src', output: 'data' } }),
        ]).run(),
      ),
    ).not.toBe(base);
  });

  it('a source is fetched only when a stage that reads it runs', async () => {
    await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    await rm(cache.debsDir, { recursive: true, force: true });
    runs.length = 0;
    const out = await engine(graph({ a: 'A', b: 'B3', c: 'C' })).run();
    expect(runs).toEqual(['B3']);
    expect(out.find((o) => o.id === 'src')?.status).toBe('skipped');
    runs.length = 0;
    await engine(graph({ a: 'A4', b: 'B3', c: 'C' })).run();
    expect(runs[0]).toBe('fetch S');
  });

  it('the first failure stops the others; nothing of them is cached and no workspace is left', async () => {
    const nodes: StageNode[] = [
      buildNode(slow, 'slow', { ms: 60_000 }),
      buildNode(fail, 'fail', { why: 'broken on purpose' }),
      buildNode(concat, 'after', { text: 'x' }, { f: { stage: 'fail', output: 'never' } }),
    ];
    const failed: string[] = [];
    const t0 = Date.now();
    const err = await engine(nodes, { events: { failed: (id) => failed.push(id) } })
      .run()
      .catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(NodeimgError);
    expect((err as NodeimgError).code).toBe('CHECK_FAILED');
    expect((err as Error).message).toBe('stage fail: broken on purpose');
    expect(failed).toEqual(['fail']);
    expect(runs).not.toContain('x');
    expect(await readdir(cache.stagesDir)).toEqual([]);
    expect(await readdir(cache.tmpDir)).toEqual([]);
  });

  it('an abort signal stops a running stage: BuildInterrupted, nothing cached, no workspace left; the next run works', async () => {
    const ac = new AbortController();
    const nodes = [
      buildNode(slow, 'slow', { ms: 60_000 }),
      buildNode(concat, 'x', { text: 'x' }, { s: { stage: 'slow', output: 'slow.txt' } }),
    ];
    const p = engine(nodes, {
      signal: ac.signal,
      events: { start: (id) => id === 'slow' && setTimeout(() => ac.abort(new Error('test')), 50) },
    }).run();
    await expect(p).rejects.toBeInstanceOf(BuildInterrupted);
    expect(await readdir(cache.stagesDir)).toEqual([]);
    expect(await readdir(cache.tmpDir)).toEqual([]);
    const again = await engine([buildNode(slow, 'slow', { ms: 10 }), nodes[1] as StageNode]).run();
    expect(ran(again)).toEqual(['slow', 'x']);
  });

  it('a damaged cache entry is found before it is used, removed, and reported', async () => {
    const first = await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    const a = first.find((o) => o.id === 'a')?.outputs['out.txt']?.path as string;
    await writeFile(a, 'XS'); // same size, other bytes
    const err = await engine(graph({ a: 'A', b: 'B5', c: 'C' }))
      .run()
      .catch((e: unknown) => e);
    expect((err as NodeimgError).code).toBe('CHECK_FAILED');
    expect((err as Error).message).toMatch(
      /cached output out.txt of stage a has sha256 .* the damaged cache entry was removed/,
    );
    runs.length = 0;
    const out = await engine(graph({ a: 'A', b: 'B5', c: 'C' })).run();
    expect(ran(out)).toEqual(['a', 'b']);
    expect(await readFile(out.find((o) => o.id === 'b')?.outputs['out.txt']?.path as string, 'utf8')).toBe(
      'B5AS',
    );
  });

  it('--verify-cache re-hashes cache hits and rebuilds a damaged one', async () => {
    const first = await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    await writeFile(first.find((o) => o.id === 'c')?.outputs['out.txt']?.path as string, 'ZZZ');
    const trusting = await engine(graph({ a: 'A', b: 'B', c: 'C' })).run();
    expect(ran(trusting)).toEqual([]);
    const verified = await engine(graph({ a: 'A', b: 'B', c: 'C' }), { verifyCache: true }).run();
    expect(ran(verified)).toEqual(['c']);
  });

  it('runs at most `concurrency` stages at once', async () => {
    let now = 0;
    let peak = 0;
    const busy: BuildStage<{ n: number }> = {
      kind: 'busy',
      version: 1,
      tools: [],
      outputs: () => ['o'],
      async run(ctx) {
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, 30));
        now--;
        await writeFile(join(ctx.outDir, 'o'), String(ctx.params.n));
      },
    };
    await engine(
      Array.from({ length: 6 }, (_, n) => buildNode(busy, `b${n}`, { n })),
      { concurrency: 2 },
    ).run();
    expect(peak).toBe(2);
  });

  it('refuses a stage that writes other files than it declares', async () => {
    const liar: BuildStage<{ x: number }> = {
      ...concat,
      kind: 'liar',
      outputs: () => ['declared'],
      run: async (ctx) => writeFile(join(ctx.outDir, 'other'), ''),
    };
    const err = await engine([buildNode(liar, 'liar', { x: 1 })])
      .run()
      .catch((e: unknown) => e);
    expect((err as NodeimgError).code).toBe('INTERNAL');
    expect((err as Error).message).toMatch(/wrote other; it declares declared/);
  });
});
