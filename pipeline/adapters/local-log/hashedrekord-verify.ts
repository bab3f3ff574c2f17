// What a log checks before it accepts a hashedrekord 0.0.1 entry, as Rekor's
// pkg/types/hashedrekord/v0.0.1/entry.go does: the proposed entry is reduced to its known fields and
// canonicalized (the public key or certificate PEM re-encoded), and the signature must verify over
// the artifact digest with that key. ECDSA over a precomputed digest cannot be checked with
// node:crypto (it always hashes), so @noble/curves' p256.verify with prehash: false does it; lowS is
// off because OpenSSL/Go signers do not normalize s. Only sha256 digests and P-256 keys are
// accepted (nodeimg's keys; Rekor also takes sha384/sha512, RSA and Ed25519).
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { hashedRekordBody, parseHashedRekordBody, type HashedRekordInput } from './hashedrekord.js';

/** The entry is malformed or its signature does not verify (a log answers 400). */
export class BadEntryError extends Error {
  override readonly name = 'BadEntryError';
}

interface Verifier {
  readonly point: Uint8Array;
  /** The PEM as Rekor stores it: re-encoded key (SPKI) or certificate. */
  readonly canonicalPem: string;
}

const cache = new Map<string, Verifier>();
const CACHE_MAX = 256;

function pemOf(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** Parses the `publicKey.content` PEM (an SPKI public key or an X.509 certificate). */
export function verifierFor(pem: string): Verifier {
  const hit = cache.get(pem);
  if (hit) return hit;
  let key: KeyObject;
  let canonicalPem: string;
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      const cert = new X509Certificate(pem);
      key = cert.publicKey;
      canonicalPem = pemOf('CERTIFICATE', cert.raw);
    } else {
      key = createPublicKey({ key: pem, format: 'pem' });
      if (key.type !== 'public') throw new Error('not a public key');
      canonicalPem = key.export({ type: 'spki', format: 'pem' }).toString();
    }
  } catch (err) {
    throw new BadEntryError(
      `publicKey.content is not a PEM public key or certificate: ${(err as Error).message}`,
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new BadEntryError('only ECDSA P-256 keys are accepted by this log');
  const jwk = key.export({ format: 'jwk' });
  const point = Buffer.concat([
    Uint8Array.of(4),
    Buffer.from(jwk.x as string, 'base64url'),
    Buffer.from(jwk.y as string, 'base64url'),
  ]);
  const v = { point, canonicalPem };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(pem, v);
  return v;
}

/** Checks a DER ECDSA signature over a SHA-256 digest with an uncompressed P-256 point. */
export type DigestVerifier = (digest: Uint8Array, derSig: Uint8Array, point: Uint8Array) => Promise<boolean>;

/** ECDSA P-256 verification of a DER signature over a SHA-256 digest (no second hash), inline. */
export const inlineVerifier: DigestVerifier = (digest, derSig, point) => {
  try {
    return Promise.resolve(
      p256.verify(derSig, digest, point, { prehash: false, format: 'der', lowS: false }),
    );
  } catch {
    return Promise.resolve(false);
  }
};

/** Parses a canonical body and checks its signature; throws BadEntryError. */
export async function checkEntryBody(
  body: Uint8Array,
  verify: DigestVerifier = inlineVerifier,
): Promise<HashedRekordInput> {
  let parsed: HashedRekordInput;
  try {
    parsed = parseHashedRekordBody(body);
  } catch (err) {
    throw new BadEntryError((err as Error).message);
  }
  if (verifierFor(parsed.publicKeyPem).canonicalPem !== parsed.publicKeyPem)
    throw new BadEntryError('hashedrekord: publicKey.content is not in canonical PEM form');
  if (!(await verify(parsed.sha256, parsed.signature, verifierFor(parsed.publicKeyPem).point)))
    throw new BadEntryError('hashedrekord: the signature does not verify over the digest with the given key');
  return parsed;
}

/**
 * A proposed entry (the JSON a client POSTs) -> the canonical body the log stores: only the known
 * fields, the key re-encoded. Throws BadEntryError for anything else.
 */
export function canonicalBodyOf(proposed: unknown): Buffer {
  const p = proposed as {
    apiVersion?: unknown;
    kind?: unknown;
    spec?: {
      data?: { hash?: { algorithm?: unknown; value?: unknown } };
      signature?: { content?: unknown; publicKey?: { content?: unknown } };
    };
  } | null;
  if (typeof p !== 'object' || p === null) throw new BadEntryError('the entry is not a JSON object');
  if (p.kind !== 'hashedrekord' || p.apiVersion !== '0.0.1')
    throw new BadEntryError(
      `unsupported entry kind ${JSON.stringify(p.kind)} version ${JSON.stringify(p.apiVersion)}: only hashedrekord 0.0.1`,
    );
  const alg = p.spec?.data?.hash?.algorithm;
  const value = p.spec?.data?.hash?.value;
  const sig = p.spec?.signature?.content;
  const key = p.spec?.signature?.publicKey?.content;
  if (alg !== 'sha256')
    throw new BadEntryError(`unsupported hash algorithm ${JSON.stringify(alg)}: only sha256`);
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value))
    throw new BadEntryError('spec.data.hash.value must be 64 hex digits');
  const isB64 = (s: unknown): s is string =>
    typeof s === 'string' && s.length > 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
  if (!isB64(sig)) throw new BadEntryError('spec.signature.content must be base64');
  if (!isB64(key)) throw new BadEntryError('spec.signature.publicKey.content must be base64');
  const pem = verifierFor(Buffer.from(key, 'base64').toString('utf8')).canonicalPem;
  return hashedRekordBody({
    sha256: Buffer.from(value.toLowerCase(), 'hex'),
    signature: Buffer.from(sig, 'base64'),
    publicKeyPem: pem,
  });
}
