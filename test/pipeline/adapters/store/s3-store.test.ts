// The S3 adapter against a real S3-compatible server on loopback: s3rver 3.7.1 in a child process
// with the legacy OpenSSL provider and the conditional-write shim (test/helpers/s3-server.ts). The
// shared contract, plus what is S3-specific: parts and aborted uploads, the store prefix, objects
// in the bucket that nodeimg did not write, and conditional writes as the server sees them.
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store, type S3StoreOptions } from '../../../../pipeline/adapters/store/s3-store.js';
import { startS3Server, type S3TestServer } from '../../../helpers/s3-server.js';
import { codeOf, describeStoreContract, sha256 } from '../../../helpers/store-contract.js';

const MIB = 1024 * 1024;
// client-s3 warns once per process that releases after January 2027 need Node 22 (spec §0)
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

function storeOn(s3: S3TestServer, extra: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    bucket: 'nodeimg',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials: s3.credentials,
    partSize: 5 * MIB,
    multipartThreshold: 5 * MIB,
    listPageSize: 100,
    ...extra,
  });
}

/** Where s3rver 3.7.1 keeps an object's bytes (lib/stores/filesystem.js getResourcePath). */
const objectFile = (s3: S3TestServer, bucket: string, key: string): string =>
  join(s3.directory, bucket, `${key}._S3rver_object`);

describeStoreContract('s3 (s3rver + conditional-write shim)', async () => {
  const s3 = await startS3Server();
  const store = storeOn(s3, { prefix: 'releases/' });
  return {
    writer: store,
    reader: store,
    bigObjectBytes: 12 * MIB,
    tamper: (key, bytes) => writeFile(objectFile(s3, 'nodeimg', `releases/${key}`), bytes),
    close: () => s3.stop(),
  };
});

describe('S3Store against s3rver', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server(['nodeimg', 'other']);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('aborts a multipart upload whose bytes do not match the given sha256: no object, no parts left', async () => {
    const store = storeOn(s3);
    const big = randomBytes(12 * MIB);
    const wrong = sha256(randomBytes(16));
    expect(await codeOf(store.putImmutable('aborted/disk.raw', big, { sha256: wrong }))).toBe(
      'PUBLISH_INTEGRITY',
    );
    expect(await store.head('aborted/disk.raw')).toBeUndefined();
    const uploads = await readdir(join(s3.directory, 'nodeimg', '._S3rver_uploads')).catch(() => []);
    expect(uploads).toEqual([]);
  });

  it('uploads big bodies as parallel parts; racing multipart uploads: If-None-Match at completion picks one', async () => {
    const store = storeOn(s3);
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(context.commandName ?? '?');
        const part = context.commandName === 'UploadPartCommand';
        if (part) maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await next(args);
        } finally {
          if (part) inFlight--;
        }
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const a = randomBytes(12 * MIB);
    const b = randomBytes(12 * MIB);
    const results = await Promise.allSettled([
      store.putImmutable('race/disk.raw', a, { sha256: sha256(a) }),
      store.putImmutable('race/disk.raw', b, { sha256: sha256(b) }),
    ]);
    const count = (name: string): number => calls.filter((c) => c === name).length;
    expect(count('CreateMultipartUploadCommand')).toBe(2);
    expect(count('UploadPartCommand')).toBe(6); // 5 + 5 + 2 MiB each
    expect(count('CompleteMultipartUploadCommand')).toBe(2);
    expect(count('AbortMultipartUploadCommand')).toBe(1); // the loser's upload is cleaned up
    expect(maxInFlight).toBeGreaterThan(1);
    const won = results.findIndex((r) => r.status === 'fulfilled');
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results[1 - won] as PromiseRejectedResult).reason).toMatchObject({ code: 'PUBLISH_CONFLICT' });
    expect((await store.head('race/disk.raw'))?.sha256).toBe(sha256(won === 0 ? a : b));
    expect(await readdir(join(s3.directory, 'nodeimg', '._S3rver_uploads')).catch(() => [])).toEqual([]);
  });

  it('keeps objects under the store prefix and lists them relative to it', async () => {
    const store = storeOn(s3, { bucket: 'other', prefix: 'cdn/constellation' });
    expect(store.ref).toBe('s3://other/cdn/constellation/');
    const b = Buffer.from('{"ok":true}\n');
    await store.putImmutable('v2/ref/-/stream/stable/v1.2.3/image/info.json', b, { sha256: sha256(b) });
    const onDisk = objectFile(s3, 'other', 'cdn/constellation/v2/ref/-/stream/stable/v1.2.3/image/info.json');
    expect(await readdir(join(onDisk, '..'))).toContain('info.json._S3rver_object');
    expect(await store.list('v2/')).toEqual(['v2/ref/-/stream/stable/v1.2.3/image/info.json']);
  });

  it('compares by content an object another tool wrote (no x-amz-meta-sha256)', async () => {
    const store = storeOn(s3);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: s3.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const b = Buffer.from('written by something else');
    await client.send(new PutObjectCommand({ Bucket: 'nodeimg', Key: 'foreign/file', Body: b }));
    expect((await store.head('foreign/file'))?.sha256).toBeUndefined();
    expect(await store.putImmutable('foreign/file', b, { sha256: sha256(b) })).toBe('unchanged');
    const c = Buffer.from('other bytes');
    expect(await codeOf(store.putImmutable('foreign/file', c, { sha256: sha256(c) }))).toBe(
      'PUBLISH_CONFLICT',
    );
    // without an expected digest a foreign object is read unverified (size only)
    expect(Buffer.from((await store.get('foreign/file')) ?? []).toString()).toBe('written by something else');
  });

  it('the server enforces the conditions the adapter sends (shim: 412 If-None-Match, 412/404 If-Match)', async () => {
    const store = storeOn(s3);
    const v = await store.putVersioned('cas/pointer.json', Buffer.from('1'), { expected: null });
    expect(v).toMatch(/^"[0-9a-f]{32}"$/); // s3rver's ETag: the MD5, quoted, as S3 gives for a single PUT
    const v2 = await store.putVersioned('cas/pointer.json', Buffer.from('2'), { expected: v });
    expect(await codeOf(store.putVersioned('cas/pointer.json', Buffer.from('3'), { expected: v }))).toBe(
      'PUBLISH_CONFLICT',
    );
    expect(await codeOf(store.putVersioned('cas/missing.json', Buffer.from('3'), { expected: v2 }))).toBe(
      'PUBLISH_CONFLICT',
    );
    expect((await store.getVersioned('cas/pointer.json'))?.version).toBe(v2);
  });

  it('a wrong endpoint or wrong keys are PUBLISH_FAILED with whose fault it is', async () => {
    // s3rver checks the access key id but not SigV4 signatures (lib/middleware/authentication.js)
    const badKeys = storeOn(s3, { credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'S3RVER' } });
    const err = await badKeys.head('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUBLISH_FAILED', fault: 'client', retryable: false, status: 403 });
    const nowhere = new S3Store({
      bucket: 'nodeimg',
      endpoint: 'http://127.0.0.1:9',
      credentials: s3.credentials,
    });
    const down = await nowhere.head('x').catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'PUBLISH_FAILED', fault: 'server', retryable: true });
  });
});
