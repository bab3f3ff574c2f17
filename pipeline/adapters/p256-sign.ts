// ECDSA P-256 / SHA-256 signatures with RFC 6979 deterministic nonces (@noble/curves), DER-encoded as
// Rekor, cosign and node:crypto's verify expect. Determinism is what makes publishing idempotent:
// the same key over the same bytes gives the same signature, so a release or a log that redoes an
// interrupted step recreates exactly the bytes the first attempt would have written.
import { p256 } from '@noble/curves/nist.js';
import type { KeyObject } from 'node:crypto';

const scalars = new WeakMap<KeyObject, Uint8Array>();

function scalarOf(key: KeyObject): Uint8Array {
  let d = scalars.get(key);
  if (d === undefined) {
    if (key.type !== 'private' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new TypeError('p256Sign needs an ECDSA P-256 private key');
    const jwk = key.export({ format: 'jwk' });
    if (jwk.d === undefined) throw new TypeError('the EC private key has no scalar');
    d = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
    scalars.set(key, d);
  }
  return d;
}

/** DER ECDSA signature over SHA-256(data), deterministic (RFC 6979). */
export function p256Sign(key: KeyObject, data: Uint8Array): Buffer {
  return Buffer.from(p256.sign(data, scalarOf(key), { prehash: true, format: 'der' }));
}
