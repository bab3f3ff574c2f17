// nodeimg's Rekor v1 server (tlog-server.ts) and client (rekor-client.ts) on 127.0.0.1, port 0:
// the 201/409/400 paths and the other endpoints, retries through a fault-injecting proxy, answers
// a misbehaving log would give (rewritten by the proxy) and a forked log, all refused by the client,
// and sigstore's own RekorWitness talking to the server unchanged.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeySigner } from '../../../pipeline/adapters/key-signer.js';
import { hashedRekordBody } from '../../../pipeline/adapters/local-log/hashedrekord.js';
import { LocalLog } from '../../../pipeline/adapters/local-log/local-log.js';
import { verifyConsistency, verifyInclusion, leafHash } from '../../../pipeline/adapters/local-log/merkle.js';
import { RekorClient, type RekorClientOptions } from '../../../pipeline/adapters/rekor-client.js';
import { pinnedKey } from '../../../pipeline/adapters/rekor/verify-entry.js';
import { verifyBundle } from '../../../pipeline/adapters/sigstore-verify.js';
import { startTlogServer, type TlogServer } from '../../../pipeline/adapters/tlog-server.js';
import { NodeimgError } from '../../../pipeline/errors.js';
import { systemClock } from '../../../pipeline/adapters/system-clock.js';
import { startTlogProxy, type TlogProxy } from '../../helpers/tlog-proxy.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-tlog-server-'));
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const signer = KeySigner.fromPem(pem, 'test', {});
const FAST = { retries: 4, minDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 50, timeoutMs: 5000 };

let n = 0;
async function body(text = `artifact ${n++}`): Promise<Buffer> {
  const bytes = Buffer.from(text);
  const s = await signer.sign(bytes);
  return hashedRekordBody({
    sha256: createHash('sha256').update(bytes).digest(),
    signature: s.signature,
    publicKeyPem: s.publicKey.pem,
  });
}

async function serve(dir: string): Promise<TlogServer> {
  return startTlogServer({ log: await LocalLog.open(dir, systemClock) });
}

/** The error `p` rejects with (the test fails if it resolves). */
const failure = async (p: Promise<unknown>): Promise<NodeimgError> => {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(r).toBeInstanceOf(NodeimgError);
  return r as NodeimgError;
};
const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof NodeimgError ? err.code : `not a NodeimgError: ${String(err)}`;
  }
};

let server: TlogServer;
let proxy: TlogProxy;
let keys: RekorClientOptions['keys'];
const client = (url = server.url, extra: Partial<RekorClientOptions> = {}) =>
  new RekorClient({ baseUrl: url, keys, retry: FAST, ...extra });

