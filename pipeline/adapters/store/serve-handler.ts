// Read-only HTTP access to a directory store, as a CDN would give it (`nodeimg serve`): GET and
// HEAD of an object by its key, with Content-Length, ETag = "<sha256>", x-amz-meta-sha256 (the
// header S3 sends for nodeimg's objects, so HttpStore verifies both the same way), single byte
// ranges (RFC 9110 §14) and If-None-Match. The path is checked raw, before any normalisation: a
// `..`, `.`-prefixed, empty or percent-encoded-slash segment is a 400, never resolved. The only
// listing is GET /?list&prefix=P&after=K[&limit=N] -> {"keys": [...], "next": K|null}.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { DirStore } from './dir-store.js';
import { checkPrefix, isValidKey } from './keys.js';

const PAGE = 1000;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** The key of a raw request path, or undefined if the path is not exactly one valid key. */
export function keyOfPath(rawPath: string): string | undefined {
  if (!rawPath.startsWith('/')) return undefined;
  const segments: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg.includes('/')) return undefined;
    segments.push(seg);
  }
  const key = segments.join('/');
  return isValidKey(key) ? key : undefined;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against `size`: the range, 'unsatisfiable', or undefined (serve all). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // absent, multi-range or malformed: 200
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

async function list(store: DirStore, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const prefix = query.get('prefix') ?? '';
  const after = query.get('after') ?? '';
  const limit = Math.min(PAGE, Math.max(1, Number(query.get('limit') ?? PAGE) || PAGE));
  try {
    checkPrefix(prefix);
  } catch (err) {
    return send(res, 400, `${(err as Error).message}\n`);
  }
  const keys = (await store.list(prefix)).filter((k) => k > after);
  const page = keys.slice(0, limit);
  const next = keys.length > limit ? (page[page.length - 1] ?? null) : null;
  send(res, 200, `${JSON.stringify({ keys: page, next })}\n`, 'application/json');
}

async function object(
  store: DirStore,
  key: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const o = await store.open(key);
  if (!o) return send(res, 404, 'no such object\n');
  let handed = false;
  try {
    const etag = `"${o.sha256}"`;
    const headers: Record<string, string | number> = {
      etag,
      'x-amz-meta-sha256': o.sha256,
      'content-type': o.contentType ?? 'application/octet-stream',
      'accept-ranges': 'bytes',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    const inm = req.headers['if-none-match'];
    if (
      inm !== undefined &&
      (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
    ) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const range = parseRange(req.headers.range, o.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${o.size}`, 'content-length': 0 });
      return void res.end();
    }
    const { start, end } = range ?? { start: 0, end: o.size - 1 };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
    headers['content-length'] = o.size === 0 ? 0 : end - start + 1;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || o.size === 0) return void res.end();
    handed = true; // the stream closes the handle
    await pipeline(o.handle.createReadStream({ start, end }), res);
  } finally {
    if (!handed) await o.handle.close();
  }
}

export function storeHandler(store: DirStore): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const run = async (): Promise<void> => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return send(res, 405, 'read-only: GET and HEAD only\n');
      }
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const rawPath = q < 0 ? url : url.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      if (rawPath === '/')
        return query.has('list')
          ? list(store, query, res)
          : send(res, 404, 'no listing here; GET /?list&prefix=P\n');
      const key = keyOfPath(rawPath);
      if (key === undefined) return send(res, 400, 'not a valid object key\n');
      return object(store, key, req, res);
    };
    run().catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `${(err as Error).message}\n`);
      else res.destroy(err as Error);
    });
  };
}

export interface StoreServer {
  /** http://HOST:PORT/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `store` read-only on host:port (port 0: any free port). */
export async function startStoreServer(store: DirStore, host = '127.0.0.1', port = 0): Promise<StoreServer> {
  const server: Server = createServer(storeHandler(store));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/`,
    host,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
