// Hashing on a second core: a worker thread that runs the digests hashRangeGroups
// (formats/pe/stream-hash.ts) hands it (HashOffload), while the calling thread reads the file and
// hashes the rest. `nodeimg measure` of a UKI hashes most bytes twice (its Authenticode for PCR 4,
// the section contents for PCR 11): the section digests go here (bench/measure.mjs).
//
// The reader reads straight into a ring of slots in one SharedArrayBuffer that the thread lends
// (HashOffload.borrowed: no copy, no allocation, no page faults after the first lap); the worker
// posts a slot back once hashed, and borrow() waits for a free slot, so memory stays at SLOTS x
// slot size however far the worker falls behind. The worker is eval'd
// CommonJS using only node: builtins, so it starts without loading any module of ours (a few tens
// of ms; that cost is why callers start it only for large inputs) and runs the same from dist/ and
// from the TypeScript sources under vitest.
import { Worker } from 'node:worker_threads';
import { NodeimgError } from './formats/errors.js';
import type { HashAlg } from '../measurements/hash.js';
import type { HashOffload, OffloadPiece } from './formats/pe/stream-hash.js';

/**
 * UKIs below this many bytes are hashed on the calling thread: starting a worker costs ~35-45 ms
 * of CPU. bench/measure.mjs (72 MiB UKI, 2 cores, nearly idle): sha256 bank 0.38 -> 0.35 s,
 * sha1+sha256+sha384 0.98 -> 0.66 s; on a loaded machine (load 6-8) sha256 alone got slower.
 */
export const HASH_THREAD_MIN_BYTES = 32 * 1024 * 1024;
/** 24 x 1 MiB: the reader runs ahead while the worker starts (8 slots: 11-13 ms waiting for it). */
const SLOTS = 24;
const SLOT_SIZE = 1024 * 1024;

