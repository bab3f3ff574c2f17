// A read-only store over HTTP(S): a CDN in front of the bucket, a static web server, or
// `nodeimg serve`. GET/HEAD only, with size caps, SHA-256 checks (the expected digest, else the
// x-amz-meta-sha256 header S3 and `nodeimg serve` send) and retries on 5xx, 429 and network
// errors. Listing works against `nodeimg serve` (GET /?list&prefix=P&after=K, serve-handler.ts);
// a plain CDN has no listing and list() fails with PUBLISH_FAILED. Writes are USAGE errors.
import { PublishError, UsageError } from '../../errors.js';
import type { GetOptions, ObjectStore, StoredObjectInfo, VersionedObject } from '../../ports.js';
import { DEFAULT_MAX_GET, readVerified, sha256Hex, tooLarge, verifiedStream } from './digest.js';
import { checkKey, checkPrefix, isValidKey, parseSha256 } from './keys.js';

export interface HttpStoreOptions {
  /** Attempts per request on 5xx/429/network errors, default 3. */
  readonly attempts?: number;
  /** Time to wait for the response headers, default 60 s (bodies are not timed). */
  readonly timeoutMs?: number;
  /** Keys per listing page asked of `nodeimg serve` (1-1000, default 1000). */
  readonly listPageSize?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class HttpStore implements ObjectStore {
  readonly writable = false;
  readonly ref: string;
  private readonly attempts: number;
  private readonly timeoutMs: number;
  private readonly pageSize: number;

  constructor(base: string, options: HttpStoreOptions = {}) {
    this.ref = base.endsWith('/') ? base : `${base}/`;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.pageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
  }

  private url(key: string): string {
    return this.ref + checkKey(key).split('/').map(encodeURIComponent).join('/');
  }

  private failed(target: string, message: string, status?: number, cause?: unknown): PublishError {
    const server = status === undefined || status >= 500 || status === 429;
    return new PublishError(
      'PUBLISH_FAILED',
      {
        target,
        fault: server ? 'server' : 'client',
        retryable: server,
        ...(status === undefined ? {} : { status }),
      },
      message,
      cause === undefined ? {} : { cause },
    );
  }

  /** One request with retries; 404/410 -> undefined; other non-2xx -> PUBLISH_FAILED. */
  private async request(method: 'GET' | 'HEAD', url: string, target: string): Promise<Response | undefined> {
    for (let attempt = 1; ; attempt++) {
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), this.timeoutMs);
      let res: Response;
      try {
        res = await fetch(url, { method, signal: ctrl.signal, headers: { 'accept-encoding': 'identity' } });
      } catch (err) {
        if (attempt < this.attempts) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw this.failed(target, `${method} failed: ${(err as Error).message}`, undefined, err);
      } finally {
        clearTimeout(timer);
      }
      if (res.ok) return res;
      await res.body?.cancel();
      if (res.status === 404 || res.status === 410) return undefined;
      if ((res.status >= 500 || res.status === 429) && attempt < this.attempts) {
        await sleep(200 * 2 ** attempt);
        continue;
      }
      throw this.failed(target, `${method} answered HTTP ${res.status} ${res.statusText}`, res.status);
    }
  }

  private static size(res: Response): number | undefined {
    const v = res.headers.get('content-length');
    return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
  }

  private static body(res: Response): AsyncIterable<Uint8Array> {
    return (res.body ?? []) as AsyncIterable<Uint8Array>;
  }

  async head(key: string): Promise<StoredObjectInfo | undefined> {
    const res = await this.request('HEAD', this.url(key), this.ref + key);
    if (!res) return undefined;
    const size = HttpStore.size(res);
    if (size === undefined) throw this.failed(this.ref + key, 'HEAD answered without a Content-Length');
    const sha256 = parseSha256(res.headers.get('x-amz-meta-sha256'));
    const contentType = res.headers.get('content-type');
    return { size, ...(sha256 ? { sha256 } : {}), ...(contentType ? { contentType } : {}) };
  }

  private async fetchCapped(
    key: string,
    max: number,
    sha256?: string,
  ): Promise<{ bytes: Buffer; res: Response } | undefined> {
    const target = this.ref + key;
    const res = await this.request('GET', this.url(key), target);
    if (!res) return undefined;
    const size = HttpStore.size(res);
    if (size !== undefined && size > max) {
      await res.body?.cancel();
      throw tooLarge(target, max, size);
    }
    const expected = sha256 ?? parseSha256(res.headers.get('x-amz-meta-sha256'));
    try {
      return { bytes: await readVerified(HttpStore.body(res), max, { target, size, sha256: expected }), res };
    } catch (err) {
      if (err instanceof PublishError) throw err;
      throw this.failed(target, `reading the body failed: ${(err as Error).message}`, undefined, err);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    return (await this.fetchCapped(key, options.maxBytes ?? DEFAULT_MAX_GET, options.sha256))?.bytes;
  }

  async getStream(
    key: string,
    options: Pick<GetOptions, 'sha256'> = {},
  ): Promise<AsyncIterable<Uint8Array> | undefined> {
    const target = this.ref + key;
    const res = await this.request('GET', this.url(key), target);
    if (!res) return undefined;
    const sha256 = options.sha256 ?? parseSha256(res.headers.get('x-amz-meta-sha256'));
    return verifiedStream(HttpStore.body(res), { target, size: HttpStore.size(res), sha256 });
  }

  async getVersioned(
    key: string,
    options: Pick<GetOptions, 'maxBytes'> = {},
  ): Promise<VersionedObject | undefined> {
    const got = await this.fetchCapped(key, options.maxBytes ?? DEFAULT_MAX_GET);
    return got && { bytes: got.bytes, version: got.res.headers.get('etag') ?? sha256Hex(got.bytes) };
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const keys: string[] = [];
    let after = '';
    for (;;) {
      const url = `${this.ref}?list&prefix=${encodeURIComponent(prefix)}&after=${encodeURIComponent(after)}&limit=${this.pageSize}`;
      const res = await this.request('GET', url, this.ref + prefix);
      const page =
        res && ((await res.json().catch(() => undefined)) as { keys?: unknown; next?: unknown } | undefined);
      if (!page || !Array.isArray(page.keys) || !(page.next === null || typeof page.next === 'string'))
        throw this.failed(this.ref + prefix, 'this server does not list keys (only `nodeimg serve` does)');
      for (const k of page.keys)
        if (typeof k === 'string' && isValidKey(k) && k.startsWith(prefix)) keys.push(k);
      if (page.next === null) break;
      if (page.next <= after) throw this.failed(this.ref + prefix, 'the listing does not advance');
      after = page.next;
    }
    return keys.sort();
  }

  private readOnly(): never {
    throw new UsageError(`${this.ref} is an HTTP(S) store: read-only`, {
      hint: 'publish to dir:PATH or s3://bucket/prefix; HTTP(S) stores are for fetching',
    });
  }

  async putImmutable(): Promise<'created' | 'unchanged'> {
    return this.readOnly();
  }

  async putVersioned(): Promise<string> {
    return this.readOnly();
  }
}
