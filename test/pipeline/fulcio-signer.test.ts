// The keyless Signer adapter against a misbehaving fake Fulcio (each check of the certificate it gets),
// retries, certificate reuse, a signature logged after the certificate expired (injected clocks), the
// fake's own token and proof-of-possession checks, and an openssl cross-check of the fake's certificates.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FulcioSigner } from '../../pipeline/adapters/fulcio-signer.js';
import { derToPem } from '../../pipeline/adapters/fulcio/certificate.js';
import { requestSigningCertificate } from '../../pipeline/adapters/fulcio/client.js';
import {
  decodeClaims,
  expectedIdentities,
  getIdentityToken,
  type IdentityToken,
} from '../../pipeline/adapters/fulcio/identity-token.js';
import { addKeylessTrust } from '../../pipeline/adapters/fulcio/trusted-root.js';
import { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import { verifyBundle } from '../../pipeline/adapters/sigstore-verify.js';
import type { Clock } from '../../pipeline/ports.js';
import { signArtifact } from '../../pipeline/sign-bundle.js';
import type { FulcioFault } from '../helpers/fake-fulcio.js';
import { startKeylessEnv, type KeylessEnv } from '../helpers/keyless-env.js';

const T0 = 1_800_000_000_000; // 2027-01-15, a fixed instant for every clock below
const MINUTE = 60_000;
const EMAIL = 'release@example.com';
const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-fulcio-'));
const clock: Clock = { now: () => T0 };
const fast = { retryDelayMs: 5 };
let env: KeylessEnv;

const idToken = (claims: Record<string, unknown> = {}): IdentityToken => {
  const token = env.oidc.token({ sub: 'user-1', email: EMAIL, email_verified: true, ...claims });
  return { token, source: 'test', claims: decodeClaims(token, 'test') };
};
const signer = (c: Clock = clock, token = idToken()): FulcioSigner =>
  new FulcioSigner({ fulcioUrl: env.fulcio.url, identityToken: token, clock: c, http: fast });

beforeAll(async () => {
  env = await startKeylessEnv(tmp, clock);
});
afterAll(async () => {
  await env.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('FulcioSigner checks the certificate before signing', () => {
  it.each<[FulcioFault, RegExp]>([
    ['wrong-key', /certifies another public key/],
    [
      'wrong-san',
      /identity \(SAN\) is "https:\/\/example.invalid\/someone-else", the token names "release@example.com"/,
    ],
    ['wrong-issuer', /OIDC issuer is "https:\/\/issuer.invalid"/],
    ['no-sct', /no embedded SCT/],
    ['detached-sct', /detached SCT/],
    ['expired', /valid from .* to .*, not now/],
  ])('refuses a certificate with fault %s (CHECK_FAILED)', async (fault, message) => {
    env.fulcio.fault = fault;
    try {
      const err = await signer()
        .sign(Buffer.from('x'))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((err as { code?: string }).code).toBe('CHECK_FAILED');
      expect((err as Error).message).toMatch(message);
    } finally {
      env.fulcio.fault = undefined;
    }
  });

  it('accepts the fake certificate as issued, and reuses it until the clock passes its notAfter', async () => {
    let now = T0;
    const s = signer({ now: () => now });
    const before = env.fulcio.requests;
    const a = await s.sign(Buffer.from('a'));
    const b = await s.sign(Buffer.from('b'));
    expect(env.fulcio.requests - before).toBe(1);
    expect(
      Buffer.from(a.certificate?.leaf as Uint8Array).equals(Buffer.from(b.certificate?.leaf as Uint8Array)),
    ).toBe(true);
    expect(a.certificate?.chain).toHaveLength(2);
    expect((await s.identity()).notAfter.getTime() - T0).toBe(10 * MINUTE);
    // Past notAfter it asks again (the fake, still at T0, issues a certificate that is not valid now).
    now = T0 + 11 * MINUTE;
    await expect(s.sign(Buffer.from('c'))).rejects.toThrow(/not now/);
    expect(env.fulcio.requests - before).toBe(2);
  });

  it('retries 5xx answers (2 retries) and then gives up with TOOL_FAILED', async () => {
    env.fulcio.fail5xx = 2;
    const before = env.fulcio.requests;
    await signer().sign(Buffer.from('x'));
    expect(env.fulcio.requests - before).toBe(3);
    env.fulcio.fail5xx = 3;
    const err = await signer()
      .sign(Buffer.from('x'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    env.fulcio.fail5xx = 0;
    expect((err as { code?: string }).code).toBe('TOOL_FAILED');
    expect((err as Error).message).toMatch(
      /did not answer POST \/api\/v2\/signingCert after 3 attempt\(s\): HTTP 503/,
    );
  });

  it('an unreachable Fulcio is TOOL_FAILED', async () => {
    const s = new FulcioSigner({
      fulcioUrl: 'http://127.0.0.1:9',
      identityToken: idToken(),
      clock,
      http: fast,
    });
    await expect(s.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'TOOL_FAILED' });
  });
});

describe('the fake Fulcio checks what Fulcio checks', () => {
  const ask = async (token: string, pop: (subject: string) => Buffer) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return requestSigningCertificate({
      fulcioUrl: env.fulcio.url,
      identityToken: token,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      proofOfPossession: sign('sha256', pop(EMAIL), privateKey),
      http: fast,
    });
  };
  it('a correct request gets a chain of three', async () => {
    expect(await ask(idToken().token, (s) => Buffer.from(s))).toHaveLength(3);
  });
  it('refuses a proof of possession over another subject', async () => {
    await expect(ask(idToken().token, () => Buffer.from('someone-else'))).rejects.toThrow(
      /proof of possession/,
    );
  });
  it('refuses a token signed by another key, and one from an issuer it does not trust', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = env.oidc.token({ sub: 'u', email: EMAIL, email_verified: true }, { key: other });
    await expect(ask(forged, (s) => Buffer.from(s))).rejects.toThrow(/invalid token signature/);
    const stranger = env.oidc.token({
      iss: 'https://stranger.example',
      sub: 'u',
      email: EMAIL,
      email_verified: true,
    });
    await expect(ask(stranger, (s) => Buffer.from(s))).rejects.toThrow(/unknown issuer/);
  });
  it('openssl verifies its leaf against its chain and sees the embedded SCT and issuer extensions', async () => {
    const chain = await ask(idToken().token, (s) => Buffer.from(s));
    const [leaf, inter, root] = chain.map((c) => derToPem(c));
    writeFileSync(join(tmp, 'leaf.pem'), leaf as string);
    writeFileSync(join(tmp, 'inter.pem'), inter as string);
    writeFileSync(join(tmp, 'root.pem'), root as string);
    const out = execFileSync('openssl', [
      'verify',
      '-attime',
      String(T0 / 1000 + 60),
      '-CAfile',
      join(tmp, 'root.pem'),
      '-untrusted',
      join(tmp, 'inter.pem'),
      '-purpose',
      'any',
      join(tmp, 'leaf.pem'),
    ]).toString();
    expect(out).toMatch(/leaf\.pem: OK/);
    const text = execFileSync('openssl', [
      'x509',
      '-in',
      join(tmp, 'leaf.pem'),
      '-noout',
      '-text',
    ]).toString();
    expect(text).toMatch(/CT Precertificate SCTs/);
    expect(text).toMatch(/email:release@example\.com/);
    expect(text).toMatch(/Code Signing/);
    expect(text).toMatch(/1\.3\.6\.1\.4\.1\.57264\.1\.8/);
  });
});

describe('a signature logged after the certificate expired', () => {
  async function signAndVerify(logAt: number): Promise<{ ok: boolean; reason?: string }> {
    const log = await LocalLog.open(join(tmp, `log-${logAt}`), { now: () => logAt });
    try {
      const bytes = Buffer.from('measurements');
      const signed = await signArtifact(bytes, signer(), log);
      const root = addKeylessTrust(log.trustedRoot(), {
        kind: 'files',
        caChainPem: env.fulcio.caChainPem,
        ctlogKeyPem: env.fulcio.ctlogKeyPem,
        fulcioUrl: env.fulcio.url,
      });
      const r = verifyBundle({
        bundleJson: signed.bundleText,
        artifact: { kind: 'bytes', bytes },
        policy: { kind: 'identity', identity: EMAIL, issuer: env.oidc.issuer },
        trustedRootJson: JSON.stringify(root),
      });
      return r.ok ? { ok: true } : { ok: false, reason: r.reason };
    } finally {
      await log.close();
    }
  }
  it('verifies when the log integrated it inside the 10-minute validity', async () => {
    expect(await signAndVerify(T0 + 5 * MINUTE)).toEqual({ ok: true });
  });
  it('is rejected when integratedTime is after notAfter', async () => {
    const r = await signAndVerify(T0 + 11 * MINUTE);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/CERTIFICATE_ERROR/);
  });
});

describe('identity token claims and sources', () => {
  const jwt = (payload: Record<string, unknown>): string =>
    `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
  it('maps claims to the SAN Fulcio issues: email, GitHub workflow, GitLab config, else sub', () => {
    expect(expectedIdentities(decodeClaims(jwt({ iss: 'i', sub: 's', email: 'a@b' }), 't'))).toEqual(['a@b']);
    expect(
      expectedIdentities(
        decodeClaims(
          jwt({ iss: 'i', sub: 's', job_workflow_ref: 'o/r/.github/workflows/w.yml@refs/tags/v1' }),
          't',
        ),
      ),
    ).toEqual(['https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1', 's']);
    expect(
      expectedIdentities(
        decodeClaims(
          jwt({ iss: 'i', sub: 's', ci_config_ref_uri: 'gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main' }),
          't',
        ),
      ),
    ).toEqual(['https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main', 's']);
    expect(() => decodeClaims(jwt({ sub: 's' }), 't')).toThrow(/no "iss" claim/);
    expect(() => decodeClaims('a.b', 't')).toThrow(/three base64url parts/);
  });
  it('a GitHub Actions request token that the endpoint refuses is a usage error naming the permission', async () => {
    const err = await getIdentityToken({
      env: { ACTIONS_ID_TOKEN_REQUEST_URL: env.gha.ghaRequestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' },
      http: fast,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).toBe('USAGE');
    expect((err as { hint?: string }).hint).toMatch(/id-token: write/);
  });
});
