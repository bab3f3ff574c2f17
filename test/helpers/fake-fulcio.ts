// A fake Fulcio v2 on 127.0.0.1 (POST /api/v2/signingCert) with its own CA (P-384 root and
// intermediate, built with test/helpers/x509.ts) and a fake CT log (P-256). It checks what real
// Fulcio checks: the OIDC token's ES256 signature against the issuer's JWKS (fetched over loopback),
// a known issuer, audience "sigstore", expiry, and the proof of possession (the key's signature over
// the token's verified email, else sub). It issues a 10-minute leaf with the identity as SAN (email,
// https://github.com/<job_workflow_ref>, else sub as URI), Fulcio's issuer extensions (OID
// 57264.1.1 raw and 57264.1.8 UTF8String), EKU codeSigning and an embedded SCT: the CT log's
// signature over the precertificate (the TBS without the SCT extension, RFC 6962 §3.2), so that
// @sigstore/verify's default ctlogThreshold 1 passes with a root listing this CA and CT log.
// Faults can be injected to test the client's checks.
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../pipeline/ports.js';
import { ext, name, OID, signCertificate, tbsCertificate, toPem, type Extension } from './x509.js';

export type FulcioFault =
  | 'wrong-key' // certifies a key other than the one in the request
  | 'wrong-san' // names another identity
  | 'wrong-issuer' // names another OIDC issuer
  | 'no-sct' // no SCT at all
  | 'detached-sct' // the SCT in signedCertificateDetachedSct, none embedded
  | 'bad-sct' // an SCT whose signature does not verify
  | 'expired'; // a leaf that expired 10 minutes ago

export interface FakeFulcio {
  readonly url: string;
  /** Intermediate then root, PEM: what `nodeimg log trusted-root --fulcio-ca` takes. */
  readonly caChainPem: string;
  /** SPKI PEM of the CT log key: `--ctlog-key`. */
  readonly ctlogKeyPem: string;
  /** Requests answered (any status). */
  requests: number;
  /** The next N requests get HTTP 503. */
  fail5xx: number;
  fault: FulcioFault | undefined;
  close(): Promise<void>;
}

export interface FakeFulcioOptions {
  /** Trusted OIDC issuers: `iss` -> JWKS URL (real Fulcio discovers it from the issuer URL). */
  readonly issuers: Readonly<Record<string, string>>;
  /** Time for certificates, SCTs and token expiry (default: the wall clock). */
  readonly clock?: Clock;
}

const MINUTE = 60_000;

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const spkiOf = (k: KeyObject): Buffer =>
  (k.type === 'public' ? k : createPublicKey(k)).export({ type: 'spki', format: 'der' });

