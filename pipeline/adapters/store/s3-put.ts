// Single-request conditional writes (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html):
// put-if-absent (If-None-Match: *) for immutable objects and compare-and-swap (If-Match: <ETag>) for
// the few mutable ones. Every body carries its SHA-256 as x-amz-meta-sha256 (what readers verify
// against) and as the signed payload hash (what S3 verifies on arrival, s3-payload.ts).
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishError } from '../../errors.js';
import { isConditionalConflict, isNotFound, isPreconditionFailed, s3Failure, statusOf } from './s3-errors.js';
import { withPayloadSha256 } from './s3-payload.js';

/** One object of a bucket, as the S3 helpers address it. */
export interface S3Target {
  readonly client: S3Client;
  readonly bucket: string;
  /** The full S3 key (store prefix included). */
  readonly key: string;
  /** Store ref + key, for messages. */
  readonly target: string;
}

const put = (
  t: S3Target,
  bytes: Uint8Array,
  sha256: string,
  contentType: string,
  condition: object,
): PutObjectCommand =>
  withPayloadSha256(
    new PutObjectCommand({
      Bucket: t.bucket,
      Key: t.key,
      Body: bytes,
      ContentLength: bytes.length,
      ContentType: contentType,
      Metadata: { sha256 },
      ...condition,
    }),
    sha256,
  );

/** 'created', or 'exists' when the key is taken (412). A 409 (concurrent write) is retried twice. */
export async function putIfAbsent(
  t: S3Target,
  bytes: Uint8Array,
  sha256: string,
  contentType: string,
): Promise<'created' | 'exists'> {
  for (let attempt = 1; ; attempt++) {
    try {
      await t.client.send(put(t, bytes, sha256, contentType, { IfNoneMatch: '*' }));
      return 'created';
    } catch (err) {
      if (isPreconditionFailed(err)) return 'exists';
      if (!isConditionalConflict(err) || attempt >= 3) throw s3Failure(t.target, 'PutObject', err);
      await new Promise((r) => setTimeout(r, 100 * attempt)); // S3: "on a 409 failure you should retry"
    }
  }
}

/** The ETag without the double quotes of an RFC 9110 entity tag, or undefined when it has none. */
const bare = (etag: string): string | undefined =>
  etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : undefined;

/** The object's current ETag (HeadObject), undefined when there is none. */
async function currentETag(t: S3Target): Promise<string | undefined> {
  try {
    return (await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key }))).ETag;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw s3Failure(t.target, 'HeadObject', err);
  }
}

/**
 * Writes only if the current ETag is `expected` (null: only if there is no object); returns the new
 * ETag. 412, 409, or 404 for If-Match on a missing key mean someone else changed it: a retryable
 * PUBLISH_CONFLICT.
 *
 * A 412 while the object still has the expected ETag is the server's mistake, not a race: Ceph's
 * radosgw 16 and 18 (Debian 12 and 13) compare If-Match byte for byte with the ETag they store,
 * which has no quotes, so the quoted ETag they hand out never matches. Then the write is asked once more with the
 * bare ETag, still conditional; a server that refuses that too cannot compare-and-swap, and the
 * error says so instead of reporting a race that retrying would never win.
 */
export async function putIfMatch(
  t: S3Target,
  bytes: Uint8Array,
  sha256: string,
  contentType: string,
  expected: string | null,
): Promise<string> {
  const send = async (condition: object): Promise<string> => {
    const out = await t.client.send(put(t, bytes, sha256, contentType, condition));
    if (!out.ETag) throw new Error('no ETag in the answer');
    return out.ETag;
  };
  try {
    return await send(expected === null ? { IfNoneMatch: '*' } : { IfMatch: expected });
  } catch (first) {
    let err = first;
    const unquoted = expected === null ? undefined : bare(expected);
    if (unquoted !== undefined && isPreconditionFailed(err) && (await currentETag(t)) === expected) {
      try {
        return await send({ IfMatch: unquoted });
      } catch (second) {
        err = second;
        if (isPreconditionFailed(err) && (await currentETag(t)) === expected)
          throw new PublishError(
            'PUBLISH_FAILED',
            { target: t.target, fault: 'server', retryable: false, status: 412 },
            `the server refuses If-Match with the object's current ETag ${expected}, quoted or not: it cannot compare-and-swap`,
            {
              cause: err,
              hint: 'nodeimg updates its version pointer with conditional writes (S3 If-Match); use a store that implements them',
            },
          );
      }
    }
    if (isPreconditionFailed(err) || isConditionalConflict(err) || (expected !== null && isNotFound(err)))
      throw new PublishError(
        'PUBLISH_CONFLICT',
        { target: t.target, fault: 'client', retryable: true, status: statusOf(err) ?? 412 },
        `changed concurrently (the version is no longer ${expected ?? '(none)'})`,
        { cause: err, hint: 'read it again, redo the change and retry' },
      );
    throw s3Failure(t.target, 'PutObject', err);
  }
}
