// Child process of test/helpers/s3-server.ts (and bench/s3-upload.mjs): s3rver 3.7.1 on 127.0.0.1,
// port 0, plus a conditional-write shim. Runs in its own process because s3rver's ListObjectsV2
// continuation tokens use DES, which OpenSSL 3 only offers with --openssl-legacy-provider
// (specs/sigstore-rekor-s3.md §4); the parent starts us with that flag.
//
// The shim (a Koa middleware put first in s3rver's chain before run()) adds what s3rver lacks and
// what nodeimg's S3 adapter relies on, with the status codes AWS documents for S3 conditional writes
// (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html):
//   - PutObject / CompleteMultipartUpload with `If-None-Match: *` on an existing key: 412
//     PreconditionFailed (s3rver itself overwrites);
//   - with `If-Match: <etag>`: 412 when the current ETag differs, 404 NoSuchKey when there is no
//     object (what S3 answers);
//   - AbortMultipartUpload (DELETE ?uploadId=): s3rver answers 405; the shim removes the upload.
// Every object write (PUT without a sub-resource, POST ?uploadId) is serialised per bucket/key, so a
// check and the write it guards are atomic within this process. Real S3 does not serialise: it may
// answer 409 ConditionalRequestConflict to one of two racing conditional writes; this shim does so
// only on request, to exercise the adapter's 409 path: `conflicts: {"bucket/key": N}` answers the
// first N conditional writes of that key with 409 (fault injection).
// `ifMatchQuirks: {"bucket/key": "bare-bytes" | "refuse"}` makes If-Match on that key behave like a
// flawed server: "bare-bytes" compares the header byte for byte with the unquoted ETag, as Ceph's
// radosgw 16 and 18 do (so the quoted ETag they hand out never matches); "refuse" fails every If-Match.
//
// argv[2]: JSON {directory, buckets: string[], conflicts?: {[bucketKey]: number}, ifMatchQuirks?:
// {[bucketKey]: string}}. Prints one line `{"port":N}` when listening; stops on SIGTERM/SIGINT.
import { createRequire } from 'node:module';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout } from 'node:timers';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error.js');

const { directory, buckets, conflicts = {}, ifMatchQuirks = {} } = JSON.parse(process.argv[2] ?? '{}');
if (typeof directory !== 'string' || !Array.isArray(buckets)) {
  process.stderr.write('usage: s3rver-child.mjs {"directory":DIR,"buckets":[NAME...]}\n');
  process.exit(2);
}

const tails = new Map();
/** Runs fn after every earlier call for the same id has finished. */
async function serialised(id, fn) {
  const previous = tails.get(id) ?? Promise.resolve();
  let release = () => {};
  const mine = new Promise((r) => (release = r));
  const tail = previous.then(() => mine);
  tails.set(id, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(id) === tail) tails.delete(id);
  }
}

const unquote = (etag) => String(etag ?? '').replace(/"/g, '');

/** Reads and discards the request body, so the client is not cut off mid-upload by an early error. */
function drain(req) {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.on('end', resolve).on('error', resolve).resume();
  });
}

function target(ctx) {
  const [bucket, ...rest] = ctx.path.slice(1).split('/');
  return { bucket: decodeURIComponent(bucket ?? ''), key: rest.map(decodeURIComponent).join('/') };
}

function conditionalWrites(server) {
  return async function conditionalWriteShim(ctx, next) {
    const { bucket, key } = target(ctx);
    if (!bucket || !key) return next();
    const q = ctx.query;
    if (ctx.method === 'DELETE' && 'uploadId' in q) {
      const dir = join(directory, bucket, '._S3rver_uploads', String(q.uploadId).replace(/[^0-9a-f]/g, ''));
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    // the SDK adds ?x-id=<Operation> to every request; any other parameter names a sub-resource
    const subresource = Object.keys(q).some((name) => name !== 'x-id');
    const objectPut = ctx.method === 'PUT' && !subresource && !ctx.get('x-amz-copy-source');
    const complete = ctx.method === 'POST' && 'uploadId' in q;
    if (!objectPut && !complete) return next();
    return serialised(`${bucket}/${key}`, async () => {
      const ifNoneMatch = ctx.get('if-none-match');
      const ifMatch = ctx.get('if-match');
      if ((ifNoneMatch || ifMatch) && (conflicts[`${bucket}/${key}`] ?? 0) > 0) {
        conflicts[`${bucket}/${key}`] -= 1;
        await drain(ctx.req);
        const err = new S3Error(
          'ConditionalRequestConflict',
          'A conflicting conditional operation is currently in progress against this resource. Please try again.',
          { Key: key },
        );
        err.status = 409; // s3rver 3.7.1 does not know this code (it would answer 500)
        err.expose = true;
        throw err;
      }
      if (ifNoneMatch || ifMatch) {
        const exists = await server.store.existsObject(bucket, key);
        let failed;
        if (ifNoneMatch === '*' && exists) failed = 'If-None-Match';
        if (!failed && ifMatch) {
          if (!exists) {
            await drain(ctx.req);
            throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
          }
          const meta = await server.store.getMetadata(bucket, key);
          const quirk = ifMatchQuirks[`${bucket}/${key}`];
          if (quirk === 'refuse') failed = 'If-Match';
          else if (quirk === 'bare-bytes') {
            if (unquote(meta.etag) !== ifMatch) failed = 'If-Match';
          } else if (unquote(meta.etag) !== unquote(ifMatch)) failed = 'If-Match';
        }
        if (failed) {
          await drain(ctx.req);
          throw new S3Error(
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            {
              Condition: failed,
            },
          );
        }
      }
      await next();
    });
  };
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.middleware.unshift(conditionalWrites(server));
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(0),
  );
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
