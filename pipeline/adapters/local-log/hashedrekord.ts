// The Rekor v1 hashedrekord 0.0.1 entry body, built as Rekor builds it: only the known fields, in
// RFC 8785 canonical form; `spec.signature.publicKey.content` is base64 of the PEM public key.
import { canonicalize } from './canonical-json.js';

export interface HashedRekordInput {
  /** SHA-256 of the signed artifact. */
  readonly sha256: Uint8Array;
  /** DER ECDSA signature. */
  readonly signature: Uint8Array;
  /** SPKI PEM of the signing key. */
  readonly publicKeyPem: string;
}

/** The canonical body bytes (what the log hashes as a leaf and what bundles carry base64-encoded). */
export function hashedRekordBody(input: HashedRekordInput): Buffer {
  if (input.sha256.length !== 32) throw new RangeError('hashedrekord: a sha256 digest has 32 bytes');
  return Buffer.from(
    canonicalize({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: Buffer.from(input.sha256).toString('hex') } },
        signature: {
          content: Buffer.from(input.signature).toString('base64'),
          publicKey: { content: Buffer.from(input.publicKeyPem, 'utf8').toString('base64') },
        },
      },
    }),
    'utf8',
  );
}

/** Checks that `body` is a canonical hashedrekord 0.0.1 body with a sha256 hash; returns its fields. */
export function parseHashedRekordBody(body: Uint8Array): HashedRekordInput {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new Error('hashedrekord: the body is not JSON');
  }
  const d = doc as {
    apiVersion?: unknown;
    kind?: unknown;
    spec?: {
      data?: { hash?: { algorithm?: unknown; value?: unknown } };
      signature?: { content?: unknown; publicKey?: { content?: unknown } };
    };
  };
  const value = d?.spec?.data?.hash?.value;
  const sig = d?.spec?.signature?.content;
  const key = d?.spec?.signature?.publicKey?.content;
  if (d?.apiVersion !== '0.0.1' || d?.kind !== 'hashedrekord')
    throw new Error('hashedrekord: not a hashedrekord 0.0.1 entry');
  if (
    d.spec?.data?.hash?.algorithm !== 'sha256' ||
    typeof value !== 'string' ||
    !/^[0-9a-f]{64}$/.test(value)
  )
    throw new Error('hashedrekord: data.hash must be a sha256 hex digest');
  if (typeof sig !== 'string' || typeof key !== 'string')
    throw new Error('hashedrekord: signature fields missing');
  const parsed: HashedRekordInput = {
    sha256: Buffer.from(value, 'hex'),
    signature: Buffer.from(sig, 'base64'),
    publicKeyPem: Buffer.from(key, 'base64').toString('utf8'),
  };
  if (!hashedRekordBody(parsed).equals(Buffer.from(body)))
    throw new Error('hashedrekord: the body is not in canonical form');
  return parsed;
}
