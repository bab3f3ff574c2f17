// The S3 adapter's answer to 409 ConditionalRequestConflict, which real S3 gives to one of two
// racing conditional writes ("retry the request"): s3rver's conditional-write shim is told to answer
// the first N conditional writes of a key with 409 (test/helpers/s3rver-child.mjs `conflicts`).
// A put-if-absent retries (twice) and then succeeds or fails retryable with nothing stored; a
// compare-and-swap write reports a retryable PUBLISH_CONFLICT, so the caller re-reads the object
// before it tries again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../../../pipeline/adapters/store/s3-store.js';
import { startS3Server, type S3TestServer } from '../../../helpers/s3-server.js';
import { sha256 } from '../../../helpers/store-contract.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

let s3: S3TestServer;
let store: S3Store;

beforeAll(async () => {
  s3 = await startS3Server(['nodeimg'], {
    'nodeimg/racing-twice.json': 2,
    'nodeimg/racing-always.json': 5,
    'nodeimg/versions/current.json': 1,
  });
  store = new S3Store({
    bucket: 'nodeimg',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials: s3.credentials,
  });
});

afterAll(async () => {
  await s3?.stop();
});

describe('S3 409 ConditionalRequestConflict', () => {
  it('put-if-absent retries a 409 and then writes the object', async () => {
    const body = Buffer.from('{"a":1}\n');
    expect(
      await store.putImmutable('racing-twice.json', body, {
        sha256: sha256(body),
        contentType: 'application/json',
      }),
    ).toBe('created');
    expect(Buffer.from((await store.get('racing-twice.json')) ?? [])).toEqual(body);
  });

  it('put-if-absent gives up after three 409s: retryable PUBLISH_FAILED, nothing stored', async () => {
    const err = await store
      .putImmutable('racing-always.json', Buffer.from('x'), { sha256: sha256(Buffer.from('x')) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUBLISH_FAILED', retryable: true });
    expect(await store.head('racing-always.json')).toBeUndefined();
  });

  it('a compare-and-swap write answered 409 is a retryable PUBLISH_CONFLICT; the retry succeeds', async () => {
    const v1 = Buffer.from('[1]');
    const err = await store
      .putVersioned('versions/current.json', v1, { expected: null })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUBLISH_CONFLICT', retryable: true });
    expect(await store.head('versions/current.json')).toBeUndefined();
    const version = await store.putVersioned('versions/current.json', v1, { expected: null });
    expect(typeof version).toBe('string');
    expect(sha256(Buffer.from((await store.get('versions/current.json')) ?? []))).toBe(sha256(v1));
  });
});
