// `nodeimg sign <file> (--key key.pem|env:NAME | --keyless ...) [--log dir:PATH] [-o out.sigstore.json]`:
// signs a file with a managed ECDSA P-256 key or keyless (Fulcio certificate, sign-signer.ts), logs a
// hashedrekord 0.0.1 entry in the local transparency log and writes a Sigstore bundle v0.3 plus a
// cosign-compatible detached signature.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command, CommandIo } from '../command.js';
import { NodeimgError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { chooseSigner, SIGNER_HELP, SIGNER_OPTIONS } from './sign-signer.js';
import { signArtifact } from '../sign-bundle.js';
import { readSmallFile } from './eventlog-input.js';
import { DEFAULT_LOG } from './log.js';
import { chooseLog, LOG_TARGET_HELP, LOG_TARGET_OPTIONS } from './log-target.js';
import { MAX_ARTIFACT_BYTES } from './verify-bundle.js';

const USAGE =
  'nodeimg sign <file> (--key key.pem|env:NAME | --keyless [--fulcio-url URL] [--identity-token TOKEN|@FILE] [--oidc-issuer URL]) [--log dir:PATH | --rekor URL [--log-key FILE]] [-o out.sigstore.json]';

/** `x.sigstore.json` -> `x.sig`; anything else -> `<name>.sig`. */
export function sigPathFor(bundlePath: string): string {
  return bundlePath.endsWith('.sigstore.json')
    ? `${bundlePath.slice(0, -'.sigstore.json'.length)}.sig`
    : `${bundlePath}.sig`;
}

async function write(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new NodeimgError('IO_FAILED', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export const signCommand: Command = {
  name: 'sign',
  summary:
    'Sign a file with a managed key or keyless (Fulcio), log it in the transparency log, and write a Sigstore bundle.',
  usage: USAGE,
  help: `Signs the exact bytes of <file> (ECDSA P-256, SHA-256), appends a Rekor v1 hashedrekord 0.0.1
entry to the transparency log and writes:
  <out>                  Sigstore bundle v0.3 (application/vnd.dev.sigstore.bundle.v0.3+json):
                         message signature, public key hint (keyless: the Fulcio
                         certificate), the log entry with its signed entry timestamp (SET)
                         and inclusion proof with the signed checkpoint
  <out without .sigstore.json>.sig
                         the signature alone, base64 DER (cosign's detached signature)

options:
${SIGNER_HELP}
  --log dir:PATH         the local transparency log (default ${DEFAULT_LOG}; created with a fresh
                         log key if missing). Verify with:
                           nodeimg log trusted-root --log dir:PATH > trusted_root.json
                           nodeimg verify-bundle --bundle <out> --key key.pub --trusted-root trusted_root.json <file>
                         keyless: add the Fulcio CA and CT log to the root and pin the identity:
                           nodeimg log trusted-root --log dir:PATH --fulcio-ca chain.pem --ctlog-key ct.pub
                           nodeimg verify-bundle --bundle <out> --certificate-identity ID
                             --certificate-oidc-issuer URL --trusted-root trusted_root.json <file>
${LOG_TARGET_HELP}
  -o, --out FILE         the bundle (default <file>.sigstore.json)

Keyless signing cannot be exercised offline against the public-good Fulcio; the test suite runs it
against a local fake Fulcio and OIDC issuer.
`,
  options: { ...SIGNER_OPTIONS, ...LOG_TARGET_OPTIONS, out: { type: 'string', short: 'o' } },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const file = resolve(io.cwd, args.positionals[0] as string);
    const out =
      typeof args.values['out'] === 'string' ? resolve(io.cwd, args.values['out']) : `${file}.sigstore.json`;
    const target = chooseLog(args, io, USAGE);

    const chosen = await chooseSigner(args, io, USAGE);
    const bytes = await readSmallFile(file, MAX_ARTIFACT_BYTES, 'a file to sign');
    const log = await target.open();
    const signed = await signArtifact(bytes, chosen.signer, log).finally(() => log.close());
    const sigPath = sigPathFor(out);
    await write(out, signed.bundleText);
    await write(sigPath, signed.sigText);
    io.stdout.write(
      `signed ${file}\n` +
        `  bundle:    ${out}\n` +
        `  signature: ${sigPath}\n` +
        `  log:       ${target.name} index ${signed.entry.logIndex} (tree size ${signed.entry.inclusionProof.treeSize}), uuid ${signed.entry.uuid}\n` +
        (await chosen.describe()),
    );
    return EXIT.ok;
  },
};
