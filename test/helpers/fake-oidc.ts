// A fake OIDC identity provider on 127.0.0.1 for keyless signing tests: an ES256 key published as a
// JWKS (GET /jwks) with OpenID discovery (GET /.well-known/openid-configuration), signed JWTs made
// on request, and a GitHub Actions style token endpoint (GET /gha-token?audience=A with
// `Authorization: bearer <request token>` -> {"value": JWT with aud A}). The `iss` it writes into
// tokens is configurable, so a test can act as https://token.actions.githubusercontent.com while the
// fake Fulcio is told where that issuer's keys really are.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOidc {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The JWKS URL (what a fake Fulcio fetches to check signatures). */
  readonly jwksUrl: string;
  /** The `iss` written into tokens. */
  readonly issuer: string;
  /** ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN for the GitHub Actions endpoint. */
  readonly ghaRequestUrl: string;
  readonly ghaRequestToken: string;
  /** Claims the GitHub Actions endpoint puts into its tokens (besides iss, aud, iat, exp). */
  ghaClaims: Record<string, unknown>;
  /** Audiences the GitHub Actions endpoint was asked for. */
  readonly ghaAudiences: string[];
  /** A signed JWT: iss, aud "sigstore", iat now, exp now+5 min, then `claims` (which win). */
  token(claims: Record<string, unknown>, opts?: { key?: KeyObject; kid?: string }): string;
  close(): Promise<void>;
}

export interface FakeOidcOptions {
  /** `iss` of the tokens (default: the server's own URL). */
  readonly issuer?: string;
  /** Seconds since the epoch used for iat/exp (default: the wall clock). */
  readonly nowSeconds?: () => number;
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startFakeOidc(opts: FakeOidcOptions = {}): Promise<FakeOidc> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomBytes(8).toString('hex');
  const ghaRequestToken = randomBytes(16).toString('hex');
  const now = opts.nowSeconds ?? ((): number => Math.floor(Date.now() / 1000));
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  let url = '';
  let issuer = '';

  const token = (claims: Record<string, unknown>, o: { key?: KeyObject; kid?: string } = {}): string => {
    const header = b64url({ alg: 'ES256', typ: 'JWT', kid: o.kid ?? kid });
    const t = now();
    const payload = b64url({ iss: issuer, aud: 'sigstore', iat: t, nbf: t, exp: t + 300, ...claims });
    const sig = sign('sha256', Buffer.from(`${header}.${payload}`), {
      key: o.key ?? privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${header}.${payload}.${sig.toString('base64url')}`;
  };

  const fake: Omit<FakeOidc, 'url' | 'jwksUrl' | 'issuer' | 'ghaRequestUrl'> & { ghaAudiences: string[] } = {
    ghaRequestToken,
    ghaClaims: {},
    ghaAudiences: [],
    token,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', url);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/.well-known/openid-configuration')
      return send(200, { issuer, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ['ES256'] });
    if (u.pathname === '/jwks') return send(200, { keys: [jwk] });
    if (u.pathname === '/gha-token') {
      if (req.headers.authorization !== `bearer ${ghaRequestToken}`)
        return send(401, { message: 'bad request token' });
      const aud = u.searchParams.get('audience') ?? 'https://github.com/OWNER';
      fake.ghaAudiences.push(aud);
      return send(200, { count: 1, value: token({ ...fake.ghaClaims, aud }) });
    }
    send(404, { message: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = opts.issuer ?? url;
  return Object.assign(fake, {
    url,
    jwksUrl: `${url}/jwks`,
    issuer,
    ghaRequestUrl: `${url}/gha-token?api-version=2.0`,
  });
}
