// The S3 adapter against a second real S3 server: Ceph's RADOS Gateway (Debian's radosgw: 16.2 on
// bookworm, 18.2 on trixie) in front of a one-OSD in-memory cluster on 127.0.0.1
// (test/helpers/ceph-rgw.mjs). Unlike s3rver it needs no shim: it implements If-None-Match and
// If-Match itself, checks each request's signed payload hash, and completes multipart uploads
// natively. It is also how the adapter's If-Match fallback was found: radosgw 16 and 18 compare the
// header with their unquoted ETag byte for byte (s3-conflict.test.ts), and without the fallback the
// contract's compare-and-swap test fails here (seen on both; 18.2.7 run from a trixie chroot with
// NODEIMG_CEPH_CHROOT).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../../../pipeline/adapters/store/s3-store.js';
import { missingCephTool, startRadosgw, type Radosgw } from '../../../helpers/ceph-rgw.mjs';
import { codeOf, describeStoreContract, sha256 } from '../../../helpers/store-contract.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
const MIB = 1024 * 1024;

const missing = missingCephTool();
if (missing)
  throw new Error(`${missing} is missing: run scripts/setup (Debian packages radosgw ceph-mon ceph-osd)`);

// one cluster for the file (its start takes 10-20 s), stopped after the last test
let cluster: Promise<{ rgw: Radosgw; dir: string }> | undefined;
function start(): Promise<{ rgw: Radosgw; dir: string }> {
  cluster ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nodeimg-radosgw-'));
    const rgw = await startRadosgw(dir, { memoryGiB: 2 });
    await storeOn(rgw).client.send(new CreateBucketCommand({ Bucket: 'nodeimg' }));
    return { rgw, dir };
  })();
  return cluster;
}
afterAll(async () => {
  const c = await cluster?.catch(() => undefined);
  await c?.rgw.stop();
  if (c) await rm(c.dir, { recursive: true, force: true });
});

function storeOn(rgw: Radosgw, prefix?: string): S3Store {
  return new S3Store({
    bucket: 'nodeimg',
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    credentials: rgw.credentials,
    partSize: 5 * MIB,
    multipartThreshold: 5 * MIB,
    listPageSize: 100,
    ...(prefix ? { prefix } : {}),
  });
}

describeStoreContract('s3 (Ceph radosgw, no shim)', async () => {
  const { rgw } = await start();
  const store = storeOn(rgw, 'releases/');
  return {
    writer: store,
    reader: store,
    bigObjectBytes: 12 * MIB,
    // other bytes behind the store's back, with the recorded sha256 left as it was
    tamper: async (key, bytes) => {
      const head = await store.head(key);
      await store.client.send(
        new PutObjectCommand({
          Bucket: 'nodeimg',
          Key: `releases/${key}`,
          Body: bytes,
          ...(head?.sha256 ? { Metadata: { sha256: head.sha256 } } : {}),
        }),
      );
    },
    close: async () => undefined, // the file's afterAll stops the cluster
  };
});

describe('S3Store against radosgw', () => {
  let rgw: Radosgw;
  beforeAll(async () => {
    ({ rgw } = await start());
  });

  it('a large object (multipart) is immutable: other bytes refused, the same bytes a no-op', async () => {
    const store = storeOn(rgw);
    const a = Buffer.alloc(11 * MIB, 1);
    const b = Buffer.alloc(11 * MIB, 2);
    expect(await store.putImmutable('seq/disk.raw', a, { sha256: sha256(a) })).toBe('created');
    expect(await codeOf(store.putImmutable('seq/disk.raw', b, { sha256: sha256(b) }))).toBe(
      'PUBLISH_CONFLICT',
    );
    expect(await store.putImmutable('seq/disk.raw', a, { sha256: sha256(a) })).toBe('unchanged');
    expect(a.equals(Buffer.from((await store.get('seq/disk.raw')) ?? []))).toBe(true);
  });

  it('racing multipart uploads of one key: radosgw 16 and 18 ignore If-None-Match on CompleteMultipartUpload', async () => {
    // S3 lets exactly one of them complete. radosgw 16.2 and 18.2 (Debian 12 and 13) complete all
    // of them, and the last one stays: the adapter's HeadObject before uploading catches an object
    // that exists, not one completed meanwhile (README, "Immutability on S3-compatible servers").
    // What must hold either way: the object is one whole body, verified on download.
    const store = storeOn(rgw);
    const bodies = [0, 1, 2].map((i) => Buffer.alloc(11 * MIB, i + 1));
    const results = await Promise.all(
      bodies.map((b) => codeOf(store.putImmutable('race/disk.raw', b, { sha256: sha256(b) }))),
    );
    const won = results.filter((r) => r === 'no error').length;
    expect(won).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r === 'no error' || r === 'PUBLISH_CONFLICT')).toBe(true);
    if (/^1[68]\./.test(rgw.version)) expect(won).toBe(3);
    const stored = Buffer.from((await store.get('race/disk.raw')) ?? []);
    expect(bodies.some((b) => b.equals(stored))).toBe(true);
  });

  it('a body whose sha256 is not the given one is refused: multipart aborted, no object', async () => {
    const store = storeOn(rgw);
    const big = Buffer.alloc(12 * MIB, 7);
    expect(
      await codeOf(store.putImmutable('aborted/disk.raw', big, { sha256: sha256(Buffer.from('x')) })),
    ).toBe('PUBLISH_INTEGRITY');
    expect(await store.head('aborted/disk.raw')).toBeUndefined();
  });
});
