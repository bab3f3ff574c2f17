// The ObjectStore contract (pipeline/ports.ts), run the same way over every adapter: the directory
// store, S3 against a real S3-compatible server (s3rver + shim), and HTTP through `nodeimg serve`
// (read-only: a writable store fills it, the HTTP store reads it back).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeimgError, PublishError } from '../../pipeline/errors.js';
import type { ObjectStore } from '../../pipeline/ports.js';
import { updateVersioned } from '../../pipeline/update-versioned.js';

export interface ContractFixture {
  /** Where objects are written (dir or S3). */
  readonly writer: ObjectStore;
  /** Where they are read back: the writer itself, or an HTTP store over it. */
  readonly reader: ObjectStore;
  /** Part size the writer uses for uploads above its multipart threshold (S3), for the big test. */
  readonly bigObjectBytes: number;
  /** Overwrites a stored object's bytes behind the store's back (same length). */
  tamper(key: string, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof NodeimgError ? err.code : `not a NodeimgError: ${String(err)}`;
  }
  return 'no error';
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

export const HOSTILE_KEYS = [
  '',
  '../etc/passwd',
  'a/../../b',
  '/abs/key',
  'a//b',
  'a/',
  'a\\b',
  'a/./b',
  '.nodeimg-store/meta/x.json',
  'a/.hidden',
  '%2e%2e/x',
  'a\0b',
  'caf\u00e9',
  'x'.repeat(1025),
];

export function describeStoreContract(name: string, setup: () => Promise<ContractFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fx: ContractFixture;
    let tmp: string;
    const run = randomBytes(4).toString('hex');
    const k = (s: string): string => `c-${run}/${s}`;

    beforeAll(async () => {
      fx = await setup();
      tmp = await mkdtemp(join(tmpdir(), 'nodeimg-contract-'));
    });
    afterAll(async () => {
      await fx?.close();
      await rm(tmp, { recursive: true, force: true });
    });

    it('put-if-absent: created, the same bytes again unchanged, different bytes refused', async () => {
      const a = text('{"version":"v1.0.0"}\n');
      const b = text('{"version":"v1.0.0","changed":true}\n');
      const key = k('v2/ref/-/stream/stable/v1.0.0/image/info.json');
      expect(
        await fx.writer.putImmutable(key, a, { sha256: sha256(a), contentType: 'application/json' }),
      ).toBe('created');
      expect(await fx.writer.putImmutable(key, a, { sha256: sha256(a) })).toBe('unchanged');
      const err = await fx.writer.putImmutable(key, b, { sha256: sha256(b) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PublishError);
      expect((err as PublishError).code).toBe('PUBLISH_CONFLICT');
      expect((err as PublishError).fault).toBe('client');
      expect((err as PublishError).retryable).toBe(false);
      expect((err as PublishError).target).toContain(key);
      expect(Buffer.from((await fx.reader.get(key)) ?? [])).toEqual(Buffer.from(a));
      const head = await fx.reader.head(key);
      expect(head?.size).toBe(a.length);
      expect(head?.sha256).toBe(sha256(a));
      expect(head?.contentType).toMatch(/^application\/json/);
    });

    it('uploads a file body and refuses a body whose sha256 is not the given one, storing nothing', async () => {
      const bytes = randomBytes(300_000);
      const file = join(tmp, 'body.bin');
      await writeFile(file, bytes);
      expect(await fx.writer.putImmutable(k('file.bin'), { path: file }, { sha256: sha256(bytes) })).toBe(
        'created',
      );
      expect(sha256((await fx.reader.get(k('file.bin'))) ?? new Uint8Array())).toBe(sha256(bytes));
      const wrong = sha256(text('something else'));
      expect(await codeOf(fx.writer.putImmutable(k('wrong.bin'), { path: file }, { sha256: wrong }))).toBe(
        'PUBLISH_INTEGRITY',
      );
      expect(await fx.reader.head(k('wrong.bin'))).toBeUndefined();
      expect(
        await codeOf(fx.writer.putImmutable(k('nofile'), { path: join(tmp, 'missing') }, { sha256: wrong })),
      ).toBe('IO_NOT_FOUND');
    });

    it('missing keys are undefined; caps and expected digests are enforced on reads', async () => {
      expect(await fx.reader.head(k('nope'))).toBeUndefined();
      expect(await fx.reader.get(k('nope'))).toBeUndefined();
      expect(await fx.reader.getStream(k('nope'))).toBeUndefined();
      expect(await fx.reader.getVersioned(k('nope'))).toBeUndefined();
      const bytes = randomBytes(4096);
      await fx.writer.putImmutable(k('capped.bin'), bytes, { sha256: sha256(bytes) });
      expect(await codeOf(fx.reader.get(k('capped.bin'), { maxBytes: 4095 }))).toBe('PUBLISH_FAILED');
      expect((await fx.reader.get(k('capped.bin'), { maxBytes: 4096 }))?.length).toBe(4096);
      const other = sha256(randomBytes(8));
      expect(await codeOf(fx.reader.get(k('capped.bin'), { sha256: other }))).toBe('PUBLISH_INTEGRITY');
      const stream = await fx.reader.getStream(k('capped.bin'), { sha256: other });
      expect(await codeOf(collect(stream as AsyncIterable<Uint8Array>))).toBe('PUBLISH_INTEGRITY');
    });

    it('detects an object changed behind its back (download verifies the recorded sha256)', async () => {
      const bytes = randomBytes(2048);
      await fx.writer.putImmutable(k('tampered.bin'), bytes, { sha256: sha256(bytes) });
      const evil = Buffer.from(bytes);
      evil[100] = (evil[100] ?? 0) ^ 0xff;
      await fx.tamper(k('tampered.bin'), evil);
      expect(await codeOf(fx.reader.get(k('tampered.bin')))).toBe('PUBLISH_INTEGRITY');
      const stream = await fx.reader.getStream(k('tampered.bin'));
      expect(await codeOf(collect(stream as AsyncIterable<Uint8Array>))).toBe('PUBLISH_INTEGRITY');
    });

    it('lists every key under a prefix, sorted, across pages (250 keys, pages of 100)', async () => {
      const keys = Array.from({ length: 250 }, (_, i) => k(`many/obj-${String(i).padStart(4, '0')}`));
      const one = text('x');
      for (let i = 0; i < keys.length; i += 25)
        await Promise.all(
          keys.slice(i, i + 25).map((key) => fx.writer.putImmutable(key, one, { sha256: sha256(one) })),
        );
      // a sibling after "many/" in key order: s3rver 3.7.1 pages in directory-walk order, so a
      // sibling that sorts before "/" ("many-x": '-' < '/') is skipped on later pages there (real S3
      // pages in key order); that is s3rver's bug, not the adapter's, and is left out here
      await fx.writer.putImmutable(k('manyz-sibling'), one, { sha256: sha256(one) });
      expect(await fx.reader.list(k('many/'))).toEqual([...keys].sort());
      expect(await fx.reader.list(k('many/obj-01'))).toEqual(keys.slice(100, 200));
      expect(await fx.reader.list(k('many'))).toEqual([...keys, k('manyz-sibling')]);
      expect(await fx.reader.list(k('nothing-here/'))).toEqual([]);
    });

    it('uploads a body larger than the part size in parts, and reads it back verified', async () => {
      const n = fx.bigObjectBytes;
      const big = randomBytes(n);
      const file = join(tmp, 'big.bin');
      await writeFile(file, big);
      const key = k('big/disk.raw');
      expect(await fx.writer.putImmutable(key, { path: file }, { sha256: sha256(big) })).toBe('created');
      expect(await fx.writer.putImmutable(key, { path: file }, { sha256: sha256(big) })).toBe('unchanged');
      const other = Buffer.from(big);
      other[n - 1] = (other[n - 1] ?? 0) ^ 1;
      expect(await codeOf(fx.writer.putImmutable(key, other, { sha256: sha256(other) }))).toBe(
        'PUBLISH_CONFLICT',
      );
      const got = await collect((await fx.reader.getStream(key)) as AsyncIterable<Uint8Array>);
      expect(got.length).toBe(n);
      expect(sha256(got)).toBe(sha256(big));
      expect((await fx.reader.head(key))?.sha256).toBe(sha256(big));
    });

    it('concurrent puts of different bytes to one key: exactly one wins, the others are refused', async () => {
      const bodies = Array.from({ length: 6 }, (_, i) => text(`candidate ${i} ${'.'.repeat(i * 1000)}`));
      const results = await Promise.allSettled(
        bodies.map((b) => fx.writer.putImmutable(k('race/info.json'), b, { sha256: sha256(b) })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won.map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(['created']);
      for (const r of results.filter((x) => x.status === 'rejected'))
        expect(((r as PromiseRejectedResult).reason as NodeimgError).code).toBe('PUBLISH_CONFLICT');
      const stored = await fx.reader.get(k('race/info.json'));
      const winner = bodies[results.indexOf(won[0] as (typeof results)[number])] as Uint8Array;
      expect(Buffer.from(stored ?? [])).toEqual(Buffer.from(winner));
      // the same bytes from many writers at once: one created, the rest unchanged
      const same = text('same bytes');
      const again = await Promise.all(
        Array.from({ length: 5 }, () =>
          fx.writer.putImmutable(k('race/same'), same, { sha256: sha256(same) }),
        ),
      );
      expect(again.sort()).toEqual(['created', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    });

    it('compare-and-swap: a stale version is refused (retryable); two racing updates both land', async () => {
      const key = k('versions/current.json');
      const v1 = await fx.writer.putVersioned(key, text('[]'), {
        expected: null,
        contentType: 'application/json',
      });
      const stale = await fx.writer
        .putVersioned(key, text('[0]'), { expected: null })
        .catch((e: unknown) => e);
      expect((stale as PublishError).code).toBe('PUBLISH_CONFLICT');
      expect((stale as PublishError).retryable).toBe(true);
      const read = await fx.reader.getVersioned(key);
      expect(Buffer.from(read?.bytes ?? []).toString()).toBe('[]');
      if (fx.reader === fx.writer) expect(read?.version).toBe(v1);

      // both read version v1 before either writes: one write wins, the other must re-read and redo
      let arrived = 0;
      let open: () => void = () => undefined;
      const gate = new Promise<void>((r) => (open = r));
      const append = (release: string) => async (cur: Uint8Array | undefined) => {
        const list = JSON.parse(Buffer.from(cur ?? text('[]')).toString()) as string[];
        if (++arrived === 2) open();
        await gate;
        return text(JSON.stringify([...list, release]));
      };
      const [a, b] = await Promise.all([
        updateVersioned(fx.writer, key, append('v1.0.0')),
        updateVersioned(fx.writer, key, append('v1.1.0')),
      ]);
      expect([a.attempts, b.attempts].sort()).toEqual([1, 2]);
      const final = JSON.parse(Buffer.from((await fx.reader.get(key)) ?? []).toString()) as string[];
      expect(final.sort()).toEqual(['v1.0.0', 'v1.1.0']);
    });

    it('refuses hostile keys before any I/O', async () => {
      const one = text('x');
      for (const key of HOSTILE_KEYS) {
        expect(await codeOf(fx.writer.putImmutable(key, one, { sha256: sha256(one) })), key).toBe('USAGE');
        expect(await codeOf(fx.reader.get(key)), key).toBe('USAGE');
        expect(await codeOf(fx.reader.head(key)), key).toBe('USAGE');
        expect(await codeOf(fx.writer.putVersioned(key, one, { expected: null })), key).toBe('USAGE');
      }
      expect(await codeOf(fx.reader.list('../'))).toBe('USAGE');
      expect(await codeOf(fx.writer.putImmutable(k('ok'), one, { sha256: 'ABC' }))).toBe('USAGE');
    });
  });
}
