// A read cache in front of a ByteSource, for walking a file system inside a disk image: erofs
// packs inodes, directories and small files next to each other, so reading them one by one costs
// one file read (a libuv round trip) each; through aligned 16 KiB blocks kept in an LRU, most of
// them hit a block read for a neighbour (measured on two 600 MiB images of 54,000 entries: about
// 10 s instead of 15 s; larger blocks read too much around scattered inodes). Reads of a whole
// block or more bypass the cache. Memory: at most BLOCKS x BLOCK bytes (32 MiB).
import { checkRange, type ByteSource } from '../../image/formats/source.js';

const BLOCK = 16 * 1024;
const BLOCKS = 2048;

export function cachedSource(src: ByteSource): ByteSource {
  const cache = new Map<number, Promise<Uint8Array>>();
  const block = (i: number): Promise<Uint8Array> => {
    let b = cache.get(i);
    if (b) {
      cache.delete(i); // most recently used last
      cache.set(i, b);
      return b;
    }
    b = src.read(i * BLOCK, Math.min(BLOCK, src.size - i * BLOCK));
    b.catch(() => cache.delete(i));
    cache.set(i, b);
    if (cache.size > BLOCKS) cache.delete(cache.keys().next().value as number);
    return b;
  };
  return {
    size: src.size,
    base: src.base,
    name: src.name,
    async read(offset, length) {
      checkRange(this, offset, length);
      if (length >= BLOCK) return src.read(offset, length);
      const first = Math.floor(offset / BLOCK);
      const last = Math.floor((offset + Math.max(length, 1) - 1) / BLOCK);
      if (first === last) {
        const b = await block(first);
        return b.subarray(offset - first * BLOCK, offset - first * BLOCK + length);
      }
      const out = new Uint8Array(length);
      for (let i = first, done = 0; i <= last; i++) {
        const b = await block(i);
        const from = Math.max(offset, i * BLOCK) - i * BLOCK;
        const n = Math.min(b.length - from, length - done);
        out.set(b.subarray(from, from + n), done);
        done += n;
      }
      return out;
    },
  };
}
