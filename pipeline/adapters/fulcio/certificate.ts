// Checks a Fulcio signing certificate before nodeimg signs anything with it: the leaf must hold our
// ephemeral public key, be signed by the next certificate of the returned chain (each link checked),
// name the token's identity (SAN) and issuer (Fulcio OID 1.3.6.1.4.1.57264.1.8, else the legacy
// 1.1), allow code signing, be valid now and carry an embedded SCT (verifiers require one:
// @sigstore/verify's default ctlogThreshold is 1). Whether the chain ends in a trusted root is the
// verifier's question (trusted_root.json), not the signer's.
import { X509Certificate as NodeX509, createPublicKey } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { CheckFailedError } from '../../errors.js';

/** Fulcio's OIDC issuer extensions (fulcio docs/oid-info.md). */
export const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const MAX_CHAIN = 10;

export interface CertificateExpectation {
  /** DER SPKI of the key the certificate must certify. */
  readonly publicKeyDer: Uint8Array;
  /** Acceptable SAN values (exact match). */
  readonly identities: readonly string[];
  /** The OIDC issuer the certificate must name. */
  readonly issuer: string;
  /** Milliseconds since the epoch: the certificate must be valid then. */
  readonly now: number;
}

export interface CheckedCertificate {
  readonly identity: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The DER certificates of a PEM bundle, in order. */
export function certificatesFromPem(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g))
    out.push(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'));
  return out;
}

export function derToPem(der: Uint8Array, type = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${type}-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${type}-----\n`;
}

/** The OIDC issuer a Fulcio certificate names (v2 extension, else the v1 one), as @sigstore/verify reads it. */
export function fulcioIssuer(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (v2) return v2.valueObj.subs[0]?.value.toString('utf8');
  return cert.extension(OID_ISSUER_V1)?.value.toString('utf8');
}

/** Checks the chain Fulcio returned (leaf first) against what was asked for; throws CHECK_FAILED. */
export function checkIssuedCertificate(
  chain: readonly Uint8Array[],
  want: CertificateExpectation,
): CheckedCertificate {
  const fail = (why: string): CheckFailedError =>
    new CheckFailedError(`the signing certificate from Fulcio is not usable: ${why}`, {
      hint: 'check --fulcio-url (is it the Fulcio instance your verifiers trust?)',
    });
  if (chain.length < 2) throw fail('the response holds no issuing certificate for the leaf');
  if (chain.length > MAX_CHAIN) throw fail(`the chain has ${chain.length} certificates`);
  let nodes: NodeX509[];
  let leaf: X509Certificate;
  try {
    nodes = chain.map((c) => new NodeX509(Buffer.from(c)));
    leaf = X509Certificate.parse(Buffer.from(chain[0] as Uint8Array));
  } catch (err) {
    throw fail(`not an X.509 certificate (${(err as Error).message})`);
  }
  const ours = createPublicKey({ key: Buffer.from(want.publicKeyDer), format: 'der', type: 'spki' });
  const leafNode = nodes[0] as NodeX509;
  if (!leafNode.publicKey.equals(ours))
    throw fail('it certifies another public key than the one nodeimg sent');
  for (let i = 0; i + 1 < nodes.length; i++) {
    const cert = nodes[i] as NodeX509;
    const issuer = nodes[i + 1] as NodeX509;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
      throw fail(`certificate ${i} of the chain is not signed by certificate ${i + 1}`);
  }
  if (!(leafNode.keyUsage ?? []).includes(OID_EKU_CODE_SIGNING))
    throw fail('the leaf does not allow code signing (extended key usage)');
  if (leaf.extSCT === undefined || leaf.extSCT.signedCertificateTimestamps.length === 0)
    throw fail('the leaf has no embedded SCT (verifiers require a certificate transparency proof)');
  const identity = leaf.subjectAltName;
  if (identity === undefined || !want.identities.includes(identity))
    throw fail(
      `its identity (SAN) is ${JSON.stringify(identity)}, the token names ${want.identities.map((s) => JSON.stringify(s)).join(' or ')}`,
    );
  const issuer = fulcioIssuer(leaf);
  if (issuer !== want.issuer)
    throw fail(`its OIDC issuer is ${JSON.stringify(issuer)}, expected ${JSON.stringify(want.issuer)}`);
  const now = new Date(want.now);
  if (!leaf.validForDate(now))
    throw fail(
      `it is valid from ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, not now (${now.toISOString()})`,
    );
  return { identity, issuer, notBefore: leaf.notBefore, notAfter: leaf.notAfter };
}
