// `nodeimg tlog pin URL -o FILE`: trust on first use, made explicit. Fetches the trusted root a
// `nodeimg tlog serve` log publishes (GET /api/v1/log/trustedRoot, a nodeimg extension), checks it
// names the key the log serves at /api/v1/log/publicKey and that the log's current checkpoint is
// signed by it, and writes it to FILE for `sign --rekor URL --log-key FILE` and
// `verify-bundle --trusted-root FILE`. It prints the log ID (SHA-256 of the key) to compare, out of
// band, with the one `nodeimg tlog serve` printed. An existing FILE pinning another key is never
// replaced: that is what a changed or impostor log looks like.
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { CommandIo } from '../command.js';
import { CheckFailedError, NodeimgError } from '../errors.js';
import { RekorClient } from '../adapters/rekor-client.js';
import { DEFAULT_RETRY, requestWithRetry } from '../adapters/rekor/http.js';
import { pinnedKey } from '../adapters/rekor/verify-entry.js';
import { parseLogKeys } from './log-target.js';

export async function pinLog(baseUrl: string, out: string, io: CommandIo): Promise<void> {
  const base = baseUrl.replace(/\/+$/, '');
  const policy = { ...DEFAULT_RETRY, retries: 2 };
  const rootRes = await requestWithRetry(`${base}/api/v1/log/trustedRoot`, { method: 'GET' }, policy);
  if (rootRes.status !== 200)
    throw new NodeimgError('IO_FAILED', `${base} has no trusted root to pin (HTTP ${rootRes.status})`, {
      hint: `not a nodeimg tlog serve log? Get its key from ${base}/api/v1/log/publicKey, compare it out of band, and pass it with --log-key`,
    });
  const rootText = rootRes.body.toString('utf8');
  const keys = parseLogKeys(rootText, `${base}/api/v1/log/trustedRoot`);
  const keyRes = await requestWithRetry(
    `${base}/api/v1/log/publicKey`,
    { method: 'GET', accept: 'application/x-pem-file' },
    policy,
  );
  const served = pinnedKey(keyRes.body.toString('utf8'), `${base}/api/v1/log/publicKey`);
  if (keys.length !== 1 || !(keys[0] as { logID: Buffer }).logID.equals(served.logID))
    throw new CheckFailedError(`${base} serves a public key that is not the one in its trusted root`);
  const cp = await new RekorClient({ baseUrl: base, keys, retry: policy }).checkpoint();

  let previous: string | undefined;
  try {
    previous = await readFile(out, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (previous !== undefined) {
    const old = parseLogKeys(previous, out);
    if (!old.some((k) => k.logID.equals(served.logID)))
      throw new CheckFailedError(
        `${out} pins another log key (log ID ${old.map((k) => k.logID.toString('hex')).join(', ')}) than ${base} has now (${served.logID.toString('hex')})`,
        {
          hint: 'if the log was really re-created, remove the file and pin again; otherwise do not trust it',
        },
      );
  }
  const tmp = `${out}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, rootText.endsWith('\n') ? rootText : `${rootText}\n`);
    await rename(tmp, out);
  } catch (err) {
    throw new NodeimgError('IO_FAILED', `cannot write ${out}: ${(err as Error).message}`, { cause: err });
  }
  io.stdout.write(
    `pinned the log at ${base}\n` +
      `  log ID:    ${served.logID.toString('hex')}\n` +
      `  tree size: ${cp.treeSize}\n` +
      `  written:   ${out}\n` +
      'Compare the log ID with the one `nodeimg tlog serve` printed (or its operator publishes).\n',
  );
}
