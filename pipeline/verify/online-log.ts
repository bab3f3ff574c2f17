// Online checks of fetch-measurements against the transparency log itself (issue 9: "online it
// also checks the entry still exists and the log is consistent with the checkpoint in the
// bundle"): the entry is looked up by its UUID, and the log's current signed tree head must be an
// append-only extension of the checkpoint the bundle's inclusion proof was verified against
// (RFC 6962 consistency proof). The log's key comes from the trusted root, never from the log.
import { NodeimgError } from '../errors.js';
import type { TransparencyLog } from '../ports.js';
import { verifyConsistency } from '../adapters/local-log/merkle.js';
import type { OnlineLog } from './fetch-measurements.js';
import type { TlogEntryRef } from './signed-document.js';

function unreachable(url: string, err: unknown): NodeimgError {
  return new NodeimgError(
    'VERIFY_TLOG_UNREACHABLE',
    `the transparency log ${url} cannot be asked (${(err as Error).message}); online verification was required`,
    { hint: 'use --offline to rely on the proofs inside the bundles alone', cause: err },
  );
}

function inconsistent(url: string, message: string, cause?: unknown): NodeimgError {
  return new NodeimgError('VERIFY_TLOG_INCONSISTENT', `the transparency log ${url}: ${message}`, {
    hint: 'the log may have been forked or rewritten: do not trust this release until it is explained',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Errors of the log client that mean "could not ask" rather than "asked and the answer is wrong". */
const isReachability = (err: unknown): boolean =>
  err instanceof NodeimgError &&
  ['IO_FAILED', 'IO_NOT_FOUND', 'TOOL_FAILED', 'PUBLISH_FAILED'].includes(err.code);

export function onlineLog(log: TransparencyLog, url: string): OnlineLog {
  const guard = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (err) {
      if (isReachability(err)) throw unreachable(url, err);
      if (err instanceof NodeimgError && err.code === 'CHECK_FAILED')
        throw inconsistent(url, err.message, err);
      throw err;
    }
  };
  return {
    hasEntry: (e: TlogEntryRef) => guard(async () => (await log.entryByUuid(e.uuid)) !== undefined),
    checkConsistent: (e: TlogEntryRef) =>
      guard(async () => {
        const head = await log.checkpoint();
        if (head.treeSize < e.treeSize)
          throw inconsistent(
            url,
            `its tree has ${head.treeSize} entries, fewer than the ${e.treeSize} the bundle's checkpoint saw`,
          );
        const proof = head.treeSize === e.treeSize ? [] : await log.consistency(e.treeSize, head.treeSize);
        if (
          !verifyConsistency(e.treeSize, head.treeSize, proof, Buffer.from(e.rootHash, 'hex'), head.rootHash)
        )
          throw inconsistent(
            url,
            `its tree of ${head.treeSize} entries is not an extension of the checkpoint (${e.treeSize} entries, root ${e.rootHash}) in the bundle`,
          );
      }),
  };
}
