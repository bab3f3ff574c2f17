// Hashes the leaf level of a dm-verity tree from a file on several threads: the data blocks are
// split into one contiguous range per thread (the calling thread takes the last one, worker threads
// the others), each thread reads its range with large positioned reads and writes its digests into
// one SharedArrayBuffer (disjoint slots, so no locking). The upper levels are small (1/128 of the leaves for sha256 and 4 KiB blocks) and are
// built afterwards on the calling thread (completeVerityTree). Under vitest/tsx the worker runs the
// TypeScript source through tsx's loader; from dist/ it runs verity-worker.js directly.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { NodeimgError, type ErrorCode } from '../formats/errors.js';
import { allocLeafLevel, type VerityPlan } from '../formats/verity/index.js';
import { hashLeafRange, LEAF_READ, type LeafJob } from './verity-leaves.js';

/** Below this many data bytes one thread is faster than starting workers. */
export const PARALLEL_THRESHOLD = 64 * 1024 * 1024;

export interface LeafOptions {
  /** Threads hashing the leaves, the calling one included; default 1 below PARALLEL_THRESHOLD, else min(2, cores). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
}

function startWorker(job: LeafJob): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const target = JSON.stringify(new URL('./verity-worker.ts', self).href);
    // an eval'd worker resolves bare specifiers from the working directory, which may be outside
    // the repository (a build run from elsewhere): resolve tsx from here when the runtime can
    const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
    const api = JSON.stringify(resolve ? resolve('tsx/esm/api') : 'tsx/esm/api');
    const boot = `import(${api}).then(({ register }) => { register(); return import(${target}); });`;
    return new Worker(boot, { eval: true, workerData: job });
  }
  return new Worker(new URL('./verity-worker.js', self), { workerData: job });
}

function runWorker(job: LeafJob, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = startWorker(job);
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void w.terminate();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    w.on('message', (m: unknown) => {
      if (m === 'done') return finish();
      const e = m as { code: ErrorCode; message: string };
      finish(new NodeimgError(e.code, e.message));
    });
    w.on('error', (err) =>
      finish(new NodeimgError('INTERNAL', `dm-verity worker failed: ${err.message}`, { cause: err })),
    );
    w.on('exit', (code) => finish(new NodeimgError('INTERNAL', `dm-verity worker exited with ${code}`)));
  });
}

/** Level 0 of `plan`'s tree over the data blocks of `path`, hashed on `workers` threads. */
export async function hashLeaves(
  path: string,
  plan: VerityPlan,
  opts: LeafOptions = {},
): Promise<Uint8Array> {
  opts.signal?.throwIfAborted();
  const bytes = plan.dataBlocks * plan.dataBlockSize;
  const workers = Math.max(
    1,
    Math.floor(opts.workers ?? (bytes < PARALLEL_THRESHOLD ? 1 : Math.min(2, availableParallelism()))),
  );
  if (workers === 1) {
    const leaf = allocLeafLevel(plan);
    await hashLeafRange({ path, plan, first: 0, count: plan.dataBlocks, leaf }, opts.signal);
    return leaf;
  }
  const shared = allocLeafLevel(plan, (n) => new Uint8Array(new SharedArrayBuffer(n)));
  const align = Math.max(1, Math.floor(LEAF_READ / plan.dataBlockSize));
  const per = Math.ceil(plan.dataBlocks / workers / align) * align;
  // the first failure (or the caller's abort) stops the other workers
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const jobs: Promise<void>[] = [];
  for (let first = 0; first < plan.dataBlocks; first += per) {
    const count = Math.min(per, plan.dataBlocks - first);
    const job: LeafJob = { path, plan, first, count, leaf: shared };
    // the calling thread hashes the last range itself (one worker fewer to start)
    const run =
      first + per >= plan.dataBlocks ? hashLeafRange(job, stop.signal) : runWorker(job, stop.signal);
    jobs.push(
      run.catch((err: unknown) => {
        if (!stop.signal.aborted) stop.abort(err);
        throw err;
      }),
    );
  }
  const results = await Promise.allSettled(jobs);
  opts.signal?.removeEventListener('abort', onAbort);
  if (results.some((r) => r.status === 'rejected')) throw stop.signal.reason;
  return new Uint8Array(shared); // a copy in ordinary memory
}
