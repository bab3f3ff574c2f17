// JSON over HTTP for the keyless signing services (Fulcio, the GitHub Actions token endpoint), with
// the retry rule of sigstore-js (@sigstore/sign external/fetch.js): network errors, 408, 429 and
// 5xx are retried with a growing pause; any other status is handed back to the caller, which knows
// what a 4xx means for its service. Never logs request bodies or headers (they carry tokens).
import { NodeimgError } from '../../errors.js';

export interface HttpOptions {
  /** The fetch implementation (default: Node's global fetch). */
  readonly fetch?: typeof fetch;
  /** Attempts after the first one (default 2). */
  readonly retries?: number;
  /** Pause before the first retry, doubled for each further retry (default 500 ms). */
  readonly retryDelayMs?: number;
  /** Timeout of one attempt (default 30 s). */
  readonly timeoutMs?: number;
}

export interface JsonResponse {
  readonly status: number;
  /** The parsed body, or undefined when it is not JSON. */
  readonly json: unknown;
  /** `message` of a JSON error body ({code, message}, as Fulcio and Rekor answer), else the status text. */
  readonly message: string;
}

export interface JsonRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The service's name for error messages (e.g. `Fulcio at https://fulcio.sigstore.dev`). */
  readonly service: string;
}

const retryable = (status: number): boolean => status === 408 || status === 429 || status >= 500;
const MAX_BODY_CHARS = 4 * 1024 * 1024;

/** Sends the request; returns the final response, or throws TOOL_FAILED when no attempt got an answer. */
export async function requestJson(req: JsonRequest, opts: HttpOptions = {}): Promise<JsonResponse> {
  const doFetch = opts.fetch ?? fetch;
  const retries = opts.retries ?? 2;
  let delay = opts.retryDelayMs ?? 500;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
    let res: Response;
    let text: string;
    try {
      res = await doFetch(req.url, {
        method: req.method,
        headers: {
          Accept: 'application/json',
          ...(req.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...req.headers,
        },
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
      text = (await res.text()).slice(0, MAX_BODY_CHARS);
    } catch (err) {
      if (attempt < retries) continue;
      const cause = (err as { cause?: { code?: unknown } }).cause?.code;
      const why = `${(err as Error).message}${typeof cause === 'string' ? ` (${cause})` : ''}`;
      throw unreachable(req, attempt + 1, why, err);
    }
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
    const msg = (json as { message?: unknown } | undefined)?.message;
    const message = typeof msg === 'string' ? msg : res.statusText;
    if (retryable(res.status) && attempt < retries) continue;
    if (retryable(res.status)) throw unreachable(req, attempt + 1, `HTTP ${res.status} ${message}`);
    return { status: res.status, json, message };
  }
}

function unreachable(req: JsonRequest, attempts: number, last: string, cause?: unknown): NodeimgError {
  return new NodeimgError(
    'TOOL_FAILED',
    `${req.service} did not answer ${req.method} ${new URL(req.url).pathname} after ${attempts} attempt(s): ${last}`,
    {
      hint: 'check the URL and the network; the service may be down (retry later)',
      ...(cause === undefined ? {} : { cause }),
    },
  );
}
