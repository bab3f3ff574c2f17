// Object store on S3 or an S3-compatible server (`s3://bucket/prefix`; MinIO, R2, ... through an
// endpoint). Immutable writes are put-if-absent: PutObject / CompleteMultipartUpload with
// If-None-Match: *; when the key is taken, the stored SHA-256 (x-amz-meta-sha256, written with every
// object) is compared: same bytes -> 'unchanged', different -> PUBLISH_CONFLICT. Bodies above
// `multipartThreshold` go up as parallel multipart uploads (s3-multipart.ts). Mutable objects use
// If-Match on the ETag (compare-and-swap). Reads check size and SHA-256. A server that ignores
// If-None-Match (older S3-compatible servers, s3rver without the test shim) silently overwrites:
// nodeimg needs one that honours it (AWS S3 since 2024-08, R2, MinIO).
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { PublishError } from '../../errors.js';
import type {
  GetOptions,
  ObjectStore,
  PutImmutableOptions,
  StoreBody,
  StoredObjectInfo,
  VersionedObject,
} from '../../ports.js';
import { withBody } from './body.js';
import { conflictError } from './conflict.js';
import {
  DEFAULT_MAX_GET,
  integrityError,
  readVerified,
  sha256Hex,
  tooLarge,
  verifiedStream,
} from './digest.js';
import { checkKey, checkPrefix, checkSha256, isValidKey, parseSha256 } from './keys.js';
import { makeS3Client, type S3ClientSettings } from './s3-client.js';
import { s3Location } from './s3-settings.js';
import { isNotFound, s3Failure } from './s3-errors.js';
import { MIN_PART_SIZE, uploadMultipart } from './s3-multipart.js';
import { putIfAbsent, putIfMatch, type S3Target } from './s3-put.js';

const MIB = 1024 * 1024;

export interface S3StoreOptions extends S3ClientSettings {
  readonly bucket: string;
  /** Key prefix inside the bucket ('' or ending with '/'). */
  readonly prefix?: string;
  /** A ready client (tests, custom handlers); otherwise one is made from the settings. */
  readonly client?: S3Client;
  /** Default 16 MiB, at least 5 MiB (S3's minimum except for the last part). */
  readonly partSize?: number;
  /** Parts in flight, default 4 (1..16). */
  readonly concurrency?: number;
  /** Bodies larger than this go up in parts; default 64 MiB (S3's single PutObject limit is 5 GiB). */
  readonly multipartThreshold?: number;
  /** ListObjectsV2 MaxKeys, default 1000. */
  readonly listPageSize?: number;
}

export class S3Store implements ObjectStore {
  readonly writable = true;
  readonly ref: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly threshold: number;
  private readonly pageSize: number;

  constructor(o: S3StoreOptions) {
    const where = s3Location(o.bucket, o.prefix);
    this.bucket = where.bucket;
    this.prefix = where.prefix;
    this.ref = `s3://${this.bucket}/${this.prefix}`;
    this.client = o.client ?? makeS3Client(o);
    this.partSize = Math.max(MIN_PART_SIZE, o.partSize ?? 16 * MIB);
    this.concurrency = Math.min(16, Math.max(1, o.concurrency ?? 4));
    this.threshold = Math.max(MIN_PART_SIZE, o.multipartThreshold ?? 64 * MIB);
    this.pageSize = Math.min(1000, Math.max(1, o.listPageSize ?? 1000));
  }

  private s3Key(key: string): string {
    return this.prefix + checkKey(key);
  }

  private target(key: string): string {
    return this.ref + key;
  }

  private at(key: string): S3Target {
    return { client: this.client, bucket: this.bucket, key: this.s3Key(key), target: this.target(key) };
  }

