// Integrity checks shared by the store adapters: SHA-256 of bytes, a stream that checks its size
// and digest when it ends, and a capped read of a whole stream. A mismatch is a PUBLISH_INTEGRITY
// PublishError (exit 1): the bytes a store returned are not the ones that were published.
import { createHash } from 'node:crypto';
import { PublishError } from '../../errors.js';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface Expectation {
  /** Store ref + key, for messages. */
  readonly target: string;
  readonly size?: number | undefined;
  readonly sha256?: string | undefined;
}

export function integrityError(target: string, message: string, fault: 'client' | 'server'): PublishError {
  return new PublishError('PUBLISH_INTEGRITY', { target, fault, retryable: false }, message, {
    hint:
      fault === 'server'
        ? 'the stored object or the transfer is corrupt: do not use these bytes'
        : 'the file changed or the given sha256 is wrong',
  });
}

function checkEnd(exp: Expectation, n: number, digest: string): void {
  if (exp.size !== undefined && n !== exp.size)
    throw integrityError(exp.target, `received ${n} bytes, expected ${exp.size}`, 'server');
  if (exp.sha256 !== undefined && digest !== exp.sha256)
    throw integrityError(exp.target, `sha256 ${digest} does not match the expected ${exp.sha256}`, 'server');
}

/** Yields `source` unchanged and throws after the last chunk if its size or SHA-256 is wrong. */
export async function* verifiedStream(
  source: AsyncIterable<Uint8Array>,
  exp: Expectation,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (exp.size !== undefined && n > exp.size)
      throw integrityError(exp.target, `more than the expected ${exp.size} bytes`, 'server');
    hash.update(chunk);
    yield chunk;
  }
  checkEnd(exp, n, hash.digest('hex'));
}

/** Reads a whole stream, refusing more than `maxBytes`, then checks size and SHA-256. */
export async function readVerified(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  exp: Expectation,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > maxBytes) throw tooLarge(exp.target, maxBytes);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks, n);
  checkEnd(exp, n, sha256Hex(bytes));
  return bytes;
}

export function tooLarge(target: string, maxBytes: number, size?: number): PublishError {
  const what = size === undefined ? 'the object is' : `the object (${size} bytes) is`;
  return new PublishError(
    'PUBLISH_FAILED',
    { target, fault: 'server', retryable: false },
    `${what} larger than the limit of ${maxBytes} bytes`,
    { hint: 'use getStream() for large objects, or raise maxBytes' },
  );
}

/** get()'s default cap: documents, signatures and indexes, not disk images. */
export const DEFAULT_MAX_GET = 64 * 1024 * 1024;
