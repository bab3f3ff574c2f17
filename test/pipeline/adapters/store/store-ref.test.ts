// Store references and keys: which adapter a ref gives, and which refs and keys are refused.
import { describe, expect, it } from 'vitest';
import { DirStore } from '../../../../pipeline/adapters/store/dir-store.js';
import { HttpStore } from '../../../../pipeline/adapters/store/http-store.js';
import { checkKey, isValidKey } from '../../../../pipeline/adapters/store/keys.js';
import { partSizeFor } from '../../../../pipeline/adapters/store/s3-multipart.js';
import { LazyS3Store } from '../../../../pipeline/adapters/store/lazy-s3-store.js';
import { parseStoreRef } from '../../../../pipeline/adapters/store/store-ref.js';
import { exitCodeFor } from '../../../../pipeline/exit-codes.js';
import { HOSTILE_KEYS } from '../../../helpers/store-contract.js';

const ctx = { cwd: '/work', env: {} };

describe('parseStoreRef', () => {
  it('gives the adapter each kind of ref names', () => {
    const dir = parseStoreRef('dir:out/store', ctx);
    expect(dir).toBeInstanceOf(DirStore);
    expect(dir.ref).toBe('dir:/work/out/store');
    const s3 = parseStoreRef('s3://releases/constellation/', {
      ...ctx,
      env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' },
    });
    expect(s3).toBeInstanceOf(LazyS3Store); // the AWS SDK loads on first use
    expect(s3.ref).toBe('s3://releases/constellation/');
    expect(parseStoreRef('s3://releases', ctx).ref).toBe('s3://releases/');
    const cdn = parseStoreRef('https://cdn.example.org/constellation', ctx);
    expect(cdn).toBeInstanceOf(HttpStore);
    expect(cdn.ref).toBe('https://cdn.example.org/constellation/');
    expect(cdn.writable).toBe(false);
    expect(parseStoreRef('http://127.0.0.1:8080/', ctx)).toBeInstanceOf(HttpStore);
    expect(parseStoreRef('http://[::1]:8080/', ctx)).toBeInstanceOf(HttpStore);
  });

  it('refuses malformed refs and plain http to a remote host with a USAGE error (exit 2)', () => {
    for (const ref of [
      '',
      'dir:',
      's3://',
      's3://Bad_Bucket/x',
      's3://b/../x',
      'ftp://x',
      'http://example.org/',
      'https://u:p@cdn/',
      'https://cdn/?x=1',
      '/plain/path',
    ]) {
      let err: unknown;
      try {
        parseStoreRef(ref, ctx);
      } catch (e) {
        err = e;
      }
      expect(err, ref).toMatchObject({ code: 'USAGE' });
      expect(exitCodeFor(err)).toBe(2);
    }
  });
});

describe('object keys', () => {
  it('accepts the release layout, + in build metadata included', () => {
    for (const key of [
      'v2/ref/-/stream/stable/v1.2.3+build.5/image/measurements.json',
      'a',
      'a/b.c/d~e=f@g,h',
      'v2/ref/main/stream/nightly/versions/index-000000000001.json',
    ])
      expect(checkKey(key)).toBe(key);
  });

  it('refuses traversal, absolute, hidden, empty-segment, backslash, non-ASCII and overlong keys', () => {
    for (const key of HOSTILE_KEYS) expect(isValidKey(key), JSON.stringify(key)).toBe(false);
  });

  it('grows the part size so an upload stays within 10,000 parts', () => {
    expect(partSizeFor(12 * 2 ** 20, 5 * 2 ** 20)).toBe(5 * 2 ** 20);
    expect(partSizeFor(100 * 2 ** 30, 16 * 2 ** 20)).toBeGreaterThanOrEqual((100 * 2 ** 30) / 10_000);
    expect(partSizeFor(1, 1)).toBe(5 * 2 ** 20);
  });
});
