// `nodeimg tlog serve`: the local transparency log (LocalLog over its crash-safe store) behind the
// Rekor API v1 subset that signers and verifiers use (rekor openapi.yaml; shapes in rekor/wire.ts):
//   POST /api/v1/log/entries            hashedrekord 0.0.1 proposed entry -> 201 + Location + ETag
//                                       + LogEntry; 400 refused; 409 + Location when it exists
//   GET  /api/v1/log/entries/{id}       by UUID (64 hex) or entry ID (80 hex) -> LogEntry; 404
//   GET  /api/v1/log/entries?logIndex=N -> LogEntry; 404
//   POST /api/v1/log/entries/retrieve   {entryUUIDs|logIndexes|entries: [<= 10]} -> [LogEntry]
//   POST /api/v1/index/retrieve         {hash: "sha256:<hex>"} and/or {publicKey: {format: "x509",
//                                       content: b64 PEM}}, operator and|or -> [entry ID]
//   GET  /api/v1/log                    {rootHash, treeSize, signedTreeHead, treeID, inactiveShards}
//   GET  /api/v1/log/publicKey          PEM
//   GET  /api/v1/log/proof?firstSize=&lastSize=  {rootHash, hashes}
//   GET  /api/v1/log/trustedRoot        (nodeimg extension) the Sigstore trusted_root.json of the log
// Errors are {code, message} as Rekor writes them. Entries are acknowledged only once durable.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogEntry } from '../ports.js';
import { BadEntryError, canonicalBodyOf, verifierFor } from './local-log/hashedrekord-verify.js';
import { leafHash } from './local-log/merkle.js';
import type { LocalLog } from './local-log/local-log.js';
import { entryToJson } from './rekor/wire.js';

export interface TlogServerOptions {
  /** The open log to serve; the server closes it when it closes. */
  readonly log: LocalLog;
  /** Default 127.0.0.1 (loopback). */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

export interface TlogServer {
  readonly url: string;
  readonly port: number;
  readonly log: LocalLog;
  /** Stops accepting, lets requests in flight finish (up to 5 s), closes the log. */
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 256 * 1024;
const MAX_BATCH = 10;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly location?: string,
  ) {
    super(message);
  }
}

