// HTTP for the Rekor client: Node's global fetch with a per-attempt timeout, a cap on response
// size, and retries with exponential backoff and full jitter on network errors, timeouts, 408, 429
// and 5xx (the statuses @sigstore/sign's fetchWithRetry retries); a Retry-After header (seconds or
// an HTTP date) is honoured up to maxRetryAfterMs. Other statuses are returned to the caller.
import { NodeimgError } from '../../errors.js';

export interface RetryPolicy {
  /** Attempts after the first. */
  readonly retries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
  /** Per attempt, including reading the body. */
  readonly timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 4,
  minDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  timeoutMs: 15_000,
};

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const retryable = (status: number): boolean => status === 408 || status === 429 || status >= 500;

function retryAfterMs(h: string | null): number | undefined {
  if (h === null) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

async function readCapped(res: Response): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Uint8Array).length;
    if (n > MAX_RESPONSE_BYTES) throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    chunks.push(Buffer.from(c as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** One request with retries; throws IO_FAILED when every attempt failed or was retryable. */
export async function requestWithRetry(
  url: string,
  init: { method: 'GET' | 'POST'; body?: string; accept?: string },
  policy: RetryPolicy,
): Promise<HttpResponse> {
  for (let attempt = 0; ; attempt++) {
    let wait: number | undefined;
    let last: string;
    try {
      const res = await fetch(url, {
        method: init.method,
        headers: {
          accept: init.accept ?? 'application/json',
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(init.body !== undefined ? { body: init.body } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(policy.timeoutMs),
      });
      const body = await readCapped(res);
      if (!retryable(res.status)) return { status: res.status, headers: res.headers, body };
      last = `HTTP ${res.status}${body.length ? `: ${body.toString('utf8').slice(0, 200).trim()}` : ''}`;
      wait = retryAfterMs(res.headers.get('retry-after'));
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      last =
        e.name === 'TimeoutError'
          ? `no answer within ${policy.timeoutMs} ms`
          : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : e.cause?.message ? ` (${e.cause.message})` : ''}`;
    }
    if (attempt >= policy.retries)
      throw new NodeimgError(
        'IO_FAILED',
        `${init.method} ${url} failed after ${attempt + 1} attempt(s): ${last}`,
        {
          hint: 'is the transparency log running and reachable? (nodeimg tlog serve; --rekor URL or NODEIMG_REKOR_URL)',
        },
      );
    const backoff = Math.random() * Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
    const delay = wait === undefined ? backoff : Math.min(policy.maxRetryAfterMs, Math.max(wait, backoff));
    await new Promise((r) => setTimeout(r, delay));
  }
}
