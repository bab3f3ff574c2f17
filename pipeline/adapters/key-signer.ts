// The managed-key adapter of the Signer port: an ECDSA P-256 private key (PKCS#8 or SEC1 PEM,
// optionally encrypted) from a file or from an environment variable; the passphrase comes from
// NODEIMG_KEY_PASSPHRASE. A key file readable by group or others is refused. Error messages name
// the source of the key, never its content.
// Signatures are deterministic (RFC 6979 nonces, @noble/curves): the same key and bytes always give
// the same signature, so a release that is re-run after an interruption re-creates the very same
// hashedrekord entry (the log answers 409 with the entry it already has) and the same bundle bytes,
// instead of a second, different entry for the same document.
import { createHash, createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { NodeimgError, UsageError } from '../errors.js';
import { p256Sign } from './p256-sign.js';
import type { SignResult, Signer, SignerPublicKey } from '../ports.js';

export const PASSPHRASE_ENV = 'NODEIMG_KEY_PASSPHRASE';
/** Private keys are small; the cap stops reading a wrong file whole. */
const MAX_KEY_BYTES = 64 * 1024;

export class KeySigner implements Signer {
  readonly publicKey: SignerPublicKey;
  readonly hint: string;

  private constructor(private readonly key: KeyObject) {
    const pub = createPublicKey(key);
    const der = pub.export({ type: 'spki', format: 'der' });
    this.publicKey = { pem: pub.export({ type: 'spki', format: 'pem' }).toString(), der };
    this.hint = createHash('sha256').update(der).digest('base64');
  }

  /**
   * `ref` is a PEM file path, or `env:NAME` for an environment variable holding the PEM.
   * `env` supplies the variable and NODEIMG_KEY_PASSPHRASE.
   */
  static async load(ref: string, env: NodeJS.ProcessEnv): Promise<KeySigner> {
    if (ref.startsWith('env:')) {
      const name = ref.slice(4);
      const pem = env[name];
      if (pem === undefined || pem.trim() === '')
        throw new UsageError(`environment variable ${name} (--key ${ref}) is not set or empty`, {
          hint: `export ${name}="$(cat key.pem)"`,
        });
      return KeySigner.fromPem(pem, `environment variable ${name}`, env);
    }
    let st;
    try {
      st = await stat(ref);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED';
      throw new NodeimgError(code, `cannot read the signing key ${ref}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!st.isFile()) throw new NodeimgError('IO_FAILED', `the signing key ${ref} is not a file`);
    if (st.size > MAX_KEY_BYTES) throw new UsageError(`${ref} is too large to be a PEM private key`);
    if ((st.mode & 0o077) !== 0)
      throw new UsageError(
        `the signing key ${ref} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it`,
        { hint: `chmod 600 ${ref}` },
      );
    let pem: string;
    try {
      pem = await readFile(ref, 'utf8');
    } catch (err) {
      throw new NodeimgError('IO_FAILED', `cannot read the signing key ${ref}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return KeySigner.fromPem(pem, ref, env);
  }

  static fromPem(pem: string, source: string, env: NodeJS.ProcessEnv): KeySigner {
    const passphrase = env[PASSPHRASE_ENV];
    const encrypted =
      pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || pem.includes('Proc-Type: 4,ENCRYPTED');
    if (encrypted && (passphrase === undefined || passphrase === ''))
      throw new UsageError(`the signing key in ${source} is encrypted and ${PASSPHRASE_ENV} is not set`, {
        hint: `set ${PASSPHRASE_ENV} to the key's passphrase`,
      });
    let key: KeyObject;
    try {
      key = createPrivateKey(
        encrypted
          ? { key: pem, format: 'pem', passphrase: passphrase as string }
          : { key: pem, format: 'pem' },
      );
    } catch {
      // OpenSSL's message is not shown: it says nothing useful and must never echo key bytes.
      throw new UsageError(
        encrypted
          ? `cannot decrypt the signing key in ${source} (wrong ${PASSPHRASE_ENV}?)`
          : `${source} does not hold a PEM private key`,
        { hint: 'nodeimg keygen -o DIR writes a usable key pair' },
      );
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new UsageError(`the signing key in ${source} is not an ECDSA P-256 key`, {
        hint: 'nodeimg keygen -o DIR writes an ECDSA P-256 key pair',
      });
    return new KeySigner(key);
  }

  sign(bytes: Uint8Array): Promise<SignResult> {
    // prehash (SHA-256 of the bytes), RFC 6979 nonce, DER: what Rekor and cosign expect
    const signature = p256Sign(this.key, bytes);
    // Cheap self-check: a signature the public key does not accept is never handed out.
    if (!verify('sha256', bytes, createPublicKey(this.key), signature))
      throw new NodeimgError('INTERNAL', 'the signing key produced a signature its public key rejects');
    return Promise.resolve({ signature, publicKey: this.publicKey, hint: this.hint });
  }
}
