// `nodeimg sign --keyless` against a fake Fulcio and fake OIDC issuers on 127.0.0.1 (the real
// sigstore-js verifier on the other side): token sources, the bundle it writes, the trusted root a
// verifier builds with `nodeimg log trusted-root --fulcio-ca --ctlog-key`, and the ways a keyless
// bundle or signing attempt must fail.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import {
  GHA_IDENTITY,
  GHA_ISSUER,
  GHA_WORKFLOW,
  startKeylessEnv,
  type KeylessEnv,
} from '../helpers/keyless-env.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-keyless-'));
const logDir = join(tmp, 'tlog');
const root = join(tmp, 'trusted_root.json');
const artifact = join(tmp, 'measurements.json');
const EMAIL = 'release@example.com';
let env: KeylessEnv;
let n = 0;

type Bundle = {
  verificationMaterial: {
    certificate?: { rawBytes: string };
    publicKey?: unknown;
    tlogEntries: { canonicalizedBody: string }[];
  };
  messageSignature: { signature: string };
};

const emailToken = (extra: Record<string, unknown> = {}): string =>
  env.oidc.token({ sub: 'user-1234', email: EMAIL, email_verified: true, ...extra });

/** `nodeimg sign --keyless` into a fresh bundle path; returns the result and the bundle path. */
async function signKeyless(args: string[], file = artifact) {
  const out = join(tmp, `b${n++}.sigstore.json`);
  const r = await run([
    'sign',
    file,
    '--keyless',
    '--fulcio-url',
    env.fulcio.url,
    '--log',
    `dir:${logDir}`,
    '-o',
    out,
    ...args,
  ]);
  return { ...r, out };
}

const verify = (bundle: string, identity: string, issuer: string, file = artifact, trustedRoot = root) =>
  run([
    'verify-bundle',
    '--bundle',
    bundle,
    '--certificate-identity',
    identity,
    '--certificate-oidc-issuer',
    issuer,
    '--trusted-root',
    trustedRoot,
    file,
  ]);

