// The read cache reproduce puts in front of a partition: any read (inside one block, across
// blocks, whole blocks, the last short block, after evictions) returns exactly the bytes of the
// source; ranges outside it are a ParseError as from the source itself.
import { expect, it } from 'vitest';
import { fromBytes } from '../../../image/formats/source.js';
import { cachedSource } from '../../../pipeline/reproduce/cached-source.js';
import { fillRandom, Prng } from '../../helpers/prng.js';

it('returns the same bytes as the source for 5,000 random reads', async () => {
  const bytes = fillRandom(new Uint8Array(40 * 1024 * 1024 + 123), 11);
  const src = fromBytes(bytes, 'disk');
  const cached = cachedSource(src);
  const rng = new Prng(7);
  for (let i = 0; i < 5_000; i++) {
    const length = rng.chance(0.1) ? rng.int(300 * 1024) : rng.int(40 * 1024);
    const offset = rng.chance(0.05) ? bytes.length - length : rng.int(bytes.length - length);
    expect(
      Buffer.from(await cached.read(offset, length)).equals(Buffer.from(await src.read(offset, length))),
    ).toBe(true);
  }
  await expect(cached.read(bytes.length - 10, 11)).rejects.toMatchObject({ code: 'PARSE_TRUNCATED' });
  expect([cached.size, cached.base, cached.name]).toEqual([src.size, src.base, src.name]);
});