beforeAll(async () => {
  server = await serve(join(tmp, 'log'));
  keys = [pinnedKey(server.log.publicKeyPem, 'the test log')];
  proxy = await startTlogProxy(server.url);
});
afterAll(async () => {
  await proxy.close();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('tlog server + Rekor client', () => {
  it('201 creates a verified entry; 409 on the same entry carries the Location; the client is idempotent', async () => {
    const c = client();
    const b = await body();
    const e = await c.add(b);
    expect(e.body.equals(b)).toBe(true);
    expect(e.uuid).toBe(leafHash(b).toString('hex'));
    expect(e.entryID).toMatch(/^[0-9a-f]{80}$/);
    const p = e.inclusionProof;
    expect(verifyInclusion(p.logIndex, p.treeSize, leafHash(b), p.hashes, p.rootHash)).toBe(true);

    const raw = await fetch(`${server.url}/api/v1/log/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: b,
    });
    expect(raw.status).toBe(409);
    expect(raw.headers.get('location')).toBe(`/api/v1/log/entries/${e.entryID}`);
    expect(((await raw.json()) as { code: number }).code).toBe(409);
    const again = await c.add(b);
    expect([again.logIndex, again.uuid]).toEqual([e.logIndex, e.uuid]);
  });

  it('400 for a bad signature, an unsupported kind and malformed JSON; the client reports CHECK_FAILED', async () => {
    const bad = JSON.parse((await body()).toString()) as { spec: { signature: { content: string } } };
    bad.spec.signature.content = Buffer.from((await signer.sign(Buffer.from('x'))).signature).toString(
      'base64',
    );
    for (const text of [JSON.stringify(bad), '{"apiVersion":"0.0.1","kind":"rekord","spec":{}}', '{nope']) {
      const r = await fetch(`${server.url}/api/v1/log/entries`, { method: 'POST', body: text });
      expect(r.status, text).toBe(400);
      expect(((await r.json()) as { code: number }).code).toBe(400);
    }
    expect(await codeOf(client().add(Buffer.from(JSON.stringify(bad))))).toBe('CHECK_FAILED');
  });

  it('serves entries by UUID, entry ID and index, retrieve, index search, log info, proofs, key and trusted root', async () => {
    const c = client();
    const b1 = await body('searchable');
    const e1 = await c.add(b1);
    const e2 = await c.add(await body());
    expect((await c.entryByUuid(e1.uuid))?.logIndex).toBe(e1.logIndex);
    expect((await c.entryByUuid(e1.entryID))?.logIndex).toBe(e1.logIndex);
    expect((await c.entryByIndex(e2.logIndex))?.uuid).toBe(e2.uuid);
    expect(await c.entryByIndex(1_000_000)).toBeUndefined();
    expect(await c.entryByUuid('ab'.repeat(32))).toBeUndefined();
    expect(await c.searchBySha256(createHash('sha256').update('searchable').digest('hex'))).toEqual([
      e1.entryID,
    ]);

    const retrieved = (await (
      await fetch(`${server.url}/api/v1/log/entries/retrieve`, {
        method: 'POST',
        body: JSON.stringify({
          entryUUIDs: [e1.uuid],
          logIndexes: [e2.logIndex],
          entries: [JSON.parse(b1.toString())],
        }),
      })
    ).json()) as Record<string, unknown>[];
    expect(retrieved.map((m) => Object.keys(m)[0])).toEqual([e1.entryID, e2.entryID, e1.entryID]);

    const byKey = (await (
      await fetch(`${server.url}/api/v1/index/retrieve`, {
        method: 'POST',
        body: JSON.stringify({
          publicKey: { format: 'x509', content: Buffer.from(signer.publicKey.pem).toString('base64') },
          hash: `sha256:${createHash('sha256').update('searchable').digest('hex')}`,
          operator: 'and',
        }),
      })
    ).json()) as string[];
    expect(byKey).toEqual([e1.entryID]);

    const cp = await c.checkpoint();
    expect(cp.treeSize).toBe(await server.log.size());
    const proof = await c.consistency(e1.inclusionProof.treeSize, cp.treeSize);
    expect(
      verifyConsistency(
        e1.inclusionProof.treeSize,
        cp.treeSize,
        proof,
        e1.inclusionProof.rootHash,
        cp.rootHash,
      ),
    ).toBe(true);
    expect(await (await fetch(`${server.url}/api/v1/log/publicKey`)).text()).toBe(server.log.publicKeyPem);
    expect(await (await fetch(`${server.url}/api/v1/log/trustedRoot`)).json()).toEqual(
      server.log.trustedRoot(),
    );
    expect((await fetch(`${server.url}/api/v1/log/proof?firstSize=2&lastSize=1`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/v1/nothing`)).status).toBe(404);
  });

  it('retries 500, 429 (Retry-After), 408 and a lost 201 (then 409 -> fetch), and gives up with IO_FAILED', async () => {
    const c = client(proxy.url);
    proxy.seen.length = 0;
    proxy.faults = [{ status: 500 }, { status: 429, retryAfter: '0' }, { status: 408 }];
    const e = await c.add(await body());
    expect(
      proxy.seen.filter((s) => s.startsWith('POST /api/v1/log/entries ')).map((s) => s.slice(-3)),
    ).toEqual(['500', '429', '408', '201']);
    // The log commits the entry but the answer is lost: the retry gets 409 and fetches the entry.
    const b = await body();
    const before = await server.log.size();
    proxy.faults = [{ status: 503, afterForward: true }];
    const lost = await c.add(b);
    expect(lost.logIndex).toBe(before);
    expect(await server.log.size()).toBe(before + 1);
    const calls = proxy.seen.filter((x) => !x.includes('/proof?'));
    expect(calls.slice(-3).map((x) => x.replace(/[0-9a-f]{80}/, 'ID'))).toEqual([
      'POST /api/v1/log/entries -> 503',
      'POST /api/v1/log/entries -> 409',
      'GET /api/v1/log/entries/ID -> 200',
    ]);
    expect(e.logIndex).toBeLessThan(lost.logIndex);

    proxy.faults = Array.from({ length: 5 }, () => ({ status: 502 }));
    expect(await codeOf(c.add(await body()))).toBe('IO_FAILED');
    proxy.faults = [];
    const down = client('http://127.0.0.1:9', { retry: { ...FAST, retries: 1 } });
    const err = await failure(down.add(await body()));
    expect([err.code, err.message, err.hint]).toEqual([
      'IO_FAILED',
      expect.stringMatching(/failed after 2 attempt\(s\)/),
      expect.stringMatching(/nodeimg tlog serve/),
    ]);
  });

  type Entry = {
    body: string;
    verification: {
      signedEntryTimestamp: string;
      inclusionProof: { hashes: string[]; checkpoint: string; treeSize: number };
    };
  };
  const flipB64 = (s: string, at: number) => {
    const b = Buffer.from(s, 'base64');
    b[at % b.length] = (b[at % b.length] as number) ^ 1;
    return b.toString('base64');
  };
  const editEntry = (f: (e: Entry) => void) => (_m: string, path: string, doc: unknown) => {
    if (!path.startsWith('/api/v1/log/entries') || Array.isArray(doc) || (doc as { code?: number }).code)
      return undefined;
    f(Object.values(doc as Record<string, Entry>)[0] as Entry);
    return doc;
  };

  it.each([
    [
      'a bad SET',
      editEntry(
        (e) => (e.verification.signedEntryTimestamp = flipB64(e.verification.signedEntryTimestamp, 20)),
      ),
      /signed entry timestamp \(SET\) that does not verify/,
    ],
    [
      'a bad inclusion proof hash',
      editEntry((e) => (e.verification.inclusionProof.hashes[0] = 'ab'.repeat(32))),
      /inclusion proof that does not lead to the checkpoint's root/,
    ],
    [
      'a wrong checkpoint signature',
      editEntry((e) => {
        const cp = e.verification.inclusionProof.checkpoint;
        const sig = /\u2014 \S+ (\S+)\n$/.exec(cp)?.[1] as string;
        e.verification.inclusionProof.checkpoint = cp.replace(sig, flipB64(sig, 30));
      }),
      /checkpoint not signed by its pinned key/,
    ],
    [
      'a proof for another tree size',
      editEntry((e) => (e.verification.inclusionProof.treeSize += 1)),
      /an inclusion proof for tree size \d+ with a checkpoint of size/,
    ],
    [
      'another body',
      editEntry((e) => (e.body = Buffer.from('{"other":1}').toString('base64'))),
      /a UUID that is not the hash of its body/,
    ],
    ['a malformed answer', () => ({ unexpected: true }), /malformed answer/],
  ])('the client rejects %s with CHECK_FAILED', async (_name, transform, why) => {
    const c = client(proxy.url);
    await c.add(await body()); // a second entry so that proofs have hashes
    proxy.transform = transform;
    try {
      const err = await failure(c.add(await body()));
      expect(err.code).toBe('CHECK_FAILED');
      expect(err.message).toMatch(why);
    } finally {
      proxy.transform = undefined;
    }
  });

  it('rejects a log whose key is not the pinned one', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const c = new RekorClient({ baseUrl: server.url, keys: [pinnedKey(other.toString(), 'x')], retry: FAST });
    expect(await codeOf(c.add(await body()))).toBe('CHECK_FAILED');
    expect(await codeOf(c.checkpoint())).toBe('CHECK_FAILED');
  });

  it('detects a forked log: two histories under one key are not consistent', async () => {
    const a = join(tmp, 'fork-a');
    const common = await LocalLog.open(a, systemClock);
    for (let i = 0; i < 2; i++) await common.add(await body());
    await common.close();
    const b = join(tmp, 'fork-b');
    cpSync(a, b, { recursive: true });
    const sa = await serve(a);
    const sb = await serve(b);
    try {
      for (let i = 0; i < 3; i++) await sb.log.add(await body()); // B: 5 entries, its own history
      const p = await startTlogProxy(sa.url);
      const fk = [pinnedKey(sa.log.publicKeyPem, 'fork')];
      expect(sb.log.logID.equals(sa.log.logID)).toBe(true);
      const c = new RekorClient({ baseUrl: p.url, keys: fk, retry: FAST });
      await c.add(await body()); // A: 3 entries
      await c.add(await body()); // A: 4 entries; the client has seen A's tree of size 4
      const seen = c.seenCheckpoints();
      p.target = sb.url;
      expect(await codeOf(c.checkpoint())).toBe('CHECK_FAILED');
      // A fresh client given what the first one saw (as sign --rekor-state does) catches it too.
      const d = new RekorClient({ baseUrl: p.url, keys: fk, retry: FAST, seen });
      const err = await failure(d.add(await body()));
      expect(err.message).toMatch(/not append-only/);
      // While B stays consistent with itself, a client that only ever saw B is fine.
      const e = new RekorClient({ baseUrl: sb.url, keys: fk, retry: FAST });
      await e.add(await body());
      await p.close();
    } finally {
      await sa.close();
      await sb.close();
    }
  });

  it("sigstore's RekorWitness logs to the server unchanged, and the bundle verifies", async () => {
    const builder = new MessageSignatureBundleBuilder({
      signer: {
        async sign(data: Buffer) {
          const s = await signer.sign(data);
          return {
            signature: Buffer.from(s.signature),
            key: { $case: 'publicKey' as const, publicKey: s.publicKey.pem, hint: s.hint },
          };
        },
      },
      witnesses: [new RekorWitness({ rekorBaseURL: server.url, fetchOnConflict: true, retry: 0 })],
    });
    const artifact = Buffer.from('witnessed by sigstore-js');
    const bundle = bundleToJSON(await builder.create({ data: artifact }));
    const r = verifyBundle({
      bundleJson: JSON.stringify(bundle),
      artifact: { kind: 'bytes', bytes: artifact },
      policy: { kind: 'key', publicKeyPem: signer.publicKey.pem },
      trustedRootJson: JSON.stringify(server.log.trustedRoot()),
    });
    expect(r).toMatchObject({ ok: true, bundle: { tlogEntries: 1 } });
    expect(await server.log.searchBySha256(createHash('sha256').update(artifact).digest('hex'))).toHaveLength(
      1,
    );
  });
});
