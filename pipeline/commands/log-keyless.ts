// The keyless options of `nodeimg log trusted-root`: --fulcio-ca chain.pem --ctlog-key ct.pub (a
// private or test Fulcio and its CT log) or --fulcio-ca public-good (the CA and CT logs of the
// Sigstore public-good root shipped in @sigstore/tuf), added to the log's trusted root so that
// `verify-bundle --certificate-identity ... --trusted-root` can check keyless bundles logged there.
import { resolve } from 'node:path';
import type { CommandIo, OptionSpec, ParsedArgs } from '../command.js';
import { UsageError } from '../errors.js';
import { PUBLIC_GOOD_FULCIO_URL } from '../adapters/fulcio/client.js';
import { addKeylessTrust, type KeylessTrust } from '../adapters/fulcio/trusted-root.js';
import { readSmallFile } from './eventlog-input.js';
import { FULCIO_URL_ENV } from './sign-signer.js';

const MAX_PEM_BYTES = 1024 * 1024;

export const KEYLESS_TRUST_OPTIONS: OptionSpec = {
  'fulcio-ca': { type: 'string' },
  'ctlog-key': { type: 'string' },
  'fulcio-url': { type: 'string' },
  'ctlog-url': { type: 'string' },
};

export const KEYLESS_TRUST_HELP = `  --fulcio-ca FILE|public-good
                   trusted-root: also trust this Fulcio CA (PEM: intermediate(s) and root) for
                   keyless bundles; public-good copies the CA and CT logs of the Sigstore
                   public-good root (as shipped in @sigstore/tuf, offline)
  --ctlog-key FILE the CT log public key (PEM) whose SCTs the CA's certificates embed (with
                   --fulcio-ca FILE)
  --fulcio-url URL, --ctlog-url URL
                   the URLs recorded in the root (informational; default $${FULCIO_URL_ENV} or
                   ${PUBLIC_GOOD_FULCIO_URL})`;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `root` with the keyless trust the options ask for (unchanged without --fulcio-ca). */
export async function withKeylessTrust(
  root: Record<string, unknown>,
  args: ParsedArgs,
  io: CommandIo,
  usage: string,
): Promise<Record<string, unknown>> {
  const ca = str(args.values['fulcio-ca']);
  const ct = str(args.values['ctlog-key']);
  const fulcioUrl = str(args.values['fulcio-url']);
  const ctlogUrl = str(args.values['ctlog-url']);
  const hint = `usage: ${usage}`;
  if (ca === undefined) {
    if ((ct ?? fulcioUrl ?? ctlogUrl) !== undefined)
      throw new UsageError('--ctlog-key, --fulcio-url and --ctlog-url need --fulcio-ca', { hint });
    return root;
  }
  if (ca === 'public-good') {
    if ((ct ?? fulcioUrl ?? ctlogUrl) !== undefined)
      throw new UsageError('--fulcio-ca public-good brings its own CT logs and URLs', { hint });
    return addKeylessTrust(root, { kind: 'public-good' });
  }
  if (ct === undefined)
    throw new UsageError('--fulcio-ca FILE needs --ctlog-key FILE (verifiers require an SCT)', { hint });
  const text = async (p: string, what: string): Promise<string> =>
    Buffer.from(await readSmallFile(resolve(io.cwd, p), MAX_PEM_BYTES, what)).toString('utf8');
  const trust: KeylessTrust = {
    kind: 'files',
    caChainPem: await text(ca, 'a PEM certificate chain'),
    ctlogKeyPem: await text(ct, 'a PEM public key'),
    fulcioUrl: fulcioUrl ?? (io.env[FULCIO_URL_ENV] || PUBLIC_GOOD_FULCIO_URL),
    ...(ctlogUrl === undefined ? {} : { ctlogUrl }),
  };
  return addKeylessTrust(root, trust);
}