const entryPath = (e: LogEntry): string => `/api/v1/log/entries/${e.entryID}`;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_REQUEST_BYTES)
      throw new HttpError(413, `request body larger than ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'application/x-pem-file' : 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const int = (v: string | null, what: string): number => {
  if (v === null || !/^\d{1,15}$/.test(v)) throw new HttpError(400, `${what} must be a non-negative integer`);
  return Number(v);
};

/** The handlers, over an open log. */
function routes(log: LocalLog) {
  const list = (v: unknown, what: string): unknown[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > MAX_BATCH)
      throw new HttpError(400, `${what} must be a list of at most ${MAX_BATCH} items`);
    return v;
  };

  return {
    async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const proposed = await readBody(req);
      const { entry, created } = await log.append(proposed as object);
      const location = entryPath(entry);
      if (!created)
        throw new HttpError(
          409,
          `an equivalent entry already exists in the transparency log with UUID ${entry.entryID}`,
          location,
        );
      send(res, 201, entryToJson(entry), { location, etag: entry.entryID });
    },
    async get(id: string, res: ServerResponse): Promise<void> {
      if (!/^([0-9a-fA-F]{16})?[0-9a-fA-F]{64}$/.test(id))
        throw new HttpError(400, `${id.slice(0, 100)} is not an entry UUID or ID`);
      const e = await log.entryByUuid(id);
      if (!e) throw new HttpError(404, `no entry ${id}`);
      send(res, 200, entryToJson(e));
    },
    async byIndex(q: URLSearchParams, res: ServerResponse): Promise<void> {
      const i = int(q.get('logIndex'), 'logIndex');
      const e = await log.entryByIndex(i);
      if (!e) throw new HttpError(404, `no entry at index ${i}`);
      send(res, 200, entryToJson(e));
    },
    async retrieve(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const q = (await readBody(req)) as Record<string, unknown> | null;
      if (typeof q !== 'object' || q === null) throw new HttpError(400, 'the search is not a JSON object');
      const out: LogEntry[] = [];
      for (const id of list(q['entryUUIDs'], 'entryUUIDs')) {
        if (typeof id !== 'string' || !/^([0-9a-fA-F]{16})?[0-9a-fA-F]{64}$/.test(id))
          throw new HttpError(400, 'entryUUIDs holds something that is not an entry UUID or ID');
        const e = await log.entryByUuid(id);
        if (e) out.push(e);
      }
      for (const i of list(q['logIndexes'], 'logIndexes')) {
        if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0)
          throw new HttpError(400, 'logIndexes holds something that is not a log index');
        const e = await log.entryByIndex(i);
        if (e) out.push(e);
      }
      for (const p of list(q['entries'], 'entries')) {
        const e = await log.entryByUuid(leafHash(canonicalBodyOf(p)).toString('hex'));
        if (e) out.push(e);
      }
      send(res, 200, out.map(entryToJson));
    },
    async search(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const q = (await readBody(req)) as Record<string, unknown> | null;
      if (typeof q !== 'object' || q === null) throw new HttpError(400, 'the search is not a JSON object');
      const sets: string[][] = [];
      if (q['hash'] !== undefined) {
        const m = typeof q['hash'] === 'string' ? /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(q['hash']) : null;
        if (!m) throw new HttpError(400, 'hash must be sha256:<64 hex digits> (only sha256 is indexed)');
        sets.push(await log.searchBySha256((m[1] as string).toLowerCase()));
      }
      if (q['publicKey'] !== undefined) {
        const pk = q['publicKey'] as { format?: unknown; content?: unknown } | null;
        if (pk?.format !== 'x509' || typeof pk.content !== 'string')
          throw new HttpError(400, 'publicKey must be {format: "x509", content: <base64 PEM>}');
        const pem = verifierFor(Buffer.from(pk.content, 'base64').toString('utf8')).canonicalPem;
        sets.push(await log.searchByPublicKey(createHash('sha256').update(pem).digest('hex')));
      }
      if (sets.length === 0)
        throw new HttpError(400, 'give hash and/or publicKey (email and subject are not indexed)');
      const op = q['operator'] ?? 'or';
      if (op !== 'and' && op !== 'or') throw new HttpError(400, 'operator must be "and" or "or"');
      const result =
        op === 'or'
          ? [...new Set(sets.flat())]
          : (sets[0] as string[]).filter((id) => sets.every((s) => s.includes(id)));
      send(res, 200, result);
    },
    async info(res: ServerResponse): Promise<void> {
      const cp = await log.checkpoint();
      send(res, 200, {
        rootHash: cp.rootHash.toString('hex'),
        treeSize: cp.treeSize,
        signedTreeHead: cp.checkpoint,
        treeID: log.info.treeID,
        inactiveShards: [],
      });
    },
    async proof(q: URLSearchParams, res: ServerResponse): Promise<void> {
      const last = int(q.get('lastSize'), 'lastSize');
      const first = q.get('firstSize') === null ? 1 : int(q.get('firstSize'), 'firstSize');
      const size = await log.size();
      if (first < 1 || first > last || last > size)
        throw new HttpError(
          400,
          `need 1 <= firstSize <= lastSize <= tree size ${size}, got ${first}, ${last}`,
        );
      const hashes = await log.consistency(first, last);
      const root = (await log.checkpoint(last)).rootHash;
      send(res, 200, { rootHash: root.toString('hex'), hashes: hashes.map((h) => h.toString('hex')) });
    },
  };
}

async function dispatch(
  log: LocalLog,
  h: ReturnType<typeof routes>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '');
  const m = req.method ?? 'GET';
  const route = `${m} ${path}`;
  if (route === 'POST /api/v1/log/entries') return h.create(req, res);
  if (route === 'GET /api/v1/log/entries') return h.byIndex(url.searchParams, res);
  if (route === 'POST /api/v1/log/entries/retrieve') return h.retrieve(req, res);
  if (route === 'POST /api/v1/index/retrieve') return h.search(req, res);
  if (route === 'GET /api/v1/log') return h.info(res);
  if (route === 'GET /api/v1/log/publicKey') return send(res, 200, log.publicKeyPem);
  if (route === 'GET /api/v1/log/proof') return h.proof(url.searchParams, res);
  if (route === 'GET /api/v1/log/trustedRoot') return send(res, 200, log.trustedRoot());
  const byId = /^GET \/api\/v1\/log\/entries\/([^/]+)$/.exec(route);
  if (byId) return h.get(byId[1] as string, res);
  throw new HttpError(404, `no route ${m} ${path}`);
}

/** Serves an open log; resolves once listening. */
export async function startTlogServer(options: TlogServerOptions): Promise<TlogServer> {
  const log = options.log;
  const h = routes(log);
  const server = createServer((req, res) => {
    dispatch(log, h, req, res).catch((err: unknown) => {
      const e =
        err instanceof HttpError
          ? err
          : err instanceof BadEntryError
            ? new HttpError(400, err.message)
            : new HttpError(500, (err as Error).message);
      if (!res.headersSent)
        send(
          res,
          e.status,
          { code: e.status, message: e.message },
          e.location ? { location: e.location } : {},
        );
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await log.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    log,
    close() {
      closing ??= (async () => {
        const done = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 5000);
        await done;
        clearTimeout(timer);
        await log.close();
      })();
      return closing;
    },
  };
}
