// Issue 7: "The local log survives kill -9 during a burst of 1,000 concurrent entries with no
// acknowledged entry lost and the tree still consistent with every checkpoint handed out."
// `nodeimg tlog serve` runs as a child process; four clients fire 1,000 POSTs at once; every 201
// (an acknowledged entry) and every checkpoint handed out (in 201s and GET /api/v1/log) is
// recorded and verified with the pinned key; the server is killed with SIGKILL mid-burst and
// restarted on the same directory. Then every acknowledged entry must be at its index with the
// same body, every recorded checkpoint must be consistent with the new tree (RFC 6962 proofs),
// and the entries that were not acknowledged can be appended (201, or 409 for those that were
// committed but whose answer was lost) to exactly 1,000 entries.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashedRekordBody } from '../../pipeline/adapters/local-log/hashedrekord.js';
import { verifyConsistency } from '../../pipeline/adapters/local-log/merkle.js';
import { RekorClient } from '../../pipeline/adapters/rekor-client.js';
import { pinnedKey, verifyCheckpoint, verifyEntry } from '../../pipeline/adapters/rekor/verify-entry.js';
import { entryFromJson } from '../../pipeline/adapters/rekor/wire.js';
import { serveChild, type Child } from '../helpers/tlog-child.js';

const N = 1000;
const CLIENTS = 4;
const KILL_AFTER = 300;
const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-tlog-crash-'));
const children: Child[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('nodeimg tlog serve under kill -9', () => {
  it('loses no acknowledged entry and stays consistent with every checkpoint handed out', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const bodies = Array.from({ length: N }, (_, i) => {
      const data = Buffer.from(`release artifact ${i}`);
      return hashedRekordBody({
        sha256: createHash('sha256').update(data).digest(),
        signature: sign('sha256', data, privateKey),
        publicKeyPem: pem,
      });
    });
    const dir = join(tmp, 'log');
    const first = await serveChild(dir);
    children.push(first.child);
    const base = first.doc.url;
    const keys = [
      pinnedKey(await (await fetch(`${base}/api/v1/log/publicKey`)).text(), 'the log under test'),
    ];

    const acked = new Map<number, { index: number; uuid: string }>(); // body number -> entry
    const checkpoints = new Map<number, Buffer>(); // tree size -> root, every one handed out
    const record = (size: number, root: Buffer): void => {
      const known = checkpoints.get(size);
      expect(known === undefined || known.equals(root), `two roots for size ${size}`).toBe(true);
      checkpoints.set(size, root);
    };
    let failures = 0;
    let stop = false;

    const post = async (i: number): Promise<void> => {
      try {
        const r = await fetch(`${base}/api/v1/log/entries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: bodies[i] as Buffer,
        });
        const text = await r.text();
        expect(r.status, text).toBe(201);
        const e = entryFromJson(JSON.parse(text));
        const cp = verifyEntry(e, keys, base);
        expect(e.body.equals(bodies[i] as Buffer)).toBe(true);
        acked.set(i, { index: e.logIndex, uuid: e.uuid });
        record(cp.treeSize, cp.rootHash);
      } catch (err) {
        if ((err as { name?: string }).name === 'AssertionError') throw err;
        failures += 1; // connection reset or refused by the killed server: not acknowledged
      }
    };
    const observer = (async () => {
      while (!stop) {
        try {
          const info = (await (await fetch(`${base}/api/v1/log`)).json()) as { signedTreeHead: string };
          const cp = verifyCheckpoint(info.signedTreeHead, keys, base);
          record(cp.treeSize, cp.rootHash);
        } catch (err) {
          if ((err as { name?: string }).name === 'AssertionError') throw err;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const burst = Array.from({ length: CLIENTS }, (_, c) =>
      Promise.all(Array.from({ length: N / CLIENTS }, (_, k) => post(c * (N / CLIENTS) + k))),
    );
    const t0 = Date.now();
    while (acked.size < KILL_AFTER && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 2));
    first.child.kill('SIGKILL');
    const killedAt = acked.size;
    await Promise.all(burst);
    stop = true;
    await observer;
    const exit = await first.child;
    expect(exit.signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acked.size, 'the kill came after the burst had ended').toBeLessThan(N);
    expect(failures).toBe(N - acked.size);

    const second = await serveChild(dir);
    children.push(second.child);
    const client = new RekorClient({
      baseUrl: second.doc.url,
      keys,
      retry: { retries: 2, minDelayMs: 10, maxDelayMs: 50 },
    });
    const now = await client.checkpoint();
    expect(now.treeSize).toBeGreaterThanOrEqual(acked.size);
    expect(now.treeSize).toBeLessThan(N);
    for (const [i, { index, uuid }] of acked) {
      const e = await client.entryByIndex(index);
      expect(e?.uuid).toBe(uuid);
      expect(e?.body.equals(bodies[i] as Buffer)).toBe(true);
    }
    for (const [size, root] of checkpoints) {
      if (size === 0) continue;
      expect(size).toBeLessThanOrEqual(now.treeSize);
      const proof = await client.consistency(size, now.treeSize);
      expect(verifyConsistency(size, now.treeSize, proof, root, now.rootHash), `checkpoint ${size}`).toBe(
        true,
      );
    }

    // Appending continues: the rest go in (201), or are found (409: committed, answer lost).
    let found = 0;
    for (let i = 0; i < N; i++) {
      if (acked.has(i)) continue;
      const before = (await client.checkpoint()).treeSize;
      const e = await client.add(bodies[i] as Buffer);
      if (e.logIndex < before) found += 1;
    }
    const final = await client.checkpoint();
    expect(final.treeSize).toBe(N);
    expect(found).toBe(now.treeSize - acked.size);
    second.child.kill('SIGTERM');
    const r = await second.child;
    expect(r.exitCode).toBe(0);
    console.log(
      `crash test: ${acked.size} acknowledged of ${N} when killed (${killedAt} at the kill), ` +
        `${checkpoints.size} checkpoints recorded, ${now.treeSize} entries after restart ` +
        `(${found} committed but unacknowledged); restarted server said: ${String(r.stderr).trim()}`,
    );
  });
});
