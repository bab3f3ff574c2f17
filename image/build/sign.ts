// Secure Boot signing of a PE image (a UKI, systemd-boot), reproducibly, two ways:
// - 'nodeimg' (default): nodeimg's own Authenticode PKCS#7 (image/formats/pe/authenticode-sign.ts),
//   no signing time at all, the RSA operation by node:crypto with the PEM key;
// - 'sbsign': sbsign (sbsigntools) under faketime. sbsign puts
// the signing time into the PKCS#7 signingTime attribute (OpenSSL PKCS7_sign adds it), so it runs
// under `faketime -f` with the clock frozen at SOURCE_DATE_EPOCH; RSA PKCS#1 v1.5 signatures are
// deterministic, so the whole signed file is a function of the inputs. sbsign only appends the
// certificate table (and fills DataDirectory[4] and CheckSum), which Authenticode skips: the signed
// file's Authenticode digest is the unsigned file's when that is 8-byte aligned (assembleUki's UKIs
// are; other images, such as objcopy-built systemd-boot, are zero-padded to 8 bytes first, which is
// what sbsign does before hashing anyway). The image goes in and comes out as bytes; the files live
// in a private temporary folder.
import { X509Certificate, createPrivateKey, sign as rsaSign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeimgError } from '../formats/errors.js';
import { signPe, type AuthenticodeSigner } from '../formats/pe/authenticode-sign.js';
import { fakeTimeArgv } from './lab/config.js';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from './run-tool.js';

export interface SecureBootKey {
  /** PEM private key file (unencrypted). */
  readonly key: string;
  /** PEM X.509 certificate file. */
  readonly cert: string;
}

export interface SignOptions extends SecureBootKey {
  /** Who builds the signature; default 'nodeimg'. */
  readonly tool?: 'nodeimg' | 'sbsign';
  /** sbsign: the signing time (and the faked clock); default DEFAULT_SOURCE_DATE_EPOCH. */
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
}

/** sbsign `input` to `output` with the clock frozen at the epoch. */
export async function sbsignFile(input: string, output: string, opts: SignOptions): Promise<void> {
  const epoch = opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  const [file, args] = fakeTimeArgv(epoch, 'sbsign', [
    '--key',
    opts.key,
    '--cert',
    opts.cert,
    '--output',
    output,
    input,
  ]);
  await runTool(file, args, {
    sourceDateEpoch: epoch,
    timeoutMs: 120_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** `image` zero-padded to a multiple of 8 bytes (what sbsign hashes and signs). */
export function padTo8(image: Uint8Array): Uint8Array {
  if (image.length % 8 === 0) return image;
  const out = new Uint8Array(Math.ceil(image.length / 8) * 8);
  out.set(image);
  return out;
}

/** An Authenticode signer over a PEM RSA key and certificate (files). */
export async function pemSigner(key: SecureBootKey): Promise<AuthenticodeSigner> {
  const [keyPem, certPem] = await Promise.all([readFile(key.key), readFile(key.cert)]).catch(
    (err: unknown) => {
      throw new NodeimgError(
        'IO_NOT_FOUND',
        `cannot read the signing key or certificate: ${(err as Error).message}`,
        { cause: err },
      );
    },
  );
  const privateKey = createPrivateKey(keyPem);
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new NodeimgError(
      'USAGE',
      `the Secure Boot key is ${privateKey.asymmetricKeyType ?? 'unknown'}, not RSA`,
      { hint: 'UEFI Secure Boot verifies RSA-2048 PKCS#1 v1.5 signatures' },
    );
  }
  const certificate = new Uint8Array(new X509Certificate(certPem).raw);
  return { certificate, sign: (data) => new Uint8Array(rsaSign('sha256', data, privateKey)) };
}

/**
 * The signed copy of `image`. Its Authenticode digest equals that of padTo8(image), i.e. of `image`
 * itself when it is 8-byte aligned.
 */
export async function signPeImage(unpadded: Uint8Array, opts: SignOptions): Promise<Uint8Array> {
  const image = padTo8(unpadded);
  if ((opts.tool ?? 'nodeimg') === 'nodeimg') return signPe(image, await pemSigner(opts));
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-sign-'));
  try {
    const input = join(dir, 'image.efi');
    const output = join(dir, 'image.signed.efi');
    await writeFile(input, image);
    await sbsignFile(input, output, opts);
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
