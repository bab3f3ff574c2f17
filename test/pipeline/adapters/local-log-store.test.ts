// The local log's store: the incremental Merkle tree against the RFC 6962 reference, durable group
// commit, torn-tail repair, damage it must refuse, the directory lock, migration of the first
// on-disk format, and the signature check before an entry is accepted.
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeySigner } from '../../../pipeline/adapters/key-signer.js';
import { DirLockedError } from '../../../pipeline/adapters/local-log/dir-lock.js';
import { hashedRekordBody } from '../../../pipeline/adapters/local-log/hashedrekord.js';
import { BadEntryError } from '../../../pipeline/adapters/local-log/hashedrekord-verify.js';
import { LocalLog } from '../../../pipeline/adapters/local-log/local-log.js';
import { DATA_FILE, StoreCorruptError } from '../../../pipeline/adapters/local-log/log-store.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../pipeline/adapters/local-log/merkle.js';
import { MerkleTree } from '../../../pipeline/adapters/local-log/merkle-tree.js';
import { VerifyPool } from '../../../pipeline/adapters/local-log/verify-pool.js';
import { HEAD, MAGIC, scanRecords } from '../../../pipeline/adapters/local-log/record-file.js';
import type { Clock } from '../../../pipeline/ports.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-tlog-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const clock: Clock = { now: () => 1_800_000_000_000 };
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = KeySigner.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'test', {});

/** A canonical hashedrekord body for `text`, signed by the test key. */
async function bodyFor(text: string): Promise<Buffer> {
  const bytes = Buffer.from(text);
  const s = await signer.sign(bytes);
  return hashedRekordBody({
    sha256: createHash('sha256').update(bytes).digest(),
    signature: s.signature,
    publicKeyPem: s.publicKey.pem,
  });
}

async function heads(dir: string): Promise<number> {
  const fh = await open(join(dir, DATA_FILE), 'r');
  let n = 0;
  await scanRecords(fh, (await fh.stat()).size, MAGIC.length, (r) => {
    if (r.type === HEAD) n += 1;
  });
  await fh.close();
  return n;
}

describe('MerkleTree (incremental) equals the RFC 6962 reference', () => {
  it('roots, inclusion and consistency proofs for every tree up to 70 leaves', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from([i, i >> 8])));
    const tree = new MerkleTree();
    for (const l of leaves) tree.append(l);
    for (let n = 1; n <= leaves.length; n++) {
      const prefix = leaves.slice(0, n);
      const root = rootHash(prefix);
      expect(tree.root(n).equals(root), `root ${n}`).toBe(true);
      for (let m = 0; m < n; m += n > 20 ? 7 : 1) {
        const p = tree.inclusionProof(m, n);
        expect(p).toEqual(inclusionProof(m, prefix));
        expect(verifyInclusion(m, n, leaves[m] as Buffer, p, root)).toBe(true);
      }
      for (let m = 1; m <= n; m += n > 20 ? 5 : 1) {
        const p = tree.consistencyProof(m, n);
        expect(p).toEqual(consistencyProof(m, prefix));
        expect(verifyConsistency(m, n, p, rootHash(leaves.slice(0, m)), root)).toBe(true);
      }
    }
    tree.truncate(33);
    expect(tree.size).toBe(33);
    expect(tree.root().equals(rootHash(leaves.slice(0, 33)))).toBe(true);
    expect(() => tree.inclusionProof(33, 33)).toThrow(RangeError);
  });
});

