// Who a verifier trusts as the signer, from the sigstore-conformance style options shared by
// verify-bundle and fetch-measurements: `--key key.pub`, or `--certificate-identity ID` with
// `--certificate-oidc-issuer URL` (keyless), never both, never neither.
import type { OptionSpec, ParsedArgs } from '../command.js';
import { UsageError } from '../errors.js';
import type { BundlePolicy } from '../adapters/sigstore-verify.js';
import { readSmallFile } from './read-small-file.js';

export const POLICY_OPTIONS: OptionSpec = {
  key: { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
};

/** Keys and trusted roots are a few KiB; the cap only stops reading a wrong file whole. */
export const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

export async function readTrustFile(path: string, what: string): Promise<string> {
  return Buffer.from(await readSmallFile(path, MAX_TRUST_FILE_BYTES, what)).toString('utf8');
}

export async function policyFromArgs(args: ParsedArgs, usage: string): Promise<BundlePolicy> {
  const str = (k: string): string | undefined =>
    typeof args.values[k] === 'string' ? (args.values[k] as string) : undefined;
  const keyPath = str('key');
  const identity = str('certificate-identity');
  const issuer = str('certificate-oidc-issuer');
  const hint = `usage: ${usage}`;
  if (keyPath !== undefined && (identity !== undefined || issuer !== undefined))
    throw new UsageError('--key and --certificate-identity/--certificate-oidc-issuer exclude each other', {
      hint,
    });
  if (keyPath === undefined && (identity === undefined || issuer === undefined))
    throw new UsageError('give --key, or both --certificate-identity and --certificate-oidc-issuer', {
      hint,
    });
  return keyPath !== undefined
    ? { kind: 'key', publicKeyPem: await readTrustFile(keyPath, 'a PEM public key') }
    : { kind: 'identity', identity: identity as string, issuer: issuer as string };
}
