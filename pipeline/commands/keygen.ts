// `nodeimg keygen -o DIR`: an ECDSA P-256 key pair for `nodeimg sign --key`: DIR/key.pem (PKCS#8
// PEM, mode 0600, encrypted with AES-256-CBC when NODEIMG_KEY_PASSPHRASE is set) and DIR/key.pub
// (SPKI PEM). Existing files are never overwritten; key material is never printed.
import { generateKeyPairSync, createHash } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command, CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { PASSPHRASE_ENV } from '../adapters/key-signer.js';

const USAGE = 'nodeimg keygen -o DIR';

async function writeNew(path: string, data: string, mode: number): Promise<void> {
  try {
    await writeFile(path, data, { flag: 'wx', mode });
    await chmod(path, mode); // the umask may have taken bits away; 0600 must hold exactly
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`${path} exists; refusing to overwrite a key`, {
        hint: 'choose another -o DIR or remove the old key pair first',
      });
    throw new NodeimgError('IO_FAILED', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'Generate an ECDSA P-256 signing key pair (key.pem, key.pub) for nodeimg sign.',
  usage: USAGE,
  help: `Writes DIR/key.pem (PKCS#8 PEM private key, mode 0600) and DIR/key.pub (SPKI PEM public key,
what verifiers pass to verify-bundle --key). DIR is created if needed. Existing files are never
overwritten. When ${PASSPHRASE_ENV} is set, key.pem is encrypted with it (AES-256-CBC,
PKCS#8 "ENCRYPTED PRIVATE KEY"); nodeimg sign reads the same variable.

options:
  -o, --out DIR    where to write key.pem and key.pub

Prints the paths and the key's hint (base64 SHA-256 of the public key), never key material.
`,
  options: { out: { type: 'string', short: 'o' } },
  positionals: { min: 0, max: 0 },
  async run(args, io: CommandIo): Promise<number> {
    const out = args.values['out'];
    if (typeof out !== 'string') throw new UsageError('-o DIR is required', { hint: `usage: ${USAGE}` });
    const dir = resolve(io.cwd, out);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new NodeimgError('IO_FAILED', `cannot create ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const keyPath = join(dir, 'key.pem');
    const pubPath = join(dir, 'key.pub');
    const passphrase = io.env[PASSPHRASE_ENV];
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem =
      passphrase !== undefined && passphrase !== ''
        ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
        : privateKey.export({ type: 'pkcs8', format: 'pem' });
    const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeNew(keyPath, pem.toString(), 0o600);
    try {
      await writeNew(pubPath, pubPem, 0o644);
    } catch (err) {
      await rm(keyPath, { force: true }); // no half pair left behind
      throw err;
    }
    const hint = createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    io.stdout.write(
      `wrote ${keyPath} (private, mode 0600${passphrase ? `, encrypted with ${PASSPHRASE_ENV}` : ''})\n` +
        `wrote ${pubPath} (public)\n` +
        `  key hint: ${hint}\n`,
    );
    return EXIT.ok;
  },
};