describe('LogStore', () => {
  it('batches concurrent appends into few fdatasync’d batches, and everything survives a reopen', async () => {
    const dir = join(tmp, 'group');
    const log = await LocalLog.open(dir, clock);
    const bodies = await Promise.all(Array.from({ length: 200 }, (_, i) => bodyFor(`file ${i}`)));
    const added = await Promise.all(bodies.map((b) => log.append(b)));
    expect(added.every((a) => a.created)).toBe(true);
    expect(added.map((a) => a.entry.logIndex).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    const cp = await log.checkpoint();
    await log.close();
    const batches = await heads(dir);
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThan(50); // one HEAD (one write + fdatasync) per batch, not per entry

    const again = await LocalLog.open(dir, clock);
    expect(await again.size()).toBe(200);
    expect((await again.checkpoint()).rootHash.equals(cp.rootHash)).toBe(true);
    for (const { entry } of added.slice(0, 20)) {
      const e = await again.entryByIndex(entry.logIndex);
      expect(e?.body.equals(entry.body)).toBe(true);
      expect(e?.integratedTime).toBe(1_800_000_000);
      expect((await again.entryByUuid(entry.entryID))?.logIndex).toBe(entry.logIndex);
    }
    const dup = await again.append(bodies[5] as Buffer);
    expect([dup.created, dup.entry.logIndex]).toEqual([false, added[5]?.entry.logIndex]);
    const sha = createHash('sha256').update('file 7').digest('hex');
    expect(await again.searchBySha256(sha)).toEqual([added[7]?.entry.entryID]);
    await again.close();
  });

  it('repairs a torn tail (garbage, a half record, entries without a tree head) with a warning', async () => {
    const dir = join(tmp, 'torn');
    const log = await LocalLog.open(dir, clock);
    for (let i = 0; i < 3; i++) await log.add(await bodyFor(`torn ${i}`));
    const cp = await log.checkpoint();
    await log.close();
    const data = join(dir, DATA_FILE);
    const good = statSync(data).size;

    const tails: Buffer[] = [
      Buffer.from('garbage that is not a record at all'),
      readFileSync(data).subarray(MAGIC.length, MAGIC.length + 40), // the first half of a record
      readFileSync(data).subarray(MAGIC.length, MAGIC.length + 9 + 8 + (await bodyFor('x')).length), // a whole ENTRY record, no HEAD
    ];
    for (const tail of tails) {
      appendFileSync(data, tail);
      const warnings: string[] = [];
      const l = await LocalLog.open(dir, clock, { warn: (m) => warnings.push(m) });
      expect(warnings.join('\n')).toMatch(/repaired a torn tail: \d+ bytes at offset \d+ cut off/);
      expect(statSync(data).size).toBe(good);
      expect(await l.size()).toBe(3);
      await l.close();
    }
    // Appending continues, consistently with the checkpoint handed out before the crash.
    const l = await LocalLog.open(dir, clock);
    await l.add(await bodyFor('after repair'));
    const now = await l.checkpoint();
    expect(verifyConsistency(3, 4, await l.consistency(3), cp.rootHash, now.rootHash)).toBe(true);
    await l.close();
  });

  it('refuses damage older than the last batch, and entries that do not make their tree head', async () => {
    const dir = join(tmp, 'damaged');
    const log = await LocalLog.open(dir, clock);
    for (let i = 0; i < 3; i++) await log.add(await bodyFor(`damage ${i}`)); // three batches
    await log.close();
    const data = join(dir, DATA_FILE);
    const original = readFileSync(data);

    const flipped = Buffer.from(original);
    flipped[MAGIC.length + 30] = (flipped[MAGIC.length + 30] as number) ^ 1; // inside the first ENTRY
    writeFileSync(data, flipped);
    await expect(LocalLog.open(dir, clock)).rejects.toThrow(StoreCorruptError);
    await expect(LocalLog.open(dir, clock)).rejects.toThrow(/not a write cut short by a crash/);

    // A body changed with its CRC fixed: the tree head after it no longer matches.
    const rewritten = Buffer.from(original);
    const at = rewritten.indexOf('"sha256"', MAGIC.length) + 2;
    rewritten[at] = 'S'.charCodeAt(0);
    const len = rewritten.readUInt32BE(MAGIC.length);
    const { crc32 } = await import('node:zlib');
    rewritten.writeUInt32BE(
      crc32(rewritten.subarray(MAGIC.length + 8, MAGIC.length + 9 + len)),
      MAGIC.length + 4,
    );
    writeFileSync(data, rewritten);
    await expect(LocalLog.open(dir, clock)).rejects.toThrow(/the tree head at offset \d+ says size 1/);

    writeFileSync(data, original);
    const ok = await LocalLog.open(dir, clock);
    expect(await ok.size()).toBe(3);
    await ok.close();
  });

  it('takes the directory lock: a live holder is refused, a dead one is taken over', async () => {
    const dir = join(tmp, 'locked');
    await (await LocalLog.open(dir, clock)).close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    const lockOf = (pid: number) =>
      JSON.stringify({ pid, host: hostname(), started: new Date().toISOString(), token: 'other' });
    writeFileSync(join(dir, 'lock'), lockOf(process.ppid));
    await expect(LocalLog.open(dir, clock)).rejects.toThrow(DirLockedError);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    writeFileSync(join(dir, 'lock'), lockOf(dead));
    const log = await LocalLog.open(dir, clock);
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    await log.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('migrates a first-format log (entries/*.json) keeping indexes, bodies and times', async () => {
    const dir = join(tmp, 'legacy');
    await (await LocalLog.open(dir, clock)).close();
    rmSync(join(dir, DATA_FILE));
    mkdirSync(join(dir, 'entries'));
    const bodies = [await bodyFor('old 0'), await bodyFor('old 1')];
    bodies.forEach((b, i) =>
      writeFileSync(
        join(dir, 'entries', `${String(i).padStart(12, '0')}.json`),
        `${JSON.stringify({ logIndex: i, integratedTime: 1_700_000_000 + i, uuid: leafHash(b).toString('hex'), body: b.toString('base64') })}\n`,
      ),
    );
    const warnings: string[] = [];
    const log = await LocalLog.open(dir, clock, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([`${dir}: migrated 2 entries from entries/*.json to entries.dat`]);
    expect(await log.size()).toBe(2);
    const e1 = await log.entryByIndex(1);
    expect(e1?.body.equals(bodies[1] as Buffer)).toBe(true);
    expect(e1?.integratedTime).toBe(1_700_000_001);
    expect(readdirSync(dir).some((n) => n.startsWith('entries.migrated-'))).toBe(true);
    await log.close();
  });

  it('accepts only entries whose signature verifies over the digest (P-256 key or certificate)', async () => {
    const log = await LocalLog.open(join(tmp, 'sigcheck'), clock);
    const good = JSON.parse((await bodyFor('sig')).toString()) as {
      spec: { signature: { content: string; publicKey: { content: string } } };
    };
    const bad = structuredClone(good);
    bad.spec.signature.content = Buffer.from((await signer.sign(Buffer.from('other'))).signature).toString(
      'base64',
    );
    await expect(log.append(bad)).rejects.toThrow(BadEntryError);
    await expect(log.append(bad)).rejects.toThrow(/does not verify/);
    expect((await log.append(good)).created).toBe(true);

    const c = join(tmp, 'cert');
    mkdirSync(c);
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=test',
      '-days',
      '1',
      '-keyout',
      join(c, 'k.pem'),
      '-out',
      join(c, 'c.pem'),
    ]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const data = Buffer.from('signed with a certificate');
    const entry = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(data).digest('hex') } },
        signature: {
          content: sign('sha256', data, readFileSync(join(c, 'k.pem'), 'utf8')).toString('base64'),
          publicKey: { content: readFileSync(join(c, 'c.pem')).toString('base64') },
        },
      },
    };
    const added = await log.append(entry);
    expect(added.entry.body.toString()).toContain(readFileSync(join(c, 'c.pem')).toString('base64'));
    await log.close();
  });

  it('checks signatures on worker threads (VerifyPool) exactly as inline', async () => {
    const pool = new VerifyPool(2);
    try {
      const log = await LocalLog.open(join(tmp, 'pool'), clock, { verify: pool.verify });
      const good = await Promise.all(Array.from({ length: 8 }, (_, i) => bodyFor(`pool ${i}`)));
      const bad = JSON.parse((await bodyFor('pool bad')).toString()) as {
        spec: { data: { hash: { value: string } } };
      };
      bad.spec.data.hash.value = createHash('sha256').update('something else').digest('hex');
      const results = await Promise.allSettled([...good.map((b) => log.append(b)), log.append(bad)]);
      expect(results.map((r) => r.status)).toEqual([...good.map(() => 'fulfilled'), 'rejected']);
      expect(String((results[8] as PromiseRejectedResult).reason)).toMatch(/does not verify/);
      expect(await log.size()).toBe(8);
      await log.close();
    } finally {
      await pool.close();
    }
  });

  it('a second handle in the same process shares the store; the lock goes with the last close', async () => {
    const dir = join(tmp, 'shared');
    const a = await LocalLog.open(dir, clock);
    const b = await LocalLog.open(dir, { now: () => 1_900_000_000_000 });
    const e = await b.add(await bodyFor('shared'));
    expect(e.integratedTime).toBe(1_900_000_000); // each handle's own clock
    expect(await a.size()).toBe(1);
    await a.close();
    expect(existsSync(join(dir, 'lock'))).toBe(true);
    await b.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    truncateSync(join(dir, DATA_FILE), MAGIC.length - 1);
    await expect(LocalLog.open(dir, clock)).rejects.toThrow(/bad header/);
  });
});
