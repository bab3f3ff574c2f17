// S3 client settings for the store adapter, from options or the environment. The settings that
// make S3-compatible servers behave (specs/sigstore-rekor-s3.md §4): path-style addressing for a
// custom endpoint, and checksums WHEN_REQUIRED, because the SDK's default (CRC32 trailers in
// aws-chunked encoding) is stored verbatim by some servers (s3rver: the framing ends up in the
// object). Integrity does not depend on those trailers: every request carries the SHA-256 of its
// payload in the signed x-amz-content-sha256 header (s3-payload.ts), which S3 checks.
import { S3Client } from '@aws-sdk/client-s3';

export { s3SettingsFromEnv, type S3ClientSettings, type S3Credentials } from './s3-settings.js';
import type { S3ClientSettings } from './s3-settings.js';

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
