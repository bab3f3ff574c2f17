// An s3:// store that loads the AWS SDK only when it is first used: importing @aws-sdk/client-s3
// costs a few hundred milliseconds at start-up, which every command that parses a store reference
// (fetch-measurements on a dir: or https: store, serve, release to dir:) would otherwise pay.
import type {
  GetOptions,
  ObjectStore,
  PutImmutableOptions,
  StoreBody,
  StoredObjectInfo,
  VersionedObject,
} from '../../ports.js';
import { s3Location } from './s3-settings.js';
import type { S3StoreOptions } from './s3-store.js';

export class LazyS3Store implements ObjectStore {
  readonly writable = true;
  readonly ref: string;
  private inner: Promise<ObjectStore> | undefined;

  constructor(private readonly options: S3StoreOptions) {
    this.ref = s3Location(options.bucket, options.prefix).ref;
  }

  private store(): Promise<ObjectStore> {
    this.inner ??= import('./s3-store.js').then((m) => new m.S3Store(this.options));
    return this.inner;
  }

  async head(key: string): Promise<StoredObjectInfo | undefined> {
    return (await this.store()).head(key);
  }

  async get(key: string, options?: GetOptions): Promise<Uint8Array | undefined> {
    return (await this.store()).get(key, options);
  }

  async getStream(
    key: string,
    options?: Pick<GetOptions, 'sha256'>,
  ): Promise<AsyncIterable<Uint8Array> | undefined> {
    return (await this.store()).getStream(key, options);
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.store()).list(prefix);
  }

  async getVersioned(
    key: string,
    options?: Pick<GetOptions, 'maxBytes'>,
  ): Promise<VersionedObject | undefined> {
    return (await this.store()).getVersioned(key, options);
  }

  async putImmutable(
    key: string,
    body: StoreBody,
    options: PutImmutableOptions,
  ): Promise<'created' | 'unchanged'> {
    return (await this.store()).putImmutable(key, body, options);
  }

  async putVersioned(
    key: string,
    bytes: Uint8Array,
    options: { readonly expected: string | null; readonly contentType?: string },
  ): Promise<string> {
    return (await this.store()).putVersioned(key, bytes, options);
  }
}
