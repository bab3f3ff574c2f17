// Worker-thread entry of verify-pool.ts: checks ECDSA P-256 signatures over SHA-256 digests with
// @noble/curves (prehash off, DER, high S allowed: hashedrekord-verify.ts says why) and answers
// {id, ok} for each {id, digest, sig, point} it is sent.
import { parentPort } from 'node:worker_threads';
import { p256 } from '@noble/curves/nist.js';

interface Job {
  readonly id: number;
  readonly digest: Uint8Array;
  readonly sig: Uint8Array;
  readonly point: Uint8Array;
}

parentPort?.on('message', (job: Job) => {
  let ok: boolean;
  try {
    ok = p256.verify(job.sig, job.digest, job.point, { prehash: false, format: 'der', lowS: false });
  } catch {
    ok = false;
  }
  parentPort?.postMessage({ id: job.id, ok });
});