beforeAll(async () => {
  env = await startKeylessEnv(tmp);
  writeFileSync(artifact, '{"pcrs":{"11":"00"}}\n');
  // Creates the log, so the trusted root can be exported before the first signature.
  const tr = await run([
    'log',
    'trusted-root',
    '--log',
    `dir:${logDir}`,
    '--fulcio-ca',
    env.caPem,
    '--ctlog-key',
    env.ctPub,
  ]);
  expect(tr.code, tr.stderr).toBe(0);
  writeFileSync(root, tr.stdout);
});
afterAll(async () => {
  await env.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('nodeimg sign --keyless (fake Fulcio + OIDC on loopback)', () => {
  it('signs with a Fulcio certificate for the token identity; verify-bundle accepts it for that identity and issuer', async () => {
    const s = await signKeyless(['--identity-token', emailToken()]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain(`identity:  ${EMAIL}`);
    expect(s.stdout).toContain(`issuer:    ${env.oidc.issuer}`);
    const b = JSON.parse(readFileSync(s.out, 'utf8')) as Bundle;
    expect(b.verificationMaterial.publicKey).toBeUndefined();
    const leaf = new X509Certificate(
      Buffer.from(b.verificationMaterial.certificate?.rawBytes as string, 'base64'),
    );
    expect(leaf.subjectAltName).toBe(`email:${EMAIL}`);
    // Rekor's hashedrekord for keyless carries the PEM certificate as publicKey.content.
    const body = JSON.parse(
      Buffer.from(b.verificationMaterial.tlogEntries[0]?.canonicalizedBody as string, 'base64').toString(),
    ) as { spec: { signature: { publicKey: { content: string } } } };
    const pem = Buffer.from(body.spec.signature.publicKey.content, 'base64').toString();
    expect(new X509Certificate(pem).raw.equals(leaf.raw)).toBe(true);
    expect(readFileSync(s.out.replace(/\.sigstore\.json$/, '.sig'), 'utf8').trim()).toBe(
      b.messageSignature.signature,
    );
    const v = await verify(s.out, EMAIL, env.oidc.issuer);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(`signer:  ${EMAIL} (issuer ${env.oidc.issuer})`);
    expect(env.fulcio.requests).toBeGreaterThan(0);
  });

  it('GitHub Actions: fetches the token with audience sigstore; the verifier pins the workflow and the GitHub issuer', async () => {
    process.env['ACTIONS_ID_TOKEN_REQUEST_URL'] = env.gha.ghaRequestUrl;
    process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'] = env.gha.ghaRequestToken;
    try {
      const s = await signKeyless([]);
      expect(s.code, s.stderr).toBe(0);
      expect(env.gha.ghaAudiences).toEqual(['sigstore']);
      expect(s.stdout).toContain(`identity:  ${GHA_IDENTITY}`);
      expect(s.stdout).toContain('token from GitHub Actions');
      const v = await verify(s.out, GHA_IDENTITY, GHA_ISSUER);
      expect(v.code, v.stderr).toBe(0);
      // Another workflow of the same repository, and another branch, are other identities.
      const other = GHA_IDENTITY.replace('release.yml', 'ci.yml');
      expect((await verify(s.out, other, GHA_ISSUER)).code).toBe(1);
      expect(
        (await verify(s.out, GHA_IDENTITY.replace('refs/heads/main', 'refs/heads/dev'), GHA_ISSUER)).code,
      ).toBe(1);
    } finally {
      delete process.env['ACTIONS_ID_TOKEN_REQUEST_URL'];
      delete process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
    }
  });

  it('token sources in order: --identity-token (or @FILE) before SIGSTORE_ID_TOKEN before GitHub Actions', async () => {
    process.env['ACTIONS_ID_TOKEN_REQUEST_URL'] = env.gha.ghaRequestUrl;
    process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'] = env.gha.ghaRequestToken;
    process.env['SIGSTORE_ID_TOKEN'] = env.oidc.token({
      sub: 'from-env@example.com',
      email: 'from-env@example.com',
      email_verified: true,
    });
    const before = env.gha.ghaAudiences.length;
    try {
      const file = join(tmp, 'token.jwt');
      writeFileSync(
        file,
        `${env.oidc.token({ sub: 'x', email: 'from-file@example.com', email_verified: true })}\n`,
      );
      const a = await signKeyless(['--identity-token', `@${file}`]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toContain('identity:  from-file@example.com');
      const b = await signKeyless([]);
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout).toContain('identity:  from-env@example.com');
      expect(b.stdout).toContain('token from SIGSTORE_ID_TOKEN');
      expect(env.gha.ghaAudiences.length).toBe(before); // GitHub Actions was never asked
    } finally {
      delete process.env['SIGSTORE_ID_TOKEN'];
      delete process.env['ACTIONS_ID_TOKEN_REQUEST_URL'];
      delete process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
    }
  });

  it('takes Fulcio from NODEIMG_FULCIO_URL, accepts a matching --oidc-issuer, and writes no key anywhere', async () => {
    const outDir = mkdtempSync(join(tmp, 'out-'));
    process.env['NODEIMG_FULCIO_URL'] = env.fulcio.url;
    try {
      const r = await run([
        'sign',
        artifact,
        '--keyless',
        '--identity-token',
        emailToken(),
        '--oidc-issuer',
        env.oidc.issuer,
        '--log',
        `dir:${logDir}`,
        '-o',
        join(outDir, 'm.sigstore.json'),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Fulcio ${env.fulcio.url}`);
    } finally {
      delete process.env['NODEIMG_FULCIO_URL'];
    }
    // The ephemeral key lives in memory only: the output directory holds the bundle and the signature.
    expect(readdirSync(outDir).sort()).toEqual(['m.sig', 'm.sigstore.json']);
    expect(readFileSync(join(outDir, 'm.sigstore.json'), 'utf8')).not.toMatch(/PRIVATE KEY/);
  });

  it('a token without an email is certified for its sub (URI SAN)', async () => {
    const s = await signKeyless([
      '--identity-token',
      env.oidc.token({ sub: 'https://ci.example/pipelines/7' }),
    ]);
    expect(s.code, s.stderr).toBe(0);
    expect((await verify(s.out, 'https://ci.example/pipelines/7', env.oidc.issuer)).code).toBe(0);
  });
});

describe('keyless bundles that must not verify (exit 1)', () => {
  let good: string;
  beforeAll(async () => {
    const s = await signKeyless(['--identity-token', emailToken()]);
    expect(s.code, s.stderr).toBe(0);
    good = s.out;
  });

  it('another identity', async () => {
    const v = await verify(good, 'someone@example.com', env.oidc.issuer);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/UNTRUSTED_SIGNER_ERROR/);
  });

  it('another issuer', async () => {
    const v = await verify(good, EMAIL, GHA_ISSUER);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/issuer/);
  });

  it('an identity that only matches as a regular expression (exact match required)', async () => {
    // @sigstore/verify 3.1.1 tests the SAN against the expected identity as an unanchored RegExp.
    env.gha.ghaClaims = { ...env.gha.ghaClaims, job_workflow_ref: `${GHA_WORKFLOW}-evil` };
    process.env['ACTIONS_ID_TOKEN_REQUEST_URL'] = env.gha.ghaRequestUrl;
    process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'] = env.gha.ghaRequestToken;
    try {
      const s = await signKeyless([]);
      expect(s.code, s.stderr).toBe(0);
      expect(s.stdout).toContain(`identity:  ${GHA_IDENTITY}-evil`);
      const v = await verify(s.out, GHA_IDENTITY, GHA_ISSUER);
      expect(v.code).toBe(1);
      const dots = await verify(s.out, `${GHA_IDENTITY.replace(/\./g, 'X')}-evil`, GHA_ISSUER);
      expect(dots.code).toBe(1);
      expect((await verify(s.out, `${GHA_IDENTITY}-evil`, GHA_ISSUER)).code).toBe(0);
    } finally {
      env.gha.ghaClaims = { ...env.gha.ghaClaims, job_workflow_ref: GHA_WORKFLOW };
      delete process.env['ACTIONS_ID_TOKEN_REQUEST_URL'];
      delete process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
    }
  });

  it('a certificate from another CA than the trusted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeimg-keyless-other-'));
    const other = await startKeylessEnv(dir);
    try {
      const out = join(tmp, 'other-ca.sigstore.json');
      const s = await run([
        'sign',
        artifact,
        '--keyless',
        '--fulcio-url',
        other.fulcio.url,
        '--identity-token',
        other.oidc.token({ sub: 'u', email: EMAIL, email_verified: true }),
        '--log',
        `dir:${logDir}`,
        '-o',
        out,
      ]);
      expect(s.code, s.stderr).toBe(0);
      const v = await verify(out, EMAIL, other.oidc.issuer);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/CERTIFICATE_ERROR/);
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a tampered artifact', async () => {
    const file = join(tmp, 'tampered.json');
    writeFileSync(file, '{"pcrs":{"11":"01"}}\n');
    expect((await verify(good, EMAIL, env.oidc.issuer, file)).code).toBe(1);
  });

  it('a trusted root without the CT log (the embedded SCT is required and checked)', async () => {
    const r = JSON.parse(readFileSync(root, 'utf8')) as { ctlogs: unknown[] };
    r.ctlogs = [];
    const p = join(tmp, 'no-ctlog-root.json');
    writeFileSync(p, JSON.stringify(r));
    const v = await verify(good, EMAIL, env.oidc.issuer, artifact, p);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/SCT/);
  });

  it('a certificate whose embedded SCT does not verify', async () => {
    env.fulcio.fault = 'bad-sct';
    try {
      const s = await signKeyless(['--identity-token', emailToken()]);
      expect(s.code, s.stderr).toBe(0); // the signer cannot know the CT log key; verifiers do
      const v = await verify(s.out, EMAIL, env.oidc.issuer);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/SCT verification failed/);
    } finally {
      env.fulcio.fault = undefined;
    }
  });
});

describe('keyless signing that must fail', () => {
  it.each([
    [
      'a token for another audience',
      { aud: 'https://github.com/OWNER' },
      /refused the identity token \(HTTP 401: token audience "https:\/\/github.com\/OWNER" is not "sigstore"\)/,
    ],
    [
      'an expired token',
      { exp: Math.floor(Date.now() / 1000) - 60 },
      /refused the identity token \(HTTP 401: token is expired\)/,
    ],
  ])('%s: the fake Fulcio refuses it, sign exits 1 and writes nothing', async (_name, claims, message) => {
    const token = emailToken(claims);
    const s = await signKeyless(['--identity-token', token]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(message);
    expect(s.stderr).toMatch(/hint: the token must be for audience "sigstore"/);
    expect(existsSync(s.out)).toBe(false);
    expect(s.stderr).not.toContain(token.split('.')[2]); // the token is never echoed
  });

  it('usage errors exit 2: --key with --keyless, keyless flags without --keyless, no token, plain http, issuer mismatch, bad token', async () => {
    const key = join(tmp, 'none.pem');
    const cases: [string[], RegExp][] = [
      [['sign', artifact, '--keyless', '--key', key], /--key and --keyless exclude each other/],
      [['sign', artifact, '--key', key, '--fulcio-url', env.fulcio.url], /need --keyless/],
      [['sign', artifact, '--key', key, '--identity-token', 'x'], /need --keyless/],
      [['sign', artifact], /--key or --keyless is required/],
      [
        ['sign', artifact, '--keyless', '--fulcio-url', env.fulcio.url],
        /needs an OIDC identity token and none was found/,
      ],
      [
        [
          'sign',
          artifact,
          '--keyless',
          '--fulcio-url',
          'http://fulcio.example',
          '--identity-token',
          emailToken(),
        ],
        /only sent over https/,
      ],
      [
        [
          'sign',
          artifact,
          '--keyless',
          '--fulcio-url',
          env.fulcio.url,
          '--identity-token',
          emailToken(),
          '--oidc-issuer',
          GHA_ISSUER,
        ],
        /not --oidc-issuer/,
      ],
      [
        ['sign', artifact, '--keyless', '--fulcio-url', env.fulcio.url, '--identity-token', 'not-a-jwt'],
        /not a usable OIDC JWT/,
      ],
      [
        [
          'sign',
          artifact,
          '--keyless',
          '--fulcio-url',
          env.fulcio.url,
          '--identity-token',
          emailToken({ email_verified: false }),
        ],
        /not verified/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run([...args, '--log', `dir:${logDir}`, '-o', join(tmp, 'never.sigstore.json')]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(tmp, 'never.sigstore.json'))).toBe(false);
    const gha = await run([
      'sign',
      artifact,
      '--keyless',
      '--fulcio-url',
      env.fulcio.url,
      '--identity-token',
      '@' + join(tmp, 'missing.jwt'),
    ]);
    expect(gha.code).toBe(4);
  });
});

describe('nodeimg log trusted-root --fulcio-ca', () => {
  it('orders the chain (intermediate first), dates the CA and CT log, and needs --ctlog-key', async () => {
    const r = JSON.parse(readFileSync(root, 'utf8')) as {
      certificateAuthorities: {
        certChain: { certificates: { rawBytes: string }[] };
        validFor: { start: string };
      }[];
      ctlogs: { publicKey: { keyDetails: string; validFor: { start: string } } }[];
    };
    const chain = r.certificateAuthorities[0]?.certChain.certificates.map(
      (c) => new X509Certificate(Buffer.from(c.rawBytes, 'base64')),
    );
    expect(chain?.map((c) => c.subject.split('\n').pop())).toEqual([
      'CN=fake-fulcio-intermediate',
      'CN=fake-fulcio-root',
    ]);
    expect(r.ctlogs[0]?.publicKey.keyDetails).toBe('PKIX_ECDSA_P256_SHA_256');
    expect(r.ctlogs[0]?.publicKey.validFor.start).toBe(r.certificateAuthorities[0]?.validFor.start);
    // Root first in the file: same result.
    const [inter, rootCert] = readFileSync(env.caPem, 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/);
    const swapped = join(tmp, 'swapped.pem');
    writeFileSync(swapped, `${rootCert}${inter}`);
    const again = await run([
      'log',
      'trusted-root',
      '--log',
      `dir:${logDir}`,
      '--fulcio-ca',
      swapped,
      '--ctlog-key',
      env.ctPub,
    ]);
    expect(JSON.parse(again.stdout)).toEqual(r);
    const noCt = await run(['log', 'trusted-root', '--log', `dir:${logDir}`, '--fulcio-ca', env.caPem]);
    expect(noCt.code).toBe(2);
    expect(noCt.stderr).toMatch(/needs --ctlog-key/);
  });

  it('--fulcio-ca public-good adds the Sigstore public-good CAs and CT logs', async () => {
    const r = await run(['log', 'trusted-root', '--log', `dir:${logDir}`, '--fulcio-ca', 'public-good']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      tlogs: unknown[];
      certificateAuthorities: { uri: string }[];
      ctlogs: unknown[];
    };
    expect(doc.tlogs).toHaveLength(1);
    expect(doc.certificateAuthorities.map((c) => c.uri)).toContain('https://fulcio.sigstore.dev');
    expect(doc.ctlogs.length).toBeGreaterThan(0);
  });
});
