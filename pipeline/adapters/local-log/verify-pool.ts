// Signature checks of `nodeimg tlog serve` on worker threads. @noble/curves' p256.verify (pure JS,
// BigInt) takes ~5-6 ms per entry here and was the server's ceiling (bench/tlog.mjs); a small pool
// of workers (default: the number of cores, at most 4) takes it off the thread that parses
// requests, signs SETs and checkpoints, and commits batches. The in-directory mode of `nodeimg sign`
// (one entry) checks inline instead: starting a worker costs more than one check. Under vitest/tsx
// the workers run the TypeScript source through tsx's loader; from dist/ verify-worker.js directly.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DigestVerifier } from './hashedrekord-verify.js';

interface Slot {
  readonly worker: Worker;
  inflight: number;
}

function startWorker(): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const target = JSON.stringify(new URL('./verify-worker.ts', self).href);
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${target}); });`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(new URL('./verify-worker.js', self));
}

export class VerifyPool {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<
    number,
    { resolve(ok: boolean): void; reject(err: Error): void; slot: Slot }
  >();
  private next = 0;

  constructor(size = Math.min(4, availableParallelism())) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const slot: Slot = { worker: startWorker(), inflight: 0 };
      slot.worker.on('message', (m: { id: number; ok: boolean }) => {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        w.slot.inflight -= 1;
        w.resolve(m.ok);
      });
      slot.worker.on('error', (err) => this.failAll(slot, err));
      slot.worker.unref();
      this.slots.push(slot);
    }
  }

  /** The DigestVerifier to hand to LocalLog.open. */
  readonly verify: DigestVerifier = (digest, sig, point) => {
    const slot = this.slots.reduce((a, b) => (b.inflight < a.inflight ? b : a));
    const id = this.next++;
    slot.inflight += 1;
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ id, digest, sig, point });
    });
  };

  private failAll(slot: Slot, err: Error): void {
    for (const [id, w] of this.waiting)
      if (w.slot === slot) {
        this.waiting.delete(id);
        w.reject(new Error(`signature worker failed: ${err.message}`, { cause: err }));
      }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
