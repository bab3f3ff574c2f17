// Reads a small input file whole (keys, trusted roots, event logs, reports) with a size cap: the
// securityfs event log reports size 0, so files are read to EOF rather than by their stat size.
// On its own so that commands which only read a key or a trusted root (fetch-measurements,
// verify-bundle) do not load the event-log decoder with it (issue 9, bench/fetch-measurements.mjs).
import { open, type FileHandle } from 'node:fs/promises';
import { NodeimgError } from '../errors.js';

const CHUNK = 1024 * 1024;

function ioError(path: string, err: unknown): NodeimgError {
  const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED';
  return new NodeimgError(code, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
}

/** Reads a whole file of at most `max` bytes; larger files are refused (PARSE_LIMIT) without reading them all. */
export async function readSmallFile(path: string, max: number, what: string): Promise<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, err);
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      // Ask for one byte more than allowed so that a file of exactly `max` bytes still reaches EOF.
      const buf = new Uint8Array(Math.min(CHUNK, max + 1 - total));
      let n: number;
      try {
        n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      } catch (err) {
        throw ioError(path, err);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > max) {
        throw new NodeimgError(
          'PARSE_LIMIT',
          `${path} is larger than the ${max / (1024 * 1024)} MiB limit for ${what}`,
          {
            hint: `is ${path} really ${what}?`,
          },
        );
      }
    }
    const out = new Uint8Array(total);
    let p = 0;
    for (const c of chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  } finally {
    await fh.close();
  }
}
