// The keyless adapter of the Signer port, as sigstore does it (spec sigstore-rekor-s3.md §1.5): an
// ephemeral ECDSA P-256 key made in memory (never written anywhere), a proof of possession (the
// key's signature over the token's verified `email`, else `sub`), a Fulcio certificate for that key
// and the token's identity, checked before use (pipeline/adapters/fulcio/certificate.ts), then the
// artifact signature. The result carries the certificate, so bundles name the identity instead of a
// key hint.
//
// Written here instead of using @sigstore/sign's FulcioSigner + CIContextProvider: those read
// process.env directly (not the command's environment), race the GitHub Actions and env providers
// (Promise.any, so the order is not defined), return only the leaf without checking that it
// certifies our key or names our identity, and put the whole token into an error message.
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { NodeimgError, UsageError } from '../errors.js';
import type { Clock, SignResult, Signer, SignerCertificate, SignerPublicKey } from '../ports.js';
import { checkIssuedCertificate, type CheckedCertificate } from './fulcio/certificate.js';
import { requestSigningCertificate } from './fulcio/client.js';
import type { HttpOptions } from './fulcio/http.js';
import { expectedIdentities, proofSubject, type IdentityToken } from './fulcio/identity-token.js';

export interface FulcioSignerOptions {
  readonly fulcioUrl: string;
  readonly identityToken: IdentityToken;
  /** The OIDC issuer the token and the certificate must name (--oidc-issuer); default: the token's iss. */
  readonly expectedIssuer?: string;
  readonly clock: Clock;
  readonly http?: HttpOptions;
}

/** What Fulcio certified: the identity verifiers pin with --certificate-identity / --certificate-oidc-issuer. */
export interface KeylessIdentity extends CheckedCertificate {
  readonly certificate: SignerCertificate;
}

export class FulcioSigner implements Signer {
  readonly publicKey: SignerPublicKey;
  readonly hint: string;
  private readonly key: KeyObject;
  private issued: Promise<KeylessIdentity> | undefined;

  constructor(private readonly opts: FulcioSignerOptions) {
    const url = checkFulcioUrl(opts.fulcioUrl);
    const claims = opts.identityToken.claims;
    if (opts.expectedIssuer !== undefined && claims.iss !== opts.expectedIssuer)
      throw new UsageError(
        `the identity token from ${opts.identityToken.source} was issued by ${claims.iss}, not --oidc-issuer ${opts.expectedIssuer}`,
      );
    this.opts = { ...opts, fulcioUrl: url };
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    const der = publicKey.export({ type: 'spki', format: 'der' });
    this.publicKey = { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), der };
    this.hint = createHash('sha256').update(der).digest('base64');
  }

  /** The certificate (requested from Fulcio on first use, again once the clock passes its notAfter). */
  async identity(): Promise<KeylessIdentity> {
    const current = await this.issued;
    if (current !== undefined && current.notAfter.getTime() > this.opts.clock.now()) return current;
    this.issued = this.requestCertificate();
    try {
      return await this.issued;
    } catch (err) {
      this.issued = undefined;
      throw err;
    }
  }

  async sign(bytes: Uint8Array): Promise<SignResult> {
    const id = await this.identity();
    const signature = sign('sha256', bytes, this.key);
    if (!verify('sha256', bytes, this.publicKey.pem, signature))
      throw new NodeimgError('INTERNAL', 'the ephemeral key produced a signature its public key rejects');
    return { signature, publicKey: this.publicKey, hint: this.hint, certificate: id.certificate };
  }

  private async requestCertificate(): Promise<KeylessIdentity> {
    const { identityToken, fulcioUrl, clock } = this.opts;
    const claims = identityToken.claims;
    const subject = proofSubject(claims, identityToken.source);
    const chain = await requestSigningCertificate({
      fulcioUrl,
      identityToken: identityToken.token,
      publicKeyPem: this.publicKey.pem,
      proofOfPossession: sign('sha256', Buffer.from(subject, 'utf8'), this.key),
      ...(this.opts.http === undefined ? {} : { http: this.opts.http }),
    });
    const checked = checkIssuedCertificate(chain, {
      publicKeyDer: this.publicKey.der,
      identities: expectedIdentities(claims),
      issuer: this.opts.expectedIssuer ?? claims.iss,
      now: clock.now(),
    });
    return { ...checked, certificate: { leaf: chain[0] as Buffer, chain: chain.slice(1) } };
  }
}

/** Fulcio gets the identity token: https only, except for a loopback test instance. */
export function checkFulcioUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--fulcio-url ${raw} is not a URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new UsageError(
      `--fulcio-url ${raw}: the identity token is only sent over https (or http to loopback)`,
    );
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--fulcio-url ${raw} must not have a query`);
  return url.href.replace(/\/+$/, '');
}
