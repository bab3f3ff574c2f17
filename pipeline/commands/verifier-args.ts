// The options every command that verifies a published release shares (fetch-measurements,
// reproduce): which release (--version, --ref, --stream), where (--store), whom to trust (--key or
// a keyless identity, --trusted-root pinning the log), how to check the log (--offline, or --rekor
// online with the pinned key), and the rollback state. Parsed into a VerifyRequest, in one place.
import { resolve } from 'node:path';
import type { OptionSpec, ParsedArgs, CommandIo } from '../command.js';
import { UsageError } from '../errors.js';
import type { ObjectStore } from '../ports.js';
import type { RekorClient } from '../adapters/rekor-client.js';
import { parseStoreRef } from '../adapters/store/store-ref.js';
import { coordinates } from '../release/names.js';
import type { FetchRequest, OnlineLog } from '../verify/fetch-measurements.js';
import { RollbackState, defaultStatePath } from '../verify/rollback-state.js';
import { POLICY_OPTIONS, policyFromArgs, readTrustFile } from './bundle-policy.js';

export const VERIFIER_OPTIONS: OptionSpec = {
  version: { type: 'string' },
  ref: { type: 'string' },
  stream: { type: 'string' },
  store: { type: 'string' },
  ...POLICY_OPTIONS,
  'trusted-root': { type: 'string' },
  offline: { type: 'boolean' },
  rekor: { type: 'string' },
  state: { type: 'string' },
  'allow-rollback': { type: 'boolean' },
};

/** The log keys pinned in the trusted root (Rekor v1 logs: ECDSA P-256). Online only: loaded lazily. */
export async function pinnedLogKeys(rootJson: string, source: string) {
  const { pinnedKey } = await import('../adapters/rekor/verify-entry.js');
  const root = JSON.parse(rootJson) as { tlogs?: { publicKey?: { rawBytes?: string } }[] };
  const keys = (root.tlogs ?? []).flatMap((t) =>
    t.publicKey?.rawBytes === undefined
      ? []
      : [pinnedKey(Buffer.from(t.publicKey.rawBytes, 'base64'), source)],
  );
  if (keys.length === 0) throw new UsageError(`${source} pins no transparency log key`);
  return keys;
}

export interface VerifierSetup {
  readonly request: FetchRequest & { readonly store: ObjectStore };
  /** Set online: close it when done. */
  readonly client: RekorClient | undefined;
}

export async function verifierArgs(
  args: ParsedArgs,
  io: CommandIo,
  usage: string,
  opts: { readonly rekorFromEnv?: boolean } = {},
): Promise<VerifierSetup> {
  const v = args.values;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const hint = `usage: ${usage}`;
  const version = str('version');
  const storeRef = str('store');
  if (version === undefined) throw new UsageError('--version is required', { hint });
  if (storeRef === undefined) throw new UsageError('--store is required', { hint });
  const coords = coordinates(version, str('ref') ?? '-', str('stream') ?? 'stable');
  const rekor = str('rekor') ?? (opts.rekorFromEnv === true ? io.env['NODEIMG_REKOR_URL'] : undefined);
  const offline = v['offline'] === true;
  if (offline && str('rekor') !== undefined)
    throw new UsageError('--offline and --rekor exclude each other', { hint });
  if (!offline && rekor === undefined)
    throw new UsageError('say how to check the transparency log: --rekor URL (online) or --offline', {
      hint,
    });
  const rootPath = str('trusted-root');
  const trustedRootJson =
    rootPath === undefined ? undefined : await readTrustFile(rootPath, 'a trusted root');
  const policy = await policyFromArgs(args, usage);
  const store = parseStoreRef(storeRef, { cwd: io.cwd, env: io.env });
  const state = await RollbackState.load(resolve(io.cwd, str('state') ?? defaultStatePath(io.env)));
  let client: RekorClient | undefined;
  let online: OnlineLog | undefined;
  if (!offline && rekor !== undefined) {
    if (trustedRootJson === undefined || rootPath === undefined)
      throw new UsageError(
        '--rekor needs --trusted-root: the log key must be pinned, not taken from the log',
        { hint },
      );
    // loaded only online: the client and its crypto cost ~0.2 s of start-up (bench/fetch-measurements.mjs)
    const { RekorClient } = await import('../adapters/rekor-client.js');
    const { onlineLog } = await import('../verify/online-log.js');
    client = new RekorClient({ baseUrl: rekor, keys: await pinnedLogKeys(trustedRootJson, rootPath) });
    online = onlineLog(client, rekor);
  }
  return {
    client,
    request: {
      store,
      coords,
      policy,
      state,
      allowRollback: v['allow-rollback'] === true,
      ...(trustedRootJson === undefined ? {} : { trustedRootJson }),
      ...(online === undefined ? {} : { online }),
    },
  };
}
