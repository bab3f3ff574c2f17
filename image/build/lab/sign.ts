// Secure Boot signing for the lab: sbsign with Debian's snakeoil test key (enrolled in
// OVMF_VARS_4M.snakeoil.fd). sbsign stamps the signing time into the PKCS#7 signingTime
// attribute, so it runs under faketime at SOURCE_DATE_EPOCH, which makes the signature
// reproducible too (RSA PKCS#1 v1.5 signatures are deterministic).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';
import { SNAKEOIL, fakeTimeArgv } from './config.js';

export interface SigningKey {
  /** Unencrypted PEM private key. */
  readonly key: string;
  readonly cert: string;
}

/** Runs `fn` with a decrypted copy of the snakeoil key in a private temporary folder. */
export async function withSnakeoilKey<T>(fn: (key: SigningKey) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-key-'));
  try {
    const key = join(dir, 'snakeoil.key');
    await runTool('openssl', [
      'pkey',
      '-in',
      SNAKEOIL.key,
      '-passin',
      `pass:${SNAKEOIL.passphrase}`,
      '-out',
      key,
    ]);
    return await fn({ key, cert: SNAKEOIL.cert });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** sbsign `input` to `output` with the clock frozen at `epoch`. */
export async function sbsign(
  key: SigningKey,
  input: string,
  output: string,
  epoch: number = DEFAULT_SOURCE_DATE_EPOCH,
): Promise<void> {
  const [file, args] = fakeTimeArgv(epoch, 'sbsign', [
    '--key',
    key.key,
    '--cert',
    key.cert,
    '--output',
    output,
    input,
  ]);
  await runTool(file, args, { sourceDateEpoch: epoch, timeoutMs: 120_000 });
}
