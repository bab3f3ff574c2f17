// Which Signer `nodeimg sign` uses: a managed key (--key FILE|env:NAME) or keyless (--keyless: an OIDC
// identity token -> ephemeral key -> Fulcio certificate). The two exclude each other; the keyless
// options are refused without --keyless so that a forgotten flag never signs with something else.
import { resolve } from 'node:path';
import type { CommandIo, OptionSpec, ParsedArgs } from '../command.js';
import { UsageError } from '../errors.js';
import type { Signer } from '../ports.js';
import { KeySigner } from '../adapters/key-signer.js';
import { FulcioSigner } from '../adapters/fulcio-signer.js';
import { PUBLIC_GOOD_FULCIO_URL } from '../adapters/fulcio/client.js';
import { getIdentityToken, SIGSTORE_ID_TOKEN_ENV } from '../adapters/fulcio/identity-token.js';
import { systemClock } from '../adapters/system-clock.js';
import { readSmallFile } from './eventlog-input.js';

export const FULCIO_URL_ENV = 'NODEIMG_FULCIO_URL';
const MAX_TOKEN_BYTES = 64 * 1024;

export const SIGNER_OPTIONS: OptionSpec = {
  key: { type: 'string' },
  keyless: { type: 'boolean' },
  'fulcio-url': { type: 'string' },
  'identity-token': { type: 'string' },
  'oidc-issuer': { type: 'string' },
};

export const SIGNER_HELP = `  --key FILE|env:NAME    managed key: ECDSA P-256 private key, PEM (PKCS#8 or SEC1, optionally
                         encrypted: passphrase in NODEIMG_KEY_PASSPHRASE); a file must not be
                         readable by group or others (chmod 600); env:NAME reads the PEM from
                         that environment variable
  --keyless              keyless: an ephemeral P-256 key (in memory only) certified by Fulcio for
                         the identity of an OIDC token; the bundle carries the certificate.
                         Token sources, first found wins: --identity-token, ${SIGSTORE_ID_TOKEN_ENV},
                         GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, audience sigstore;
                         the job needs \`permissions: id-token: write\`)
  --fulcio-url URL       Fulcio (default $${FULCIO_URL_ENV}, else ${PUBLIC_GOOD_FULCIO_URL})
  --identity-token TOKEN|@FILE
                         the OIDC token itself, or @FILE to read it from a file
  --oidc-issuer URL      the issuer the token (and so the certificate) must name; refuses others`;

export interface ChosenSigner {
  readonly signer: Signer;
  /** Lines for the command's report: the key hint, or the certified identity. */
  describe(): Promise<string>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export async function chooseSigner(args: ParsedArgs, io: CommandIo, usage: string): Promise<ChosenSigner> {
  const hint = `usage: ${usage}`;
  const keyRef = str(args.values['key']);
  const keyless = args.values['keyless'] === true;
  const fulcioFlag = str(args.values['fulcio-url']);
  const tokenFlag = str(args.values['identity-token']);
  const issuer = str(args.values['oidc-issuer']);
  if (keyless && keyRef !== undefined)
    throw new UsageError('--key and --keyless exclude each other', { hint });
  if (!keyless && (fulcioFlag ?? tokenFlag ?? issuer) !== undefined)
    throw new UsageError('--fulcio-url, --identity-token and --oidc-issuer need --keyless', { hint });
  if (!keyless) {
    if (keyRef === undefined) throw new UsageError('--key or --keyless is required', { hint });
    const signer = await KeySigner.load(keyRef.startsWith('env:') ? keyRef : resolve(io.cwd, keyRef), io.env);
    return { signer, describe: () => Promise.resolve(`  key hint:  ${signer.hint}\n`) };
  }
  const explicit =
    tokenFlag === undefined
      ? undefined
      : tokenFlag.startsWith('@')
        ? {
            token: Buffer.from(
              await readSmallFile(resolve(io.cwd, tokenFlag.slice(1)), MAX_TOKEN_BYTES, 'an identity token'),
            ).toString('utf8'),
            source: `--identity-token ${tokenFlag}`,
          }
        : { token: tokenFlag, source: '--identity-token' };
  const identityToken = await getIdentityToken({ env: io.env, ...(explicit ? { explicit } : {}) });
  const fulcioUrl = fulcioFlag ?? (io.env[FULCIO_URL_ENV] || PUBLIC_GOOD_FULCIO_URL);
  const signer = new FulcioSigner({
    fulcioUrl,
    identityToken,
    clock: systemClock,
    ...(issuer === undefined ? {} : { expectedIssuer: issuer }),
  });
  return {
    signer,
    async describe() {
      const id = await signer.identity();
      return (
        `  identity:  ${id.identity}\n` +
        `  issuer:    ${id.issuer}\n` +
        `  certificate: Fulcio ${fulcioUrl}, valid ${id.notBefore.toISOString()} .. ${id.notAfter.toISOString()} (token from ${identityToken.source})\n`
      );
    },
  };
}
