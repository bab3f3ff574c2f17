// `nodeimg verify-bundle` against every sigstore-conformance bundle-verify case in
// ../shared/sigstore-conformance/bundle-verify/, the way the conformance suite drives a client: the
// case's key.pub (managed key) or identity/issuer (defaults from the suite's README), its
// trusted_root.json (default: the public-good root shipped in @sigstore/tuf, offline) and its
// artifact (default: ../a.txt). Cases not ending in _fail must exit 0, _fail cases exit 1; cases the
// libraries cannot verify are listed below with the reason and must be rejected (exit 1).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

const CASES_DIR = fileURLToPath(
  new URL('../../../shared/sigstore-conformance/bundle-verify/', import.meta.url),
);
const DEFAULT_ARTIFACT = join(CASES_DIR, 'a.txt');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * Valid bundles the libraries of the Node 20 line cannot verify. nodeimg rejects them (fail closed,
 * exit 1) instead of accepting anything it cannot check.
 */
export const UNSUPPORTED_REJECTED_CASES: readonly { readonly name: string; readonly reason: string }[] = [
  {
    name: 'rekor2-dsse-happy-path',
    reason:
      'DSSE envelope logged to Rekor v2 as a hashedrekord 0.0.2 entry over PAE: @sigstore/verify 3.1.1 compares the ' +
      'entry with the whole envelope (support came in @sigstore/verify 4.1.0, which needs Node >= 22)',
  },
];
const UNSUPPORTED = new Map(UNSUPPORTED_REJECTED_CASES.map((c) => [c.name, c.reason]));

const cases = existsSync(CASES_DIR)
  ? readdirSync(CASES_DIR)
      .filter((name) => statSync(join(CASES_DIR, name)).isDirectory())
      .sort()
  : [];

function caseArgs(dir: string): string[] {
  const file = (name: string): string | undefined =>
    existsSync(join(dir, name)) ? join(dir, name) : undefined;
  const text = (name: string): string | undefined => {
    const p = file(name);
    return p === undefined ? undefined : readFileSync(p, 'utf8').trim();
  };
  const key = file('key.pub');
  const root = file('trusted_root.json');
  return [
    'verify-bundle',
    '--bundle',
    join(dir, 'bundle.sigstore.json'),
    ...(key !== undefined
      ? ['--key', key]
      : [
          '--certificate-identity',
          text('identity') ?? DEFAULT_IDENTITY,
          '--certificate-oidc-issuer',
          text('issuer') ?? DEFAULT_ISSUER,
        ]),
    ...(root !== undefined ? ['--trusted-root', root] : []),
    file('artifact') ?? DEFAULT_ARTIFACT,
  ];
}

const tally = { accepted: 0, rejected: 0, unsupportedRejected: 0 };

describe('verify-bundle: sigstore-conformance bundle-verify cases', () => {
  it('finds the cases and the default artifact a.txt', () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(existsSync(DEFAULT_ARTIFACT)).toBe(true);
    for (const name of UNSUPPORTED.keys()) expect(cases).toContain(name);
  });

  for (const name of cases) {
    const dir = join(CASES_DIR, name);
    const unsupported = UNSUPPORTED.get(name);
    const want = name.endsWith('_fail') || unsupported !== undefined ? 1 : 0;
    it(`${name}: exit ${want}${unsupported ? ' (unsupported, rejected)' : ''}`, async () => {
      expect(existsSync(join(dir, 'bundle.sigstore.json'))).toBe(true);
      const r = await run(caseArgs(dir));
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(want);
      if (want === 1) expect(r.stderr).toContain('[CHECK_FAILED]');
      if (unsupported) tally.unsupportedRejected++;
      else if (want === 0) tally.accepted++;
      else tally.rejected++;
    });
  }

  afterAll(() => {
    console.log(
      `verify-bundle conformance: ${cases.length} cases, ${tally.accepted} valid accepted, ` +
        `${tally.rejected} _fail rejected, ${tally.unsupportedRejected} unsupported and rejected ` +
        `(${UNSUPPORTED_REJECTED_CASES.map((c) => c.name).join(', ')})`,
    );
  });
});

describe('verify-bundle: policy and usage', () => {
  const happy = join(CASES_DIR, 'happy-path-v0.3');
  const managed = join(CASES_DIR, 'managed-key-happy-path');

  it('rejects a keyless bundle for another identity', async () => {
    const r = await run([
      'verify-bundle',
      '--bundle',
      join(happy, 'bundle.sigstore.json'),
      '--certificate-identity',
      'https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main',
      '--certificate-oidc-issuer',
      DEFAULT_ISSUER,
      DEFAULT_ARTIFACT,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UNTRUSTED_SIGNER_ERROR/);
  });

  it('rejects a keyless bundle for another issuer', async () => {
    const r = await run([
      'verify-bundle',
      '--bundle',
      join(happy, 'bundle.sigstore.json'),
      '--certificate-identity',
      DEFAULT_IDENTITY,
      '--certificate-oidc-issuer',
      'https://accounts.google.com',
      DEFAULT_ARTIFACT,
    ]);
    expect(r.code).toBe(1);
  });

  it('rejects a certificate bundle when a managed key is required, and a key bundle under an identity policy', async () => {
    const a = await run([
      'verify-bundle',
      '--bundle',
      join(happy, 'bundle.sigstore.json'),
      '--key',
      join(managed, 'key.pub'),
      DEFAULT_ARTIFACT,
    ]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/public key was given/);
    const b = await run([
      'verify-bundle',
      '--bundle',
      join(managed, 'bundle.sigstore.json'),
      '--certificate-identity',
      DEFAULT_IDENTITY,
      '--certificate-oidc-issuer',
      DEFAULT_ISSUER,
      DEFAULT_ARTIFACT,
    ]);
    expect(b.code).toBe(1);
  });

  it('rejects a managed-key bundle checked against another valid P-256 key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeimg-verify-bundle-'));
    try {
      const other = join(dir, 'other.pub');
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(other, publicKey.export({ type: 'spki', format: 'pem' }));
      const r = await run([
        'verify-bundle',
        '--bundle',
        join(managed, 'bundle.sigstore.json'),
        '--key',
        other,
        DEFAULT_ARTIFACT,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/SIGNATURE_ERROR|TLOG/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a message-signature bundle given only a sha256: digest', async () => {
    const digest = (await import('node:crypto'))
      .createHash('sha256')
      .update(readFileSync(DEFAULT_ARTIFACT))
      .digest('hex');
    const r = await run([
      'verify-bundle',
      '--bundle',
      join(managed, 'bundle.sigstore.json'),
      '--key',
      join(managed, 'key.pub'),
      `sha256:${digest}`,
    ]);
    expect(r.code).toBe(1);
  });

  it('usage errors exit 2, missing files exit 4', async () => {
    expect((await run(['verify-bundle', DEFAULT_ARTIFACT])).code).toBe(2);
    expect((await run(['verify-bundle', '--bundle', 'b.json', DEFAULT_ARTIFACT])).code).toBe(2);
    expect(
      (
        await run([
          'verify-bundle',
          '--bundle',
          'b.json',
          '--key',
          'k.pub',
          '--certificate-identity',
          'x',
          DEFAULT_ARTIFACT,
        ])
      ).code,
    ).toBe(2);
    const r = await run([
      'verify-bundle',
      '--bundle',
      join(managed, 'bundle.sigstore.json'),
      '--key',
      join(managed, 'key.pub'),
      join(managed, 'no-such-artifact'),
    ]);
    expect(r.code).toBe(4);
  });
});
