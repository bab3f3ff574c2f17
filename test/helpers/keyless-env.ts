// The keyless signing test environment: a fake OIDC issuer of its own (email and sub tokens), a fake
// GitHub Actions issuer (iss https://token.actions.githubusercontent.com, job_workflow_ref claims,
// token endpoint), and a fake Fulcio that trusts both; plus the CA chain and CT log key written to
// files for `nodeimg log trusted-root --fulcio-ca ... --ctlog-key ...`. The GitHub Actions and
// SIGSTORE_ID_TOKEN variables of the real environment are set aside while it runs, so that a test
// run inside GitHub Actions never fetches a real token.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../pipeline/ports.js';
import { startFakeFulcio, type FakeFulcio } from './fake-fulcio.js';
import { startFakeOidc, type FakeOidc } from './fake-oidc.js';

export const GHA_ISSUER = 'https://token.actions.githubusercontent.com';
export const GHA_WORKFLOW = 'OWNER/REPO/.github/workflows/release.yml@refs/heads/main';
export const GHA_IDENTITY = `https://github.com/${GHA_WORKFLOW}`;
const ENV_VARS = [
  'SIGSTORE_ID_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'NODEIMG_FULCIO_URL',
];

export interface KeylessEnv {
  readonly oidc: FakeOidc;
  readonly gha: FakeOidc;
  readonly fulcio: FakeFulcio;
  readonly caPem: string;
  readonly ctPub: string;
  close(): Promise<void>;
}

export async function startKeylessEnv(dir: string, clock?: Clock): Promise<KeylessEnv> {
  const saved = new Map(ENV_VARS.map((k) => [k, process.env[k]]));
  for (const k of ENV_VARS) delete process.env[k];
  const nowSeconds = clock ? (): number => Math.floor(clock.now() / 1000) : undefined;
  const oidc = await startFakeOidc(nowSeconds ? { nowSeconds } : {});
  const gha = await startFakeOidc({ issuer: GHA_ISSUER, ...(nowSeconds ? { nowSeconds } : {}) });
  gha.ghaClaims = {
    sub: 'repo:OWNER/REPO:ref:refs/heads/main',
    repository: 'OWNER/REPO',
    ref: 'refs/heads/main',
    workflow_ref: GHA_WORKFLOW,
    job_workflow_ref: GHA_WORKFLOW,
  };
  const fulcio = await startFakeFulcio({
    issuers: { [oidc.issuer]: oidc.jwksUrl, [GHA_ISSUER]: gha.jwksUrl },
    ...(clock ? { clock } : {}),
  });
  const caPem = join(dir, 'fulcio-chain.pem');
  const ctPub = join(dir, 'ctlog.pub');
  writeFileSync(caPem, fulcio.caChainPem);
  writeFileSync(ctPub, fulcio.ctlogKeyPem);
  return {
    oidc,
    gha,
    fulcio,
    caPem,
    ctPub,
    async close() {
      await Promise.all([oidc.close(), gha.close(), fulcio.close()]);
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
