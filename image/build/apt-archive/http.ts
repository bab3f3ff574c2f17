// Downloads for package provenance: whole small files (InRelease, Packages indexes) into memory with
// a cap, and .deb files streamed to disk while hashing, stopping as soon as more bytes arrive than
// expected. `fetch` is injectable (tests, proxies); file:// URLs are read from disk (a local
// mirror). Authenticity never comes from the transport: every byte is checked against a signed
// digest by the caller, so plain http mirrors (deb.debian.org) are fine.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NodeimgError } from '../../formats/errors.js';

export type Fetch = typeof globalThis.fetch;

export interface HttpOptions {
  readonly fetch?: Fetch;
  /** Time to wait for the response headers (default 60 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const HINT = 'check the mirror URL and the network (nodeimg needs only the mirror, over http or https)';

function ioError(url: string, message: string, cause?: unknown, notFound = false): NodeimgError {
  return new NodeimgError(notFound ? 'IO_NOT_FOUND' : 'IO_FAILED', `${url}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: HINT,
  });
}

async function open(url: string, opts: HttpOptions): Promise<Response | undefined> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs ?? 60_000);
  const onAbort = () => ctrl.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await (opts.fetch ?? globalThis.fetch)(url, {
      signal: ctrl.signal,
      headers: { 'accept-encoding': 'identity' },
    });
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw ioError(url, `HTTP ${res.status} ${res.statusText}`);
    }
    return res;
  } catch (err) {
    if (err instanceof NodeimgError) throw err;
    opts.signal?.throwIfAborted();
    throw ioError(url, `GET failed: ${(err as Error).message}`, err);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The body, or undefined when the server answers 404/410. Reading stops after `maxBytes` + 1
 * bytes: a result longer than `maxBytes` means the body was larger (the caller decides what that
 * means: a mismatch against a signed size, or a limit).
 */
export async function fetchAtMost(
  url: string,
  maxBytes: number,
  opts: HttpOptions = {},
): Promise<Uint8Array | undefined> {
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile()) return undefined;
    if (s.size > maxBytes) return new Uint8Array(maxBytes + 1);
    return new Uint8Array(await readFile(path));
  }
  const res = await open(url, opts);
  if (res === undefined) return undefined;
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body ?? []) {
      chunks.push(chunk as Uint8Array);
      n += (chunk as Uint8Array).length;
      if (n > maxBytes) break;
    }
  } catch (err) {
    throw ioError(url, `download interrupted: ${(err as Error).message}`, err);
  }
  const all = Buffer.concat(chunks, n);
  return new Uint8Array(all.subarray(0, Math.min(n, maxBytes + 1)));
}

export interface Downloaded {
  readonly size: number;
  /** Hex; '' when the download stopped because it grew past `maxBytes`. */
  readonly sha256: string;
  readonly overflow: boolean;
}

/** Streams `url` into `dest` (created), hashing; stops past `maxBytes`. Undefined on 404/410. */
export async function fetchToFile(
  url: string,
  dest: string,
  maxBytes: number,
  opts: HttpOptions = {},
): Promise<Downloaded | undefined> {
  let body: AsyncIterable<Uint8Array>;
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile()) return undefined;
    body = createReadStream(path);
  } else {
    const res = await open(url, opts);
    if (res === undefined) return undefined;
    body = (res.body ?? []) as AsyncIterable<Uint8Array>;
  }
  const hash = createHash('sha256');
  const out = createWriteStream(dest, { flags: 'wx' });
  let n = 0;
  let overflow = false;
  try {
    for await (const chunk of body) {
      n += chunk.length;
      if (n > maxBytes) {
        overflow = true;
        break;
      }
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  } catch (err) {
    out.destroy();
    throw ioError(url, `download interrupted: ${(err as Error).message}`, err);
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
  return { size: n, sha256: overflow ? '' : hash.digest('hex'), overflow };
}
