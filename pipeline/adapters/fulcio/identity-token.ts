// Where keyless signing gets its OIDC identity token, in this order:
//   1. --identity-token TOKEN or --identity-token @FILE (the sigstore-conformance client protocol);
//   2. SIGSTORE_ID_TOKEN (cosign's envvar provider, sigstore-js getEnv);
//   3. GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore with
//      `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` -> {"value": JWT} (sigstore-js
//      identity/ci.js getGHAToken; the job needs `permissions: id-token: write`).
// The claims are decoded without checking the signature: Fulcio checks the token, nodeimg only reads
// which identity it names (to sign the proof of possession and to check the certificate it gets).
// A token is a credential: error messages never contain it.
import { UsageError } from '../../errors.js';
import { requestJson, type HttpOptions } from './http.js';

export const SIGSTORE_ID_TOKEN_ENV = 'SIGSTORE_ID_TOKEN';
export const GHA_URL_ENV = 'ACTIONS_ID_TOKEN_REQUEST_URL';
export const GHA_TOKEN_ENV = 'ACTIONS_ID_TOKEN_REQUEST_TOKEN';
/** The audience Fulcio requires (sigstore-js CIContextProvider('sigstore')). */
export const SIGSTORE_AUDIENCE = 'sigstore';

/** The claims keyless signing reads (RFC 7519 registered claims plus the identity ones Fulcio maps). */
export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: readonly string[];
  /** Expiry, Unix seconds. */
  readonly exp?: number;
  readonly email?: string;
  readonly emailVerified: boolean;
  /** GitHub Actions: `OWNER/REPO/.github/workflows/X.yml@REF` (Fulcio's SAN is https://github.com/ + it). */
  readonly jobWorkflowRef?: string;
  /** GitLab CI: `gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@REF` (Fulcio's SAN is https:// + it). */
  readonly ciConfigRefUri?: string;
}

export interface IdentityToken {
  readonly token: string;
  /** Where it came from, for messages: `--identity-token`, `SIGSTORE_ID_TOKEN`, `GitHub Actions`. */
  readonly source: string;
  readonly claims: TokenClaims;
}

export interface TokenRequest {
  /** A token given explicitly (--identity-token TOKEN, or the content of @FILE) and its source. */
  readonly explicit?: { readonly token: string; readonly source: string };
  readonly env: NodeJS.ProcessEnv;
  readonly http?: HttpOptions;
}

const HINT =
  'pass --identity-token TOKEN|@FILE, set SIGSTORE_ID_TOKEN, or run in GitHub Actions with `permissions: id-token: write`';

/** Finds the identity token (see the file header for the order). */
export async function getIdentityToken(req: TokenRequest): Promise<IdentityToken> {
  if (req.explicit !== undefined) {
    const { source } = req.explicit;
    const token = req.explicit.token.trim();
    return { token, source, claims: decodeClaims(token, source) };
  }
  const fromEnv = req.env[SIGSTORE_ID_TOKEN_ENV]?.trim();
  if (fromEnv)
    return {
      token: fromEnv,
      source: SIGSTORE_ID_TOKEN_ENV,
      claims: decodeClaims(fromEnv, SIGSTORE_ID_TOKEN_ENV),
    };
  const url = req.env[GHA_URL_ENV];
  const bearer = req.env[GHA_TOKEN_ENV];
  if (url && bearer) {
    const token = await githubActionsToken(url, bearer, req.http);
    return { token, source: 'GitHub Actions', claims: decodeClaims(token, 'GitHub Actions') };
  }
  if (url && !bearer)
    throw new UsageError(`${GHA_URL_ENV} is set but ${GHA_TOKEN_ENV} is not`, {
      hint: 'give the job `permissions: id-token: write`',
    });
  throw new UsageError('keyless signing needs an OIDC identity token and none was found', { hint: HINT });
}

async function githubActionsToken(requestUrl: string, bearer: string, http?: HttpOptions): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new UsageError(`${GHA_URL_ENV} is not a URL`);
  }
  url.searchParams.append('audience', SIGSTORE_AUDIENCE);
  const res = await requestJson(
    {
      method: 'GET',
      url: url.href,
      headers: { Authorization: `bearer ${bearer}` },
      service: 'the GitHub Actions OIDC token endpoint',
    },
    http,
  );
  const value = (res.json as { value?: unknown } | undefined)?.value;
  if (res.status !== 200 || typeof value !== 'string')
    throw new UsageError(
      `the GitHub Actions OIDC token endpoint refused the request (HTTP ${res.status}: ${res.message})`,
      { hint: 'give the job `permissions: id-token: write`' },
    );
  return value;
}

/** Decodes a JWT's payload (no signature check) and keeps the claims keyless signing needs. */
export function decodeClaims(token: string, source: string): TokenClaims {
  const parts = token.split('.');
  const bad = (why: string): UsageError =>
    new UsageError(`the identity token from ${source} is not a usable OIDC JWT: ${why}`, { hint: HINT });
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)))
    throw bad('expected three base64url parts separated by dots');
  let payload: Record<string, unknown>;
  try {
    const v = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    payload = v as Record<string, unknown>;
  } catch {
    throw bad('the payload is not a JSON object');
  }
  const str = (k: string): string | undefined => (typeof payload[k] === 'string' ? payload[k] : undefined);
  const iss = str('iss');
  const sub = str('sub');
  if (!iss) throw bad('no "iss" claim');
  if (!sub) throw bad('no "sub" claim');
  const audRaw = payload['aud'];
  const aud =
    typeof audRaw === 'string'
      ? [audRaw]
      : Array.isArray(audRaw)
        ? audRaw.filter((a) => typeof a === 'string')
        : [];
  const exp = typeof payload['exp'] === 'number' ? payload['exp'] : undefined;
  const email = str('email');
  const jobWorkflowRef = str('job_workflow_ref');
  const ciConfigRefUri = str('ci_config_ref_uri');
  return {
    iss,
    sub,
    aud,
    emailVerified: payload['email_verified'] === true,
    ...(exp === undefined ? {} : { exp }),
    ...(email === undefined ? {} : { email }),
    ...(jobWorkflowRef === undefined ? {} : { jobWorkflowRef }),
    ...(ciConfigRefUri === undefined ? {} : { ciConfigRefUri }),
  };
}

/**
 * What the proof of possession signs: the `email` claim when there is one (it must be verified),
 * else `sub` (Fulcio v2 challenge; sigstore-js util/oidc.js extractJWTSubject).
 */
export function proofSubject(claims: TokenClaims, source: string): string {
  if (claims.email === undefined) return claims.sub;
  if (!claims.emailVerified)
    throw new UsageError(`the identity token from ${source} has an email claim that is not verified`, {
      hint: 'Fulcio only certifies verified email addresses (email_verified: true)',
    });
  return claims.email;
}

/**
 * The certificate identities (SAN) Fulcio issues for these claims: the email address; for GitHub
 * Actions https://github.com/<job_workflow_ref>; for GitLab https://<ci_config_ref_uri>; else `sub`
 * (Fulcio's email, ci-provider and uri issuer types).
 */
export function expectedIdentities(claims: TokenClaims): string[] {
  if (claims.email !== undefined) return [claims.email];
  const out: string[] = [];
  if (claims.jobWorkflowRef !== undefined) out.push(`https://github.com/${claims.jobWorkflowRef}`);
  if (claims.ciConfigRefUri !== undefined) out.push(`https://${claims.ciConfigRefUri}`);
  out.push(claims.sub);
  return out;
}
