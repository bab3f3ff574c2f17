// A local, append-only transparency log in a directory, Rekor v1 style (hashedrekord 0.0.1): the
// embedded default log of `nodeimg sign`. Layout of DIR:
//   log.json              origin, signer name, tree ID, creation time (Unix seconds)
//   log-key.pem           the log's ECDSA P-256 private key (PKCS#8, mode 0600)
//   log.pub               its SPKI PEM
//   trusted_root.json     a Sigstore trusted root pinning the log key (for verify-bundle)
//   entries/NNNNNNNNNNNN.json  one file per entry: {logIndex, integratedTime, uuid, body (base64)}
// An entry file is written to tmp/ and hard-linked to its index: link() is atomic and never
// overwrites, so an index is claimed by exactly one complete entry, also between processes.
// Leaves are SHA-256(0x00 || canonical body) (RFC 6962), checkpoints are signed notes as Rekor v1
// writes them, and the SET is the log key's signature over canonical JSON of
// {body, integratedTime, logID, logIndex}. Time comes from the injected Clock only.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { chmod, link, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../ports.js';
import { canonicalize } from './canonical-json.js';
import { parseHashedRekordBody } from './hashedrekord.js';
import { consistencyProof, inclusionProof, leafHash, rootHash } from './merkle.js';

/** The checkpoint signer name; trusted roots made here use `https://<name>` as baseUrl (verifiers match the two). */
export const LOCAL_LOG_NAME = 'nodeimg-local-log';

export interface LocalLogInfo {
  readonly origin: string;
  readonly name: string;
  readonly treeID: string;
  /** Unix seconds when the log was created: the start of its key's validity. */
  readonly createdAt: number;
}

export interface InclusionProof {
  readonly logIndex: number;
  readonly treeSize: number;
  readonly rootHash: Buffer;
  readonly hashes: readonly Buffer[];
  /** The signed note for (treeSize, rootHash). */
  readonly checkpoint: string;
}

export interface LogEntry {
  /** hex SHA-256(0x00 || body): the RFC 6962 leaf hash. */
  readonly uuid: string;
  /** 16 hex digits of the tree ID, then the UUID. */
  readonly entryID: string;
  readonly logIndex: number;
  readonly integratedTime: number;
  readonly body: Buffer;
  /** SHA-256 of the log key's DER SPKI. */
  readonly logID: Buffer;
  readonly signedEntryTimestamp: Buffer;
  readonly inclusionProof: InclusionProof;
}

interface StoredEntry {
  readonly logIndex: number;
  readonly integratedTime: number;
  readonly uuid: string;
  readonly body: string;
}

const pad = (i: number): string => String(i).padStart(12, '0');
const isErrno = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException).code === code;

export class LocalLog {
  private constructor(
    readonly dir: string,
    readonly info: LocalLogInfo,
    private readonly key: KeyObject,
    readonly publicKeyPem: string,
    readonly publicKeyDer: Buffer,
    private readonly clock: Clock,
  ) {}

  get logID(): Buffer {
    return createHash('sha256').update(this.publicKeyDer).digest();
  }

  /** Opens the log in `dir`, creating it (with a fresh log key) when it does not exist yet. */
  static async open(dir: string, clock: Clock): Promise<LocalLog> {
    try {
      return await LocalLog.load(dir, clock);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    await LocalLog.create(dir, clock);
    return LocalLog.load(dir, clock);
  }

  private static async load(dir: string, clock: Clock): Promise<LocalLog> {
    const info = JSON.parse(await readFile(join(dir, 'log.json'), 'utf8')) as LocalLogInfo;
    const key = createPrivateKey(await readFile(join(dir, 'log-key.pem'), 'utf8'));
    const pub = createPublicKey(key);
    const pem = pub.export({ type: 'spki', format: 'pem' }).toString();
    const der = pub.export({ type: 'spki', format: 'der' });
    return new LocalLog(dir, info, key, pem, der, clock);
  }

  private static async create(dir: string, clock: Clock): Promise<void> {
    await mkdir(join(dir, 'entries'), { recursive: true });
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const treeID = BigInt(`0x${randomBytes(7).toString('hex')}`).toString(10);
    const info: LocalLogInfo = {
      origin: `${LOCAL_LOG_NAME} - ${treeID}`,
      name: LOCAL_LOG_NAME,
      treeID,
      createdAt: Math.floor(clock.now() / 1000),
    };
    const keyPath = join(dir, 'log-key.pem');
    // 'wx': a concurrent creator loses here and then loads the winner's log.
    try {
      await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        flag: 'wx',
        mode: 0o600,
      });
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return;
      throw err;
    }
    await chmod(keyPath, 0o600);
    await writeFile(join(dir, 'log.pub'), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    const log = new LocalLog(
      dir,
      info,
      privateKey,
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      publicKey.export({ type: 'spki', format: 'der' }),
      clock,
    );
    await writeFile(join(dir, 'trusted_root.json'), `${JSON.stringify(log.trustedRoot(), null, 2)}\n`);
    await writeFile(join(dir, 'log.json'), `${JSON.stringify(info, null, 2)}\n`, { flag: 'wx' });
  }

