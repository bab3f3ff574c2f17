// The HTTP store reading through `nodeimg serve`'s handler (a directory store written by DirStore,
// served read-only on 127.0.0.1): the shared contract, plus what only HTTP has: refused writes,
// raw-path traversal attempts, ranges, conditional GETs, retries on 5xx.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore } from '../../../../pipeline/adapters/store/dir-store.js';
import { HttpStore } from '../../../../pipeline/adapters/store/http-store.js';
import { startStoreServer, type StoreServer } from '../../../../pipeline/adapters/store/serve-handler.js';
import { codeOf, describeStoreContract, sha256 } from '../../../helpers/store-contract.js';

describeStoreContract('http (nodeimg serve over a dir store)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nodeimg-httpstore-'));
  const dir = new DirStore(root);
  const server = await startStoreServer(dir);
  return {
    writer: dir,
    reader: new HttpStore(server.url, { listPageSize: 100 }),
    bigObjectBytes: 12 * 1024 * 1024,
    async tamper(key, bytes) {
      const fh = await open(join(root, ...key.split('/')), 'r+');
      await fh.write(bytes, 0, bytes.length, 0);
      await fh.close();
    },
    async close() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

/** A request with the path sent exactly as given (fetch would normalise `..` away). */
function raw(
  server: StoreServer,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('nodeimg serve handler and the HTTP store', () => {
  let root: string;
  let server: StoreServer;
  const bytes = randomBytes(10_000);
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nodeimg-serve-'));
    const dir = new DirStore(root);
    await dir.putImmutable('v2/ref/-/stream/stable/v1.0.0+build.1/image/disk.raw', bytes, {
      sha256: sha256(bytes),
    });
    const secret = Buffer.from('not a key');
    await dir.putImmutable('a/b', secret, { sha256: sha256(secret) });
    server = await startStoreServer(dir);
  });
  afterAll(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses every write through an HTTP store (USAGE) and every non-GET/HEAD method (405)', async () => {
    const store = new HttpStore(server.url);
    expect(store.writable).toBe(false);
    expect(await codeOf(store.putImmutable())).toBe('USAGE');
    expect(await codeOf(store.putVersioned())).toBe('USAGE');
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const r = await raw(server, '/a/b', method);
      expect(r.status, method).toBe(405);
      expect(r.headers['allow']).toBe('GET, HEAD');
    }
  });

  it('refuses traversal and hidden paths as sent, before normalisation (400)', async () => {
    for (const path of [
      '/../etc/passwd',
      '/a/../a/b',
      '/a/%2e%2e/a/b',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/a%2Fb',
      '/a/./b',
      '//a/b',
      '/a/b/',
      '/.nodeimg-store/meta/a/b.json',
      '/a\\b',
      '/%00',
      '/%ZZ',
    ]) {
      const r = await raw(server, path);
      expect(r.status, path).toBe(400);
      expect(r.body.toString()).not.toContain('not a key');
    }
    expect((await raw(server, '/a/b')).body.toString()).toBe('not a key');
  });

  it('serves ranges, HEAD, ETag = sha256 and If-None-Match', async () => {
    const path = '/v2/ref/-/stream/stable/v1.0.0%2Bbuild.1/image/disk.raw';
    const head = await raw(server, path, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('10000');
    expect(head.headers['etag']).toBe(`"${sha256(bytes)}"`);
    expect(head.headers['x-amz-meta-sha256']).toBe(sha256(bytes));
    expect(head.body.length).toBe(0);
    const part = await raw(server, path, 'GET', { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe('bytes 100-199/10000');
    expect(part.body).toEqual(bytes.subarray(100, 200));
    const tail = await raw(server, path, 'GET', { range: 'bytes=-10' });
    expect(tail.body).toEqual(bytes.subarray(9990));
    expect((await raw(server, path, 'GET', { range: 'bytes=10000-' })).status).toBe(416);
    expect((await raw(server, path, 'GET', { 'if-none-match': `"${sha256(bytes)}"` })).status).toBe(304);
    expect((await raw(server, '/no/such/key')).status).toBe(404);
    expect((await raw(server, '/')).status).toBe(404); // no directory listing
    const page = JSON.parse((await raw(server, '/?list&prefix=a/')).body.toString()) as unknown;
    expect(page).toEqual({ keys: ['a/b'], next: null });
    expect((await raw(server, '/?list&prefix=../')).status).toBe(400);
  });

  it('retries a 5xx and then reads the object; gives up after its attempts with a retryable error', async () => {
    let failures = 2;
    const flaky: Server = createServer((req, res) => {
      if (failures-- > 0) {
        res.writeHead(503).end('busy');
        return;
      }
      const target = request(
        { host: '127.0.0.1', port: server.port, path: req.url, method: req.method },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      target.end();
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const port = (flaky.address() as { port: number }).port;
    try {
      const store = new HttpStore(`http://127.0.0.1:${port}/`);
      expect(Buffer.from((await store.get('a/b')) ?? []).toString()).toBe('not a key');
      failures = 10;
      const err = await new HttpStore(`http://127.0.0.1:${port}/`, { attempts: 2 })
        .get('a/b')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PUBLISH_FAILED', status: 503, fault: 'server', retryable: true });
    } finally {
      flaky.closeAllConnections();
      await new Promise((r) => flaky.close(r));
    }
  });
});
