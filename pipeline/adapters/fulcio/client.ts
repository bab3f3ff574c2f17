// Fulcio v2 REST client: POST {fulcio}/api/v2/signingCert (fulcio api/v2 fulcio.proto
// CreateSigningCertificate; request as sigstore-js signer/fulcio/ca.js sends it) with the OIDC token,
// the PEM public key and the proof of possession; the answer is
// {signedCertificateEmbeddedSct|signedCertificateDetachedSct: {chain: {certificates: [PEM, ...]}}},
// leaf first. A detached SCT is refused: a bundle has no field for it, so verifiers (which need one
// SCT) would reject every bundle signed with such a certificate.
import { CheckFailedError, NodeimgError } from '../../errors.js';
import { certificatesFromPem } from './certificate.js';
import { requestJson, type HttpOptions } from './http.js';

export const PUBLIC_GOOD_FULCIO_URL = 'https://fulcio.sigstore.dev';

export interface SigningCertRequest {
  readonly fulcioUrl: string;
  readonly identityToken: string;
  /** SPKI PEM of the key to certify. */
  readonly publicKeyPem: string;
  /** DER ECDSA signature over the token's email or sub claim. */
  readonly proofOfPossession: Uint8Array;
  readonly http?: HttpOptions;
}

/** Asks Fulcio for a signing certificate; returns the DER chain, leaf first. */
export async function requestSigningCertificate(req: SigningCertRequest): Promise<Buffer[]> {
  const base = req.fulcioUrl.replace(/\/+$/, '');
  const service = `Fulcio at ${base}`;
  const res = await requestJson(
    {
      method: 'POST',
      url: `${base}/api/v2/signingCert`,
      service,
      body: {
        credentials: { oidcIdentityToken: req.identityToken },
        publicKeyRequest: {
          publicKey: { algorithm: 'ECDSA', content: req.publicKeyPem },
          proofOfPossession: Buffer.from(req.proofOfPossession).toString('base64'),
        },
      },
    },
    req.http,
  );
  if (res.status === 400 || res.status === 401 || res.status === 403)
    throw new CheckFailedError(`${service} refused the identity token (HTTP ${res.status}: ${res.message})`, {
      hint: 'the token must be for audience "sigstore", unexpired, and from an issuer this Fulcio trusts',
    });
  if (res.status !== 200 && res.status !== 201)
    throw new NodeimgError('TOOL_FAILED', `${service} answered HTTP ${res.status}: ${res.message}`);
  const body = res.json as
    | {
        signedCertificateEmbeddedSct?: { chain?: { certificates?: unknown } };
        signedCertificateDetachedSct?: { chain?: { certificates?: unknown } };
      }
    | undefined;
  if (body?.signedCertificateDetachedSct !== undefined && body.signedCertificateEmbeddedSct === undefined)
    throw new CheckFailedError(
      `${service} returned a certificate with a detached SCT; Sigstore bundles can only carry embedded SCTs, so no verifier would accept it`,
      { hint: 'use a Fulcio instance whose CT log embeds SCTs (as the public-good instance does)' },
    );
  const pems = body?.signedCertificateEmbeddedSct?.chain?.certificates;
  if (!Array.isArray(pems) || pems.length === 0 || pems.some((p) => typeof p !== 'string'))
    throw new NodeimgError('TOOL_FAILED', `${service} answered without a certificate chain`);
  const chain = pems.flatMap((p: string) => certificatesFromPem(p));
  if (chain.length !== pems.length)
    throw new NodeimgError(
      'TOOL_FAILED',
      `${service} answered with a chain that is not one PEM certificate per entry`,
    );
  return chain;
}
