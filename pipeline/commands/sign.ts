// `nodeimg sign <file> --key key.pem|env:NAME [--log dir:PATH] [-o out.sigstore.json]`: signs a file
// with a managed ECDSA P-256 key, logs a hashedrekord 0.0.1 entry in the local transparency log and
// writes a Sigstore bundle v0.3 plus a cosign-compatible detached signature.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command, CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { KeySigner, PASSPHRASE_ENV } from '../adapters/key-signer.js';
import { signArtifact } from '../sign-bundle.js';
import { readSmallFile } from './eventlog-input.js';
import { DEFAULT_LOG, openLocalLog, parseLogRef } from './log.js';
import { MAX_ARTIFACT_BYTES } from './verify-bundle.js';

const USAGE = 'nodeimg sign <file> --key key.pem|env:NAME [--log dir:PATH] [-o out.sigstore.json]';

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
    'Sign a file with a managed key, log it in the local transparency log, and write a Sigstore bundle.',
  usage: USAGE,
  help: `Signs the exact bytes of <file> (ECDSA P-256, SHA-256), appends a Rekor v1 hashedrekord 0.0.1
entry to the transparency log and writes:
  <out>                  Sigstore bundle v0.3 (application/vnd.dev.sigstore.bundle.v0.3+json):
                         message signature, public key hint, the log entry with its signed entry
                         timestamp (SET) and inclusion proof with the signed checkpoint
  <out without .sigstore.json>.sig
                         the signature alone, base64 DER (cosign's detached signature)

options:
  --key FILE|env:NAME    ECDSA P-256 private key, PEM (PKCS#8 or SEC1, optionally encrypted:
                         passphrase in ${PASSPHRASE_ENV}); a file must not be readable by group or
                         others (chmod 600); env:NAME reads the PEM from that environment variable
  --log dir:PATH         the local transparency log (default ${DEFAULT_LOG}; created with a fresh
                         log key if missing). Verify with:
                           nodeimg log trusted-root --log dir:PATH > trusted_root.json
                           nodeimg verify-bundle --bundle <out> --key key.pub --trusted-root trusted_root.json <file>
  -o, --out FILE         the bundle (default <file>.sigstore.json)

Public Rekor and keyless (Fulcio) signing are not implemented yet.
`,
  options: { key: { type: 'string' }, log: { type: 'string' }, out: { type: 'string', short: 'o' } },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const keyRef = args.values['key'];
    if (typeof keyRef !== 'string') throw new UsageError('--key is required', { hint: `usage: ${USAGE}` });
    const file = resolve(io.cwd, args.positionals[0] as string);
    const out =
      typeof args.values['out'] === 'string' ? resolve(io.cwd, args.values['out']) : `${file}.sigstore.json`;
    const logDir = parseLogRef(
      typeof args.values['log'] === 'string' ? args.values['log'] : DEFAULT_LOG,
      io.cwd,
      USAGE,
    );

    const signer = await KeySigner.load(keyRef.startsWith('env:') ? keyRef : resolve(io.cwd, keyRef), io.env);
    const bytes = await readSmallFile(file, MAX_ARTIFACT_BYTES, 'a file to sign');
    const log = await openLocalLog(logDir);
    const signed = await signArtifact(bytes, signer, log);
    const sigPath = sigPathFor(out);
    await write(out, signed.bundleText);
    await write(sigPath, signed.sigText);
    io.stdout.write(
      `signed ${file}\n` +
        `  bundle:    ${out}\n` +
        `  signature: ${sigPath}\n` +
        `  log:       ${logDir} index ${signed.entry.logIndex} (tree size ${signed.entry.inclusionProof.treeSize}), uuid ${signed.entry.uuid}\n` +
        `  key hint:  ${signer.hint}\n`,
    );
    return EXIT.ok;
  },
};
