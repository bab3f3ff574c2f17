// chunks() prefetches the next read while the caller consumes the current chunk. A consumer that
// stops early must not leave that read to become an unhandled rejection (Node would crash).
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { chunks, type ByteSource } from '../../image/formats/source.js';

describe('chunks()', () => {
  it('an early break does not leak the failing prefetched read', async () => {
    const leaked: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      leaked.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const src: ByteSource = {
        size: 100,
        base: 0,
        name: 'flaky',
        read: (offset, length) =>
          offset === 0
            ? Promise.resolve(new Uint8Array(length))
            : new Promise((_, reject) =>
                setTimeout(() => reject(new ParseError('PARSE_TRUNCATED', 'flaky', offset, 'gone')), 5),
              ),
      };
      for await (const c of chunks(src, 0, 100, 10)) {
        expect(c.length).toBe(10);
        break;
      }
      await new Promise((r) => setTimeout(r, 30));
      expect(leaked).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
