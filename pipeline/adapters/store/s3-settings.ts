// S3 client settings from options or the environment, without loading the AWS SDK (store-ref.ts
// parses s3:// refs in every command; the SDK is loaded only when an S3 store is used).
import { UsageError } from '../../errors.js';
import { checkKey } from './keys.js';

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

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A checked bucket name and key prefix ('' or ending with '/'); bad ones are USAGE errors. */
export function s3Location(bucket: string, prefix = ''): { bucket: string; prefix: string; ref: string } {
  if (!BUCKET.test(bucket))
    throw new UsageError(`s3://${bucket}: ${JSON.stringify(bucket)} is not a valid bucket name`, {
      hint: 'bucket names are 3-63 characters of a-z, 0-9, "." and "-"',
    });
  if (prefix !== '') checkKey(prefix.replace(/\/$/, ''));
  const p = prefix !== '' && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  return { bucket, prefix: p, ref: `s3://${bucket}/${p}` };
}
