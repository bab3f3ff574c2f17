import { createHash } from 'node:crypto';
import { chunks, type ByteSource } from './formats/source.js';

/** sha256 of a whole source, streamed in chunks (constant memory for any size). */
export async function sha256Of(src: ByteSource): Promise<string> {
  const h = createHash('sha256');
  for await (const c of chunks(src, 0, src.size)) h.update(c);
  return h.digest('hex');
}
