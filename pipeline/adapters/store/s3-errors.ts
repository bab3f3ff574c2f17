// What an AWS SDK v3 failure means for a store operation. The SDK throws S3ServiceException
// subclasses with $metadata.httpStatusCode, $fault and $retryable (smithy-client exceptions.ts), or
// plain errors for network failures. Conditional writes (docs.aws.amazon.com/AmazonS3/latest/
// userguide/conditional-requests.html): 412 PreconditionFailed when If-None-Match / If-Match does
// not hold, 409 ConditionalRequestConflict when a concurrent conditional write raced this one (retry),
// 404 NoSuchKey for If-Match on a key that does not exist.
import { NodeimgError, PublishError } from '../../errors.js';

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const sdk = (err: unknown): SdkError => (typeof err === 'object' && err !== null ? (err as SdkError) : {});

export const statusOf = (err: unknown): number | undefined => sdk(err).$metadata?.httpStatusCode;

export function isNotFound(err: unknown): boolean {
  const e = sdk(err);
  return statusOf(err) === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound';
}

export function isPreconditionFailed(err: unknown): boolean {
  return statusOf(err) === 412 || sdk(err).name === 'PreconditionFailed';
}

export function isConditionalConflict(err: unknown): boolean {
  return statusOf(err) === 409 || sdk(err).name === 'ConditionalRequestConflict';
}

const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'TimeoutError',
  'RequestTimeout',
]);

/** Wraps an SDK failure as PUBLISH_FAILED with its fault and whether repeating may help. */
export function s3Failure(target: string, what: string, err: unknown): NodeimgError {
  if (err instanceof NodeimgError) return err; // already ours (a refused key, an integrity error)
  const e = sdk(err);
  const status = statusOf(err);
  const network = NETWORK.has(e.code ?? '') || NETWORK.has(e.name ?? '');
  const fault = e.$fault ?? (status !== undefined && status < 500 ? 'client' : 'server');
  // 409 ConditionalRequestConflict: a concurrent conditional write won the race; S3 says to retry
  const retryable =
    Boolean(e.$retryable) ||
    network ||
    status === 429 ||
    isConditionalConflict(err) ||
    (status !== undefined && status >= 500);
  const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const hint =
    status === 403
      ? 'check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile) and the bucket policy'
      : network
        ? 'check the endpoint (AWS_ENDPOINT_URL_S3) and the network'
        : undefined;
  return new PublishError(
    'PUBLISH_FAILED',
    status === undefined ? { target, fault, retryable } : { target, fault, retryable, status },
    `${what} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${name}${(err as Error).message ?? String(err)}`,
    hint === undefined ? { cause: err } : { cause: err, hint },
  );
}