  /** The Sigstore trusted root (v0.1 media type) that pins this log's key. */
  trustedRoot(): Record<string, unknown> {
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: `https://${this.info.name}`,
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: this.publicKeyDer.toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: { start: new Date(this.info.createdAt * 1000).toISOString() },
          },
          logId: { keyId: this.logID.toString('base64') },
        },
      ],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    };
  }

  private async stored(): Promise<StoredEntry[]> {
    const names = (await readdir(join(this.dir, 'entries'))).filter((n) => /^\d{12}\.json$/.test(n)).sort();
    const out: StoredEntry[] = [];
    for (const [i, name] of names.entries()) {
      const e = JSON.parse(await readFile(join(this.dir, 'entries', name), 'utf8')) as StoredEntry;
      if (name !== `${pad(i)}.json` || e.logIndex !== i)
        throw new Error(`local log ${this.dir}: entries are not contiguous at index ${i} (${name})`);
      if (leafHash(Buffer.from(e.body, 'base64')).toString('hex') !== e.uuid)
        throw new Error(`local log ${this.dir}: entry ${i} does not hash to its UUID`);
      out.push(e);
    }
    return out;
  }

  /** Number of entries. */
  async size(): Promise<number> {
    return (await this.stored()).length;
  }

  /**
   * Appends a canonical hashedrekord 0.0.1 body and returns the entry with its SET and an inclusion
   * proof against a fresh checkpoint. An identical body already in the log is returned as it is
   * (Rekor's 409 + fetch).
   */
  async add(body: Uint8Array): Promise<LogEntry> {
    parseHashedRekordBody(body);
    const bodyB64 = Buffer.from(body).toString('base64');
    const uuid = leafHash(body).toString('hex');
    const tmp = join(this.dir, 'tmp', `${uuid}.${randomBytes(6).toString('hex')}`);
    for (;;) {
      const entries = await this.stored();
      const existing = entries.find((e) => e.uuid === uuid);
      if (existing) return this.entry(existing.logIndex);
      const stored: StoredEntry = {
        logIndex: entries.length,
        integratedTime: Math.floor(this.clock.now() / 1000),
        uuid,
        body: bodyB64,
      };
      await writeFile(tmp, `${JSON.stringify(stored)}\n`, { flush: true });
      try {
        await link(tmp, join(this.dir, 'entries', `${pad(stored.logIndex)}.json`));
        return await this.entry(stored.logIndex);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err; // another writer took the index: try the next one
      } finally {
        await rm(tmp, { force: true });
      }
    }
  }

  /** The entry at `logIndex`, with an inclusion proof in the current tree. */
  async entry(logIndex: number): Promise<LogEntry> {
    const entries = await this.stored();
    const e = entries[logIndex];
    if (e === undefined) throw new RangeError(`local log ${this.dir}: no entry ${logIndex}`);
    const leaves = entries.map((x) => Buffer.from(x.uuid, 'hex'));
    const body = Buffer.from(e.body, 'base64');
    const root = rootHash(leaves);
    const logID = this.logID;
    const set = this.sign(
      canonicalize({
        body: e.body,
        integratedTime: e.integratedTime,
        logID: logID.toString('hex'),
        logIndex: e.logIndex,
      }),
    );
    return {
      uuid: e.uuid,
      entryID: `${BigInt(this.info.treeID).toString(16).padStart(16, '0')}${e.uuid}`,
      logIndex: e.logIndex,
      integratedTime: e.integratedTime,
      body,
      logID,
      signedEntryTimestamp: set,
      inclusionProof: {
        logIndex: e.logIndex,
        treeSize: leaves.length,
        rootHash: root,
        hashes: inclusionProof(e.logIndex, leaves),
        checkpoint: this.signedNote(leaves.length, root),
      },
    };
  }

  /** The signed checkpoint of the tree of the first `size` entries (default: all). */
  async checkpoint(size?: number): Promise<{ treeSize: number; rootHash: Buffer; checkpoint: string }> {
    const leaves = (await this.stored()).map((x) => Buffer.from(x.uuid, 'hex'));
    const n = size ?? leaves.length;
    if (n < 0 || n > leaves.length) throw new RangeError(`local log ${this.dir}: no tree of size ${n}`);
    const root = rootHash(leaves.slice(0, n));
    return { treeSize: n, rootHash: root, checkpoint: this.signedNote(n, root) };
  }

  /** RFC 6962 consistency proof from tree size `first` to `last` (default: the current size). */
  async consistency(first: number, last?: number): Promise<Buffer[]> {
    const leaves = (await this.stored()).map((x) => Buffer.from(x.uuid, 'hex'));
    const n = last ?? leaves.length;
    if (n > leaves.length) throw new RangeError(`local log ${this.dir}: no tree of size ${n}`);
    return consistencyProof(first, leaves.slice(0, n));
  }

  private signedNote(treeSize: number, root: Buffer): string {
    const note = `${this.info.origin}\n${treeSize}\n${root.toString('base64')}\n`;
    const sig = Buffer.concat([this.logID.subarray(0, 4), this.sign(note)]);
    return `${note}\n\u2014 ${this.info.name} ${sig.toString('base64')}\n`;
  }

  private sign(text: string): Buffer {
    return sign('sha256', Buffer.from(text, 'utf8'), this.key);
  }
}
