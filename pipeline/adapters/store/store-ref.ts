// Store references as the CLI takes them, and the adapter for each:
//   dir:PATH                  a local directory (relative to the working directory)
//   s3://BUCKET[/PREFIX]      S3 or an S3-compatible server (endpoint, region and keys from the
//                             environment: s3-client.ts)
//   https://HOST/BASE         read-only, e.g. the CDN in front of the bucket
//   http://127.0.0.1:PORT/..  read-only, loopback only (`nodeimg serve`, tests)
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { ObjectStore } from '../../ports.js';
import { DirStore } from './dir-store.js';
import { HttpStore } from './http-store.js';
import { LazyS3Store } from './lazy-s3-store.js';
import { s3SettingsFromEnv } from './s3-settings.js';
import type { S3StoreOptions } from './s3-store.js';

export const STORE_REF_FORMS =
  'dir:PATH, s3://BUCKET[/PREFIX], https://HOST[/BASE] or http://127.0.0.1:PORT[/BASE]';

export interface StoreRefContext {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Extra S3 settings (part size, concurrency, a client) over those from the environment. */
  readonly s3?: Partial<S3StoreOptions>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/;

function bad(ref: string, why: string): UsageError {
  return new UsageError(`store ${JSON.stringify(ref)}: ${why}`, { hint: `a store is ${STORE_REF_FORMS}` });
}

export function parseStoreRef(ref: string, ctx: StoreRefContext): ObjectStore {
  if (ref.startsWith('dir:')) {
    if (ref.length === 4) throw bad(ref, 'no directory after dir:');
    return new DirStore(resolve(ctx.cwd, ref.slice(4)));
  }
  if (ref.startsWith('s3://')) {
    const rest = ref.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!bucket) throw bad(ref, 'no bucket');
    return new LazyS3Store({ ...s3SettingsFromEnv(ctx.env), ...ctx.s3, bucket, prefix });
  }
  if (ref.startsWith('https://') || ref.startsWith('http://')) {
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      throw bad(ref, 'not a URL');
    }
    if (url.search || url.hash || url.username || url.password)
      throw bad(ref, 'no query, fragment or credentials allowed');
    if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname))
      throw bad(ref, 'plain http only to a loopback address (127.0.0.1, [::1], localhost); use https');
    return new HttpStore(url.href);
  }
  throw bad(ref, 'unknown kind of store');
}
