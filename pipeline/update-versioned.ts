// Read-modify-write of a mutable store object (the version pointer) with compare-and-swap: read it
// with its version, compute the new bytes, write only if nobody changed it meanwhile
// (ObjectStore.putVersioned), and on a lost race read again and redo the change. Two releases that
// update the pointer at the same time therefore both land, one after the other; neither is lost.
import { PublishError } from './errors.js';
import type { ObjectStore } from './ports.js';

export interface UpdateOptions {
  /** Attempts before giving up, default 8. */
  readonly attempts?: number;
  readonly contentType?: string;
  readonly maxBytes?: number;
}

export interface UpdateResult {
  /** The version written, or the current one when `change` returned undefined (nothing to do). */
  readonly version: string | undefined;
  readonly written: boolean;
  /** How many times `change` ran (1 when there was no race). */
  readonly attempts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `change` gets the current bytes (undefined when the object does not exist) and returns the new
 * bytes, or undefined to leave the object as it is. It may run several times: keep it pure.
 */
export async function updateVersioned(
  store: ObjectStore,
  key: string,
  change: (current: Uint8Array | undefined) => Uint8Array | undefined | Promise<Uint8Array | undefined>,
  options: UpdateOptions = {},
): Promise<UpdateResult> {
  const max = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const current = await store.getVersioned(
      key,
      options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes },
    );
    const next = await change(current?.bytes);
    if (next === undefined) return { version: current?.version, written: false, attempts: attempt };
    try {
      const version = await store.putVersioned(key, next, {
        expected: current?.version ?? null,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
      });
      return { version, written: true, attempts: attempt };
    } catch (err) {
      if (
        !(err instanceof PublishError && err.code === 'PUBLISH_CONFLICT' && err.retryable) ||
        attempt >= max
      )
        throw err;
      await sleep(Math.random() * 20 * attempt);
    }
  }
}