  async head(key: string): Promise<StoredObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }),
      );
      const sha256 = parseSha256(out.Metadata?.['sha256']);
      return {
        size: out.ContentLength ?? 0,
        ...(sha256 ? { sha256 } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw s3Failure(this.target(key), 'HeadObject', err);
    }
  }

  private async getObject(key: string): Promise<GetObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw s3Failure(this.target(key), 'GetObject', err);
    }
  }

  private static body(out: GetObjectCommandOutput): AsyncIterable<Uint8Array> {
    const b = out.Body as unknown;
    if (b && typeof b === 'object' && Symbol.asyncIterator in b) return b as AsyncIterable<Uint8Array>;
    throw new Error('GetObject returned no readable body');
  }

  private async readCapped(
    key: string,
    out: GetObjectCommandOutput,
    max: number,
    sha256?: string,
  ): Promise<Buffer> {
    const body = S3Store.body(out);
    const size = out.ContentLength;
    if (size !== undefined && size > max) {
      (out.Body as { destroy?: () => void }).destroy?.();
      throw tooLarge(this.target(key), max, size);
    }
    try {
      return await readVerified(body, max, { target: this.target(key), size, sha256 });
    } catch (err) {
      throw s3Failure(this.target(key), 'GetObject', err);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    const out = await this.getObject(key);
    if (!out) return undefined;
    const sha256 = options.sha256 ?? parseSha256(out.Metadata?.['sha256']);
    return this.readCapped(key, out, options.maxBytes ?? DEFAULT_MAX_GET, sha256);
  }

  async getStream(
    key: string,
    options: Pick<GetOptions, 'sha256'> = {},
  ): Promise<AsyncIterable<Uint8Array> | undefined> {
    const out = await this.getObject(key);
    if (!out) return undefined;
    const sha256 = options.sha256 ?? parseSha256(out.Metadata?.['sha256']);
    return verifiedStream(S3Store.body(out), { target: this.target(key), size: out.ContentLength, sha256 });
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const cmd = new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        MaxKeys: this.pageSize,
        ...(token ? { ContinuationToken: token } : {}),
      });
      const out = await this.client.send(cmd).catch((err: unknown) => {
        throw s3Failure(this.ref + prefix, 'ListObjectsV2', err);
      });
      for (const o of out.Contents ?? []) {
        const k = o.Key?.startsWith(this.prefix) ? o.Key.slice(this.prefix.length) : undefined;
        if (k !== undefined && isValidKey(k)) keys.push(k); // foreign names are not nodeimg objects
      }
      const next = out.IsTruncated ? out.NextContinuationToken : undefined;
      if (out.IsTruncated && (!next || next === token))
        throw s3Failure(
          this.ref + prefix,
          'ListObjectsV2',
          new Error('a truncated page without a new continuation token'),
        );
      token = next;
    } while (token);
    return keys.sort();
  }

  async getVersioned(
    key: string,
    options: Pick<GetOptions, 'maxBytes'> = {},
  ): Promise<VersionedObject | undefined> {
    const out = await this.getObject(key);
    if (!out) return undefined;
    const bytes = await this.readCapped(key, out, options.maxBytes ?? DEFAULT_MAX_GET);
    if (!out.ETag) throw s3Failure(this.target(key), 'GetObject', new Error('no ETag in the answer'));
    return { bytes, version: out.ETag };
  }

  async putImmutable(
    key: string,
    body: StoreBody,
    options: PutImmutableOptions,
  ): Promise<'created' | 'unchanged'> {
    const t = this.at(key);
    const wanted = checkSha256(options.sha256);
    const contentType = options.contentType ?? 'application/octet-stream';
    const r = await withBody(body, async (src): Promise<'created' | 'exists'> => {
      if (src.size <= this.threshold) {
        const bytes = await src.read(0, src.size);
        const digest = sha256Hex(bytes);
        if (digest !== wanted)
          throw integrityError(t.target, `the body's sha256 is ${digest}, not the given ${wanted}`, 'client');
        return putIfAbsent(t, bytes, digest, contentType);
      }
      // a large body: skip the upload entirely when the key is already taken
      if (await this.head(key)) return 'exists';
      const o = { partSize: this.partSize, concurrency: this.concurrency, sha256: wanted, contentType };
      return uploadMultipart(t, src, o);
    });
    return r === 'created' ? 'created' : this.compareExisting(key, wanted);
  }

  /** The key is taken: 'unchanged' if it holds `wanted`, else PUBLISH_CONFLICT. */
  private async compareExisting(key: string, wanted: string): Promise<'unchanged'> {
    const info = await this.head(key);
    if (!info)
      throw new PublishError(
        'PUBLISH_FAILED',
        { target: this.target(key), fault: 'server', retryable: true },
        'the key was taken, then disappeared',
      );
    let existing = info.sha256;
    if (existing === undefined) {
      // not written by nodeimg (no x-amz-meta-sha256): hash what is there
      const stream = await this.getStream(key);
      if (stream) {
        const h = createHash('sha256');
        for await (const c of stream) h.update(c);
        existing = h.digest('hex');
      }
    }
    if (existing === wanted) return 'unchanged';
    throw conflictError(this.target(key), existing, wanted);
  }

  async putVersioned(
    key: string,
    bytes: Uint8Array,
    options: { readonly expected: string | null; readonly contentType?: string },
  ): Promise<string> {
    const contentType = options.contentType ?? 'application/octet-stream';
    return putIfMatch(this.at(key), bytes, sha256Hex(bytes), contentType, options.expected);
  }
}
