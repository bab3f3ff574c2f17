// A small HTTP proxy on 127.0.0.1 in front of a real log server, for the Rekor client's tests: it
// can answer a request with an injected status (500/429/408, optionally after forwarding it, as when
// a log commits an entry and the answer is lost), rewrite JSON answers (a misbehaving log), and
// switch to another backend (a forked log). Not a mock of the log: every other answer is the real
// server's.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Fault {
  readonly status: number;
  readonly retryAfter?: string;
  /** Forward the request first (the log acts on it), then answer with `status` instead. */
  readonly afterForward?: boolean;
  /** Only requests this matches take the fault (default: any). */
  readonly match?: (method: string, path: string) => boolean;
}

export interface TlogProxy {
  readonly url: string;
  /** Every request seen: "METHOD path -> status". */
  readonly seen: string[];
  faults: Fault[];
  /** Rewrites a JSON answer of the backend (parsed), or undefined to pass it through. */
  transform: ((method: string, path: string, doc: unknown) => unknown) | undefined;
  target: string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startTlogProxy(target: string): Promise<TlogProxy> {
  const proxy: TlogProxy = {
    url: '',
    seen: [],
    faults: [],
    transform: undefined,
    target,
    close: () => Promise.resolve(),
  };
  const server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const data = await body(req);
      const i = proxy.faults.findIndex((f) => f.match?.(method, path) ?? true);
      const fault = i >= 0 ? proxy.faults.splice(i, 1)[0] : undefined;
      const answer = (status: number, headers: Record<string, string>, text: Buffer | string): void => {
        proxy.seen.push(`${method} ${path} -> ${status}`);
        res.writeHead(status, headers);
        res.end(text);
      };
      const fail = (f: Fault): void =>
        answer(
          f.status,
          { 'content-type': 'application/json', ...(f.retryAfter ? { 'retry-after': f.retryAfter } : {}) },
          JSON.stringify({ code: f.status, message: 'injected by the test proxy' }),
        );
      if (fault && !fault.afterForward) return fail(fault);
      const r = await fetch(`${proxy.target}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: data } : {}),
      });
      let out = Buffer.from(await r.arrayBuffer());
      if (fault) return fail(fault);
      const type = r.headers.get('content-type') ?? 'application/json';
      if (proxy.transform && type.includes('json')) {
        const changed = proxy.transform(method, path, JSON.parse(out.toString('utf8')));
        if (changed !== undefined) out = Buffer.from(JSON.stringify(changed));
      }
      const headers: Record<string, string> = { 'content-type': type };
      const loc = r.headers.get('location');
      if (loc) headers['location'] = loc;
      answer(r.status, headers, out);
    })().catch((err: unknown) => {
      res.writeHead(502);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  });
}
