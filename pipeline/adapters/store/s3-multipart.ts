// Multipart upload with parallel parts (docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):
// parts are read from the body in order (so the whole-object SHA-256 is computed in the same single
// pass) and up to `concurrency` of them are in flight. Each part is signed with its own SHA-256
// (s3-payload.ts), which S3 verifies. Before completing, the whole-object digest must equal the one
// the caller gave; CompleteMultipartUpload carries If-None-Match: * (supported by S3 since 2024-08),
// so the object appears only if the key is still free. Any failure aborts the upload; a failed abort
// is reported with the UploadId (a bucket lifecycle rule AbortIncompleteMultipartUpload cleans up).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { BodySource } from './body.js';
import { integrityError, sha256Hex } from './digest.js';
import { withPayloadSha256 } from './s3-payload.js';
import { isPreconditionFailed, s3Failure } from './s3-errors.js';
import type { S3Target } from './s3-put.js';

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export interface MultipartOptions {
  readonly partSize: number;
  readonly concurrency: number;
  readonly sha256: string;
  readonly contentType: string;
}

/** Part size for `size` bytes: at least `wanted`, grown so the upload stays within 10,000 parts. */
export function partSizeFor(size: number, wanted: number): number {
  const min = Math.ceil(size / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, wanted, Math.ceil(min / MIN_PART_SIZE) * MIN_PART_SIZE);
}

/** 'created', or 'exists' when the key was taken (If-None-Match failed at completion). */
export async function uploadMultipart(
  t: S3Target,
  src: BodySource,
  o: MultipartOptions,
): Promise<'created' | 'exists'> {
  const { client, bucket: Bucket, key: Key } = t;
  const partSize = partSizeFor(src.size, o.partSize);
  const count = Math.max(1, Math.ceil(src.size / partSize));
  const created = await client
    .send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        ContentType: o.contentType,
        Metadata: { sha256: o.sha256 },
      }),
    )
    .catch((err: unknown) => {
      throw s3Failure(t.target, 'CreateMultipartUpload', err);
    });
  const UploadId = created.UploadId;
  if (!UploadId) throw s3Failure(t.target, 'CreateMultipartUpload', new Error('no UploadId in the answer'));

  const cancel = new AbortController();
  const whole = createHash('sha256');
  const parts: CompletedPart[] = new Array<CompletedPart>(count);
  let claimed = 0;
  let readTail: Promise<unknown> = Promise.resolve();
  // Called synchronously after claiming index i, so reads (and the whole-object hash) run in order.
  const readInOrder = (i: number): Promise<Buffer> => {
    const offset = i * partSize;
    const p = readTail.then(async () => {
      const buf = await src.read(offset, Math.min(partSize, src.size - offset));
      whole.update(buf);
      return buf;
    });
    readTail = p.catch(() => undefined);
    return p;
  };
  const worker = async (): Promise<void> => {
    while (!cancel.signal.aborted && claimed < count) {
      const i = claimed++;
      const buf = await readInOrder(i);
      const cmd = new UploadPartCommand({
        Bucket,
        Key,
        UploadId,
        PartNumber: i + 1,
        Body: buf,
        ContentLength: buf.length,
      });
      const out = await client.send(withPayloadSha256(cmd, sha256Hex(buf)), { abortSignal: cancel.signal });
      if (!out.ETag) throw new Error(`no ETag for part ${i + 1}`);
      parts[i] = { PartNumber: i + 1, ETag: out.ETag };
    }
  };

  try {
    // the first failure cancels the parts in flight; it, not their AbortErrors, is reported
    let first: { error: unknown } | undefined;
    await Promise.allSettled(
      Array.from({ length: Math.min(o.concurrency, count) }, () =>
        worker().catch((err: unknown) => {
          first ??= { error: err };
          cancel.abort();
        }),
      ),
    );
    if (first) throw s3Failure(t.target, 'UploadPart', first.error);
    const digest = whole.digest('hex');
    if (digest !== o.sha256)
      throw integrityError(t.target, `the body's sha256 is ${digest}, not the given ${o.sha256}`, 'client');
    try {
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: parts },
        }),
      );
      return 'created';
    } catch (err) {
      if (!isPreconditionFailed(err)) throw s3Failure(t.target, 'CompleteMultipartUpload', err);
      await abort(t, UploadId);
      return 'exists';
    }
  } catch (err) {
    const aborted = await abort(t, UploadId).then(
      () => '',
      (e: unknown) => ` (AbortMultipartUpload of ${UploadId} failed too: ${(e as Error).message})`,
    );
    if (aborted && err instanceof Error) err.message += aborted;
    throw err;
  }
}

async function abort(t: S3Target, UploadId: string): Promise<void> {
  await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId }));
}
