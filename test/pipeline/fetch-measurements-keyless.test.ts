// fetch-measurements of a release signed keyless (fake Fulcio + OIDC issuer on loopback): the
// exact identity and issuer verify; another identity, another issuer, or a `--key` policy for a
// keyless release each fail with their own code and leave no output.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FulcioSigner } from '../../pipeline/adapters/fulcio-signer.js';
import { decodeClaims } from '../../pipeline/adapters/fulcio/identity-token.js';
import { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import { DirStore } from '../../pipeline/adapters/store/dir-store.js';
import { canonicalText } from '../../pipeline/release/canonical-text.js';
import { coordinates } from '../../pipeline/release/names.js';
import { publishRelease } from '../../pipeline/release/publish.js';
import { sha256Hex } from '../../pipeline/release/version-index.js';
import { run } from '../helpers/cli.js';
import { startKeylessEnv, type KeylessEnv } from '../helpers/keyless-env.js';
import { sampleMeasurements } from '../helpers/release-store.js';

const EMAIL = 'release@example.com';
const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-fetch-keyless-'));
const store = join(tmp, 'store');
const root = join(tmp, 'trusted_root.json');
let env: KeylessEnv;

beforeAll(async () => {
  env = await startKeylessEnv(tmp);
  const logDir = join(tmp, 'tlog');
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
  const token = env.oidc.token({ sub: 'user-1', email: EMAIL, email_verified: true });
  const signer = new FulcioSigner({
    fulcioUrl: env.fulcio.url,
    identityToken: { token, source: 'test', claims: decodeClaims(token, 'test') },
    clock: { now: () => Date.now() },
  });
  const disk = join(tmp, 'disk.raw');
  const bytes = Buffer.alloc(4096, 9);
  writeFileSync(disk, bytes);
  const log = await LocalLog.open(logDir, { now: () => Date.now() });
  try {
    await publishRelease({
      store: new DirStore(store),
      coords: coordinates('v1.0.0'),
      name: 'keyless',
      artefacts: [{ name: 'disk.raw', path: disk, sha256: sha256Hex(bytes), size: bytes.length }],
      manifestText: canonicalText({ keyless: true }),
      measurements: sampleMeasurements(),
      signer,
      log,
    });
  } finally {
    await log.close();
  }
});

afterAll(async () => {
  await env.close();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
async function fetch(policy: string[]) {
  const out = join(tmp, `out-${++n}.json`);
  const r = await run([
    'fetch-measurements',
    '--version',
    'v1.0.0',
    '--store',
    `dir:${store}`,
    ...policy,
    '--trusted-root',
    root,
    '--offline',
    '--state',
    join(tmp, `state-${n}.json`),
    '-o',
    out,
  ]);
  return { ...r, written: existsSync(out) };
}

describe('fetch-measurements of a keyless release', () => {
  it('accepts the exact identity and issuer', async () => {
    const r = await fetch(['--certificate-identity', EMAIL, '--certificate-oidc-issuer', env.oidc.issuer]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.written).toBe(true);
    expect(r.stderr).toContain(EMAIL);
  });

  it('refuses another identity (13 VERIFY_WRONG_IDENTITY), also one that only matches as a pattern', async () => {
    for (const identity of ['someone@example.com', 'release@example.co', 'release@example\\.com', '.*']) {
      const r = await fetch([
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        env.oidc.issuer,
      ]);
      expect(r.stderr, identity).toContain('[VERIFY_WRONG_IDENTITY]');
      expect(r.code).toBe(13);
      expect(r.written).toBe(false);
    }
  });

  it('refuses another issuer (13) and a managed-key policy for a keyless release (12)', async () => {
    const issuer = await fetch([
      '--certificate-identity',
      EMAIL,
      '--certificate-oidc-issuer',
      'https://accounts.example.org',
    ]);
    expect(issuer.stderr).toContain('[VERIFY_WRONG_IDENTITY]');
    expect(issuer.code).toBe(13);
    const keyFile = join(tmp, 'some.pub');
    const { generateKeyPairSync } = await import('node:crypto');
    writeFileSync(
      keyFile,
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        type: 'spki',
        format: 'pem',
      }),
    );
    const key = await fetch(['--key', keyFile]);
    expect(key.stderr).toContain('[VERIFY_WRONG_KEY]');
    expect(key.code).toBe(12);
    expect(key.written || issuer.written).toBe(false);
  });
});