// messages to the worker: ['begin', id, algs] | ['feed', slot, pieces: [id, start, end][]] |
// ['zeros', id, count] | ['digest', id]; from it: ['free', slot] | ['digest', id, {alg: bytes}]
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { sab, slotSize } = workerData;
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m[0] === 'begin') hashes.set(m[1], m[2].map((a) => [a, createHash(a)]));
  else if (m[0] === 'feed') {
    const view = new Uint8Array(sab, m[1] * slotSize, slotSize);
    for (const [id, a, b] of m[2]) for (const [, h] of hashes.get(id)) h.update(view.subarray(a, b));
    parentPort.postMessage(['free', m[1]]);
  } else if (m[0] === 'zeros') {
    const z = new Uint8Array(Math.min(m[2], slotSize));
    for (let left = m[2]; left > 0; left -= z.length)
      for (const [, h] of hashes.get(m[1])) h.update(left >= z.length ? z : z.subarray(0, left));
  } else if (m[0] === 'digest') {
    const out = {};
    for (const [a, h] of hashes.get(m[1])) out[a] = new Uint8Array(h.digest());
    hashes.delete(m[1]);
    parentPort.postMessage(['digest', m[1], out]);
  }
});
`;

let prestarted: HashThread | undefined;

/**
 * Starts a worker now for the next takeHashThread(). `nodeimg measure` calls it for a large input
 * before it loads its own modules, so that the worker's start-up (~40 ms of bootstrap on the other
 * core) runs while they load instead of while the main thread waits for its first digests.
 */
export function prestartHashThread(): void {
  prestarted ??= new HashThread();
}

/** Whether a prestarted worker waits for takeHashThread(). */
export function hasPrestartedHashThread(): boolean {
  return prestarted !== undefined;
}

/** Closes a prestarted worker nobody took (the input's UKI was small, or the command failed first). */
export async function discardPrestartedHashThread(): Promise<void> {
  const t = prestarted;
  prestarted = undefined;
  await t?.close();
}

/** The prestarted worker, or a new one; the caller owns it and close()s it. */
export function takeHashThread(): HashThread {
  const t = prestarted ?? new HashThread();
  prestarted = undefined;
  return t;
}

type FromWorker = ['free', number] | ['digest', number, Partial<Record<HashAlg, Uint8Array>>];

/**
 * A worker thread serving HashOffload; close() it when done. It keeps the process alive only while
 * someone waits for it (a digest or a free slot), so a forgotten close() cannot hang the CLI.
 */
export class HashThread implements HashOffload {
  private readonly worker: Worker;
  private readonly sab = new SharedArrayBuffer(SLOTS * SLOT_SIZE);
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private slotWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (d: Partial<Record<HashAlg, Uint8Array>>) => void; reject: (e: unknown) => void }
  >();
  private nextId = 0;
  private failure: NodeimgError | undefined;
  private closed = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sab: this.sab, slotSize: SLOT_SIZE },
    });
    this.worker.on('message', (m: FromWorker) => {
      if (m[0] === 'free') {
        this.free.push(m[1]);
        this.slotWaiters.shift()?.resolve();
      } else {
        this.pending.get(m[1])?.resolve(m[2]);
        this.pending.delete(m[1]);
      }
      this.holdOpen();
    });
    this.worker.on('error', (err) =>
      this.fail(new NodeimgError('INTERNAL', `hash worker failed: ${err.message}`, { cause: err })),
    );
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new NodeimgError('INTERNAL', `hash worker exited with ${code}`));
    });
    // after the listeners: adding a 'message' listener refs the worker again
    this.worker.unref();
  }

  private fail(err: NodeimgError): void {
    this.failure ??= err;
    for (const w of this.slotWaiters) w.reject(err);
    this.slotWaiters = [];
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.holdOpen();
  }

  /** Refs the worker while an answer is awaited, unrefs it otherwise. */
  private holdOpen(): void {
    if (this.pending.size > 0 || this.slotWaiters.length > 0) this.worker.ref();
    else this.worker.unref();
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new NodeimgError('INTERNAL', 'hash worker used after close()');
  }

  begin(algs: readonly HashAlg[]): number {
    this.check();
    const id = this.nextId++;
    this.worker.postMessage(['begin', id, [...algs]]);
    return id;
  }

  /** Slots lent to the caller to read into (HashOffload.borrowed): no copy per chunk. */
  readonly borrowed = {
    slotSize: SLOT_SIZE,
    borrow: async (): Promise<Uint8Array> =>
      new Uint8Array(this.sab, (await this.freeSlot()) * SLOT_SIZE, SLOT_SIZE),
    feedBorrowed: (buffer: Uint8Array, pieces: readonly OffloadPiece[]): void => {
      this.check();
      this.worker.postMessage(['feed', this.slotOf(buffer), pieces.map((p) => [p.id, p.start, p.end])]);
    },
    giveBack: (buffer: Uint8Array): void => {
      this.free.push(this.slotOf(buffer));
      this.slotWaiters.shift()?.resolve();
      this.holdOpen();
    },
  };

  /** Takes a free slot, waiting for the worker to free one. */
  private async freeSlot(): Promise<number> {
    this.check();
    while (this.free.length === 0) {
      const wait = new Promise<void>((resolve, reject) => this.slotWaiters.push({ resolve, reject }));
      this.holdOpen();
      await wait;
    }
    return this.free.pop() as number;
  }

  /** The slot a lent buffer starts at (anything else is a bug). */
  private slotOf(buffer: Uint8Array): number {
    const slot = buffer.byteOffset / SLOT_SIZE;
    if (buffer.buffer !== this.sab || !Number.isInteger(slot) || slot < 0 || slot >= SLOTS)
      throw new NodeimgError('INTERNAL', 'a buffer that is not one of the hash worker slots was handed back');
    return slot;
  }

  zeros(id: number, count: number): void {
    this.check();
    this.worker.postMessage(['zeros', id, count]);
  }

  digests(id: number): Promise<Partial<Record<HashAlg, Uint8Array>>> {
    this.check();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.holdOpen();
      this.worker.postMessage(['digest', id]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
