// S3 client settings for the store adapter, from options or the environment. The settings that
// make S3-compatible servers behave (specs/sigstore-rekor-s3.md §4): path-style addressing for a
// custom endpoint, and checksums WHEN_REQUIRED, because the SDK's default (CRC32 trailers in
// aws-chunked encoding) is stored verbatim by some servers (s3rver: the framing ends up in the
// object). Integrity does not depend on those trailers: every request carries the SHA-256 of its
// payload in the signed x-amz-content-sha256 header (s3-payload.ts), which S3 checks.
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3ClientSettings {
  /** e.g. http://127.0.0.1:9000 for MinIO/s3rver, https://<account>.r2.cloudflarestorage.com for R2. */
  readonly endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
  readonly region?: string;
  /** Default: true when an endpoint is set. */
  readonly forcePathStyle?: boolean;
  /** Default: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, else the SDK's provider chain. */
  readonly credentials?: S3Credentials;
}

/** Settings from NODEIMG_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, region and key variables. */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv): S3ClientSettings {
  const endpoint = env['NODEIMG_S3_ENDPOINT'] || env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
  const id = env['AWS_ACCESS_KEY_ID'];
  const secret = env['AWS_SECRET_ACCESS_KEY'];
  const token = env['AWS_SESSION_TOKEN'];
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(id && secret
      ? {
          credentials: token
            ? { accessKeyId: id, secretAccessKey: secret, sessionToken: token }
            : { accessKeyId: id, secretAccessKey: secret },
        }
      : {}),
  };
}

export function makeS3Client(s: S3ClientSettings): S3Client {
  return new S3Client({
    region: s.region ?? 'us-east-1',
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle ?? s.endpoint !== undefined,
    ...(s.credentials ? { credentials: s.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // connectionTimeout: to get a socket; requestTimeout: idle socket (no bytes either way)
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
}
