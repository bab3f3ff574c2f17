// Fault injection for the publishing tests (issue 8): a store that fails, as a network or disk
// failure would (a retryable PublishError), at its `failAt`-th write, counting every write; and a
// key -> sha256 snapshot of a whole store to compare stores byte for byte.
import { PublishError } from '../../pipeline/errors.js';
import type { ObjectStore } from '../../pipeline/ports.js';
import { sha256Hex } from '../../pipeline/release/version-index.js';

/** `inner`, failing at write number `failAt` (0: never; `writes` then counts them). */
export function failingStore(inner: ObjectStore, failAt: number): ObjectStore & { writes: number } {
  const s = Object.create(inner) as ObjectStore & { writes: number };
  s.writes = 0;
  const gate = (key: string): void => {
    s.writes++;
    if (s.writes === failAt)
      throw new PublishError(
        'PUBLISH_FAILED',
        { target: key, fault: 'server', retryable: true },
        'injected failure',
      );
  };
  s.putImmutable = async (key, body, options) => {
    gate(key);
    return inner.putImmutable(key, body, options);
  };
  s.putVersioned = async (key, bytes, options) => {
    gate(key);
    return inner.putVersioned(key, bytes, options);
  };
  return s;
}

/** Every object's key and sha256. */
export async function snapshot(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await store.list(''))
    out.set(key, sha256Hex((await store.get(key, { maxBytes: 1 << 30 })) ?? new Uint8Array()));
  return out;
}
