// Which transparency log `nodeimg sign` logs to: the local log in a directory (--log dir:PATH, the
// default .nodeimg/tlog), or a Rekor v1 server (--rekor URL or NODEIMG_REKOR_URL: public-good Rekor,
// a private one, or `nodeimg tlog serve`). A remote log's key is never taken from the log itself: it
// is pinned with --log-key FILE (PEM public key, or a trusted_root.json such as `nodeimg tlog pin`
// writes) or NODEIMG_REKOR_LOG_KEY, and for a Rekor listed in the Sigstore public-good trusted root
// shipped in @sigstore/tuf, that root's key is used. The latest checkpoint seen of each log is kept
// in --rekor-state FILE (default .nodeimg/rekor-checkpoints.json) so the next run checks the log
// is still consistent with it (a forked or rewritten log fails with CHECK_FAILED).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CommandIo, OptionSpec, ParsedArgs } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import type { TransparencyLog } from '../ports.js';
import { RekorClient, type SeenCheckpoints } from '../adapters/rekor-client.js';
import { pinnedKey, type PinnedLogKey } from '../adapters/rekor/verify-entry.js';
import { publicGoodTrustedRootJson } from '../adapters/sigstore-verify.js';
import { readSmallFile } from './eventlog-input.js';
import { DEFAULT_LOG, openLocalLog, parseLogRef } from './log.js';

export const REKOR_URL_ENV = 'NODEIMG_REKOR_URL';
export const REKOR_KEY_ENV = 'NODEIMG_REKOR_LOG_KEY';
const DEFAULT_STATE = '.nodeimg/rekor-checkpoints.json';

export const LOG_TARGET_OPTIONS: OptionSpec = {
  log: { type: 'string' },
  rekor: { type: 'string' },
  'log-key': { type: 'string' },
  'rekor-state': { type: 'string' },
};

export const LOG_TARGET_HELP = `  --rekor URL            log to a Rekor v1 server instead (also $${REKOR_URL_ENV}; --log wins):
                         https://rekor.sigstore.dev, a private Rekor, or nodeimg tlog serve
  --log-key FILE         the Rekor's public key, pinned: PEM, or a trusted_root.json (also
                         $${REKOR_KEY_ENV}); for nodeimg tlog serve: nodeimg tlog pin URL -o FILE.
                         Not needed for a Rekor of the Sigstore public-good trusted root
  --rekor-state FILE     the latest checkpoint seen per log, checked for consistency on every
                         run (default ${DEFAULT_STATE})`;

export interface LogTarget {
  /** For messages: `dir:PATH` or the URL. */
  readonly name: string;
  open(): Promise<TransparencyLog>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Parses a pinned log key file: a PEM public key or a Sigstore trusted root (its tlog keys). */
export function parseLogKeys(text: string, source: string, baseUrl?: string): PinnedLogKey[] {
  if (!text.trimStart().startsWith('{')) return [pinnedKey(text, source)];
  let root: { tlogs?: { baseUrl?: unknown; publicKey?: { rawBytes?: unknown; keyDetails?: unknown } }[] };
  try {
    root = JSON.parse(text) as typeof root;
  } catch (err) {
    throw new UsageError(`${source} is neither a PEM public key nor JSON: ${(err as Error).message}`);
  }
  // Rekor v1 logs sign with ECDSA P-256; other tlogs of a root (Rekor v2, Ed25519) are not for this client.
  const tlogs = (Array.isArray(root.tlogs) ? root.tlogs : []).filter(
    (t) =>
      (baseUrl === undefined || t.baseUrl === baseUrl) &&
      (t.publicKey?.keyDetails === undefined || t.publicKey.keyDetails === 'PKIX_ECDSA_P256_SHA_256'),
  );
  const keys = tlogs
    .map((t) => t.publicKey?.rawBytes)
    .filter((b): b is string => typeof b === 'string')
    .map((b, i) => pinnedKey(Buffer.from(b, 'base64'), `${source} tlogs[${i}]`));
  if (keys.length === 0) throw new UsageError(`${source} has no transparency log key`);
  return keys;
}

async function loadState(path: string): Promise<SeenCheckpoints> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SeenCheckpoints;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new NodeimgError('IO_FAILED', `cannot read ${path}: ${(err as Error).message}`);
  }
}

async function saveState(path: string, seen: SeenCheckpoints): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(seen, null, 2)}\n`);
  await rename(tmp, path);
}

export function chooseLog(args: ParsedArgs, io: CommandIo, usage: string): LogTarget {
  const hint = `usage: ${usage}`;
  const dir = str(args.values['log']);
  const rekorFlag = str(args.values['rekor']);
  if (dir !== undefined && rekorFlag !== undefined)
    throw new UsageError('--log and --rekor name two different logs; give one', { hint });
  const rekor = dir === undefined ? (rekorFlag ?? str(io.env[REKOR_URL_ENV])) : undefined;
  if (rekor === undefined) {
    if (str(args.values['log-key']) !== undefined)
      throw new UsageError('--log-key goes with --rekor URL', { hint });
    const path = parseLogRef(dir ?? DEFAULT_LOG, io.cwd, usage);
    return { name: `dir:${path}`, open: () => openLocalLog(path, io) };
  }
  let url: URL;
  try {
    url = new URL(rekor);
  } catch {
    throw new UsageError(`--rekor ${rekor} is not a URL`, { hint });
  }
  const keyFile = str(args.values['log-key']) ?? str(io.env[REKOR_KEY_ENV]);
  const statePath = resolve(io.cwd, str(args.values['rekor-state']) ?? DEFAULT_STATE);
  return {
    name: url.href.replace(/\/+$/, ''),
    async open() {
      let keys: PinnedLogKey[];
      if (keyFile !== undefined) {
        const path = resolve(io.cwd, keyFile);
        keys = parseLogKeys(
          Buffer.from(await readSmallFile(path, 1024 * 1024, 'a log key')).toString('utf8'),
          path,
        );
      } else {
        try {
          keys = parseLogKeys(publicGoodTrustedRootJson(), 'the public-good trusted root', url.origin);
        } catch {
          throw new UsageError(`no pinned key for the log ${url.origin}`, {
            hint: `pin it: --log-key FILE (for nodeimg tlog serve: nodeimg tlog pin ${url.origin} -o log-root.json)`,
          });
        }
      }
      const client = new RekorClient({ baseUrl: url.href, keys, seen: await loadState(statePath) });
      return {
        add: (b) => client.add(b),
        entryByUuid: (id) => client.entryByUuid(id),
        entryByIndex: (i) => client.entryByIndex(i),
        searchBySha256: (h) => client.searchBySha256(h),
        checkpoint: () => client.checkpoint(),
        consistency: (a, b) => client.consistency(a, b),
        async close() {
          await client.close();
          await saveState(statePath, client.seenCheckpoints());
        },
      };
    },
  };
}
