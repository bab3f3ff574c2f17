// The files of a log directory other than the data file, and their durable creation (write to a
// temporary name, fsync, rename, fsync the directory), done under the directory lock:
//   log.json           origin, signer name, tree ID, creation time (Unix seconds)
//   log-key.pem        the log's ECDSA P-256 private key (PKCS#8, mode 0600)
//   log.pub            its SPKI PEM
//   trusted_root.json  a Sigstore trusted root pinning the log key (for verify-bundle)
// log.json is written last: a directory without it holds no log yet (a creation cut short by a
// crash is simply redone), and one with it has all the others.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keyIdOf } from './signed-note.js';

/** The checkpoint signer name; trusted roots made here use `https://<name>` as baseUrl (verifiers match the two). */
export const LOCAL_LOG_NAME = 'nodeimg-local-log';

export interface LocalLogInfo {
  readonly origin: string;
  readonly name: string;
  readonly treeID: string;
  /** Unix seconds when the log was created: the start of its key's validity. */
  readonly createdAt: number;
}

export interface LogIdentity {
  readonly info: LocalLogInfo;
  readonly key: KeyObject;
  readonly publicKeyPem: string;
  readonly publicKeyDer: Buffer;
  readonly logID: Buffer;
}

/** Writes `data` to `path` so that after return it survives a crash, and is never seen half-written. */
export async function writeDurable(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(join(path, '..'));
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The Sigstore trusted root (v0.1 media type) that pins a log's key. */
export function trustedRootOf(id: Omit<LogIdentity, 'key' | 'publicKeyPem'>): Record<string, unknown> {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${id.info.name}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: id.publicKeyDer.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: new Date(id.info.createdAt * 1000).toISOString() },
        },
        logId: { keyId: id.logID.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

function identity(info: LocalLogInfo, key: KeyObject): LogIdentity {
  const pub = createPublicKey(key);
  const publicKeyDer = pub.export({ type: 'spki', format: 'der' });
  return {
    info,
    key,
    publicKeyPem: pub.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyDer,
    logID: keyIdOf(publicKeyDer),
  };
}

/** Loads the log's identity, creating a fresh log (key, tree ID) when log.json does not exist. */
export async function loadOrCreateIdentity(
  dir: string,
  nowMs: number,
): Promise<LogIdentity & { created: boolean }> {
  let infoText: string | undefined;
  try {
    infoText = await readFile(join(dir, 'log.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (infoText !== undefined) {
    const info = JSON.parse(infoText) as LocalLogInfo;
    if (typeof info.origin !== 'string' || typeof info.name !== 'string' || typeof info.treeID !== 'string')
      throw new Error(`${join(dir, 'log.json')} is not a log description`);
    const key = createPrivateKey(await readFile(join(dir, 'log-key.pem'), 'utf8'));
    return { ...identity(info, key), created: false };
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const treeID = BigInt(`0x${randomBytes(7).toString('hex')}`).toString(10);
  const info: LocalLogInfo = {
    origin: `${LOCAL_LOG_NAME} - ${treeID}`,
    name: LOCAL_LOG_NAME,
    treeID,
    createdAt: Math.floor(nowMs / 1000),
  };
  const id = identity(info, privateKey);
  await writeDurable(join(dir, 'log-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
  await writeDurable(join(dir, 'log.pub'), id.publicKeyPem);
  await writeDurable(join(dir, 'trusted_root.json'), `${JSON.stringify(trustedRootOf(id), null, 2)}\n`);
  await writeDurable(join(dir, 'log.json'), `${JSON.stringify(info, null, 2)}\n`);
  return { ...id, created: true };
}