export async function startFakeFulcio(opts: FakeFulcioOptions): Promise<FakeFulcio> {
  const clock = opts.clock ?? { now: () => Date.now() };
  const t0 = clock.now();
  const rootKey = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  const interKey = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  const ctKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const rootName = name('fake-fulcio-root', 'nodeimg-test');
  const interName = name('fake-fulcio-intermediate', 'nodeimg-test');
  const serial = (): Buffer => randomBytes(16);
  const span = { notBefore: t0 - 24 * 60 * MINUTE, notAfter: t0 + 10 * 365 * 24 * 60 * MINUTE };
  const rootDer = signCertificate(
    tbsCertificate({
      serial: serial(),
      issuer: rootName,
      subject: rootName,
      ...span,
      spki: spkiOf(rootKey),
      hash: 'sha384',
      extensions: [ext.keyUsage([5, 6]), ext.basicConstraints(true, 1), ext.subjectKeyId(spkiOf(rootKey))],
    }),
    'sha384',
    rootKey,
  );
  const interSpki = spkiOf(interKey);
  const interDer = signCertificate(
    tbsCertificate({
      serial: serial(),
      issuer: rootName,
      subject: interName,
      ...span,
      spki: interSpki,
      hash: 'sha384',
      extensions: [
        ext.keyUsage([5, 6]),
        ext.extKeyUsage(OID.codeSigning),
        ext.basicConstraints(true, 0),
        ext.subjectKeyId(interSpki),
        ext.authorityKeyId(spkiOf(rootKey)),
      ],
    }),
    'sha384',
    rootKey,
  );
  const ctSpki = spkiOf(ctKey);
  const ctLogId = createHash('sha256').update(ctSpki).digest();

  /** RFC 6962 §3.2 SignedCertificateTimestamp (v1, precert_entry) over `precertTbs`. */
  const sct = (precertTbs: Uint8Array, at: number, corrupt: boolean): Buffer => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(at));
    const len24 = Buffer.from([
      (precertTbs.length >> 16) & 0xff,
      (precertTbs.length >> 8) & 0xff,
      precertTbs.length & 0xff,
    ]);
    const issuerKeyHash = createHash('sha256').update(interSpki).digest();
    const signed = Buffer.concat([
      Uint8Array.of(0, 0), // version v1, signature_type certificate_timestamp
      ts,
      Uint8Array.of(0, 1), // entry_type precert_entry
      issuerKeyHash,
      len24,
      precertTbs,
      Uint8Array.of(0, 0), // no extensions
    ]);
    const sig = sign('sha256', signed, ctKey);
    if (corrupt) sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 1;
    const sigLen = Buffer.alloc(2);
    sigLen.writeUInt16BE(sig.length);
    return Buffer.concat([Uint8Array.of(0), ctLogId, ts, Uint8Array.of(0, 0, 4, 3), sigLen, sig]);
  };
  const sctList = (one: Buffer): Buffer => {
    const item = Buffer.concat([Buffer.from([one.length >> 8, one.length & 0xff]), one]);
    return Buffer.concat([Buffer.from([item.length >> 8, item.length & 0xff]), item]);
  };

  async function checkToken(
    jwt: string,
  ): Promise<{ claims: Record<string, unknown>; identity: string; kind: 'email' | 'uri'; subject: string }> {
    const [h, p, s] = jwt.split('.');
    if (h === undefined || p === undefined || s === undefined) throw new Refused(401, 'malformed token');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string; kid?: string };
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const jwksUrl = typeof claims['iss'] === 'string' ? opts.issuers[claims['iss']] : undefined;
    if (jwksUrl === undefined) throw new Refused(401, `unknown issuer ${String(claims['iss'])}`);
    if (header.alg !== 'ES256') throw new Refused(401, `unsupported token algorithm ${String(header.alg)}`);
    const jwks = (await (await fetch(jwksUrl)).json()) as { keys: (JsonWebKey & { kid?: string })[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    if (jwk === undefined) throw new Refused(401, 'unknown token key');
    const ok = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    );
    if (!ok) throw new Refused(401, 'invalid token signature');
    const aud = claims['aud'];
    if (!(aud === 'sigstore' || (Array.isArray(aud) && aud.includes('sigstore'))))
      throw new Refused(401, `token audience ${JSON.stringify(aud)} is not "sigstore"`);
    if (typeof claims['exp'] !== 'number' || claims['exp'] * 1000 <= clock.now())
      throw new Refused(401, 'token is expired');
    if (typeof claims['email'] === 'string') {
      if (claims['email_verified'] !== true) throw new Refused(401, 'email not verified');
      return { claims, identity: claims['email'], kind: 'email', subject: claims['email'] };
    }
    if (typeof claims['sub'] !== 'string') throw new Refused(401, 'no subject');
    const wf = claims['job_workflow_ref'];
    const identity = typeof wf === 'string' ? `https://github.com/${wf}` : claims['sub'];
    return { claims, identity, kind: 'uri', subject: claims['sub'] };
  }

  async function issue(body: unknown): Promise<unknown> {
    const b = body as {
      credentials?: { oidcIdentityToken?: unknown };
      publicKeyRequest?: { publicKey?: { content?: unknown }; proofOfPossession?: unknown };
    };
    const jwt = b?.credentials?.oidcIdentityToken;
    const pem = b?.publicKeyRequest?.publicKey?.content;
    const pop = b?.publicKeyRequest?.proofOfPossession;
    if (typeof jwt !== 'string' || typeof pem !== 'string' || typeof pop !== 'string')
      throw new Refused(400, 'missing credentials, public key or proof of possession');
    const tok = await checkToken(jwt);
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new Refused(400, 'the public key does not parse');
    }
    if (!verify('sha256', Buffer.from(tok.subject), key, Buffer.from(pop, 'base64')))
      throw new Refused(400, 'proof of possession does not verify');
    const now = clock.now();
    const f = fake.fault;
    const certKey = f === 'wrong-key' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey : key;
    const iss = f === 'wrong-issuer' ? 'https://issuer.invalid' : String(tok.claims['iss']);
    const exts: Extension[] = [
      ext.keyUsage([0]),
      ext.extKeyUsage(OID.codeSigning),
      ext.subjectKeyId(spkiOf(certKey)),
      ext.authorityKeyId(interSpki),
      ext.san(tok.kind, f === 'wrong-san' ? 'https://example.invalid/someone-else' : tok.identity),
      ext.fulcioIssuerV1(iss),
      ext.fulcioIssuerV2(iss),
    ];
    const base = {
      serial: serial(),
      issuer: interName,
      subject: name(),
      notBefore: f === 'expired' ? now - 20 * MINUTE : now,
      notAfter: f === 'expired' ? now - 10 * MINUTE : now + 10 * MINUTE,
      spki: spkiOf(certKey),
      hash: 'sha384' as const,
    };
    const precert = tbsCertificate({ ...base, extensions: exts });
    const one = sct(precert, now, f === 'bad-sct');
    const embed = f !== 'no-sct' && f !== 'detached-sct';
    const leaf = signCertificate(
      embed ? tbsCertificate({ ...base, extensions: [...exts, ext.sctList(sctList(one))] }) : precert,
      'sha384',
      interKey,
    );
    const chain = { certificates: [toPem(leaf), toPem(interDer), toPem(rootDer)] };
    return f === 'detached-sct'
      ? { signedCertificateDetachedSct: { chain, signedCertificateTimestamp: one.toString('base64') } }
      : { signedCertificateEmbeddedSct: { chain } };
  }

  const fake: FakeFulcio = {
    url: '',
    caChainPem: toPem(interDer) + toPem(rootDer),
    ctlogKeyPem: createPublicKey(ctKey).export({ type: 'spki', format: 'pem' }).toString(),
    requests: 0,
    fail5xx: 0,
    fault: undefined,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      fake.requests++;
      if (req.method !== 'POST' || req.url !== '/api/v2/signingCert')
        return send(404, { code: 5, message: 'not found' });
      const text = await readBody(req);
      if (fake.fail5xx > 0) {
        fake.fail5xx--;
        return send(503, { code: 14, message: 'unavailable (injected)' });
      }
      try {
        send(200, await issue(JSON.parse(text)));
      } catch (err) {
        if (err instanceof Refused)
          send(err.status, { code: err.status === 401 ? 16 : 3, message: err.message });
        else send(500, { code: 13, message: String(err) });
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(fake, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}
