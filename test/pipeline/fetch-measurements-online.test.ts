// `nodeimg fetch-measurements --rekor URL` against a real transparency log server on 127.0.0.1
// (nodeimg's own Rekor v1 server over the local log, `nodeimg tlog serve`'s code): the log that
// logged the release passes; a forked log under the same key, one that holds the release's
// entries but tells another history (an entry before them differs), fails with 17
// VERIFY_TLOG_INCONSISTENT, because its tree cannot be proven consistent with the checkpoints in
// the release's bundles; nothing is written either way on failure.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import { DirStore } from '../../pipeline/adapters/store/dir-store.js';
import { startTlogServer } from '../../pipeline/adapters/tlog-server.js';
import { signArtifact } from '../../pipeline/sign-bundle.js';
import { run } from '../helpers/cli.js';
import { FIXED_CLOCK, releaseFixture, type ReleaseFixture } from '../helpers/release-store.js';

let tmp: string;
let fx: ReleaseFixture;
let store: string;
let fork: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-fetch-online-'));
  fx = await releaseFixture(join(tmp, 'fixture'));
  // the fork starts from the same empty log (same key), before the release is logged
  fork = join(tmp, 'fork');
  await cp(fx.logDir, fork, { recursive: true });
  await rm(join(fork, 'lock'), { force: true });
  store = join(tmp, 'store');
  await fx.publish(new DirStore(store));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const args = (url: string, out: string) => [
  'fetch-measurements',
  '--version',
  'v1.0.0',
  '--store',
  `dir:${store}`,
  '--key',
  fx.keyPub,
  '--trusted-root',
  fx.trustedRoot,
  '--rekor',
  url,
  '--state',
  join(tmp, `${out}.state.json`),
  '-o',
  join(tmp, out),
];

/** Every log entry body the release's bundles carry, in log order. */
async function releaseBodies(): Promise<Buffer[]> {
  const ds = new DirStore(store);
  const entries: { index: number; body: Buffer }[] = [];
  for (const key of await ds.list(''))
    if (key.endsWith('.sigstore.json')) {
      const b = JSON.parse((await readFile(join(store, key))).toString('utf8')) as {
        verificationMaterial: { tlogEntries: { logIndex: string; canonicalizedBody: string }[] };
      };
      for (const e of b.verificationMaterial.tlogEntries)
        entries.push({ index: Number(e.logIndex), body: Buffer.from(e.canonicalizedBody, 'base64') });
    }
  return entries.sort((a, b) => a.index - b.index).map((e) => e.body);
}

describe('fetch-measurements online (--rekor) against a log server on loopback', () => {
  it('the log that logged the release: exit 0, the measurements written', async () => {
    const server = await startTlogServer({ log: fx.log });
    try {
      const r = await run(args(server.url, 'online.json'));
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(tmp, 'online.json'))).toBe(true);
    } finally {
      await server.close(); // closes the fixture's log too
    }
  });

  it('a forked log holding the same entries after a different one: 17 VERIFY_TLOG_INCONSISTENT', async () => {
    const log = await LocalLog.open(fork, FIXED_CLOCK);
    // another history: an entry the real log never had comes first, then the release's entries
    await signArtifact(Buffer.from('not in the real log'), fx.signer, log);
    for (const body of await releaseBodies()) await log.add(body);
    const server = await startTlogServer({ log });
    try {
      const r = await run(args(server.url, 'forked.json'));
      expect(r.stderr).toContain('[VERIFY_TLOG_INCONSISTENT]');
      expect(r.stderr).toContain('is not an extension of the checkpoint');
      expect(r.code, r.stderr).toBe(17);
      expect(existsSync(join(tmp, 'forked.json'))).toBe(false);
    } finally {
      await server.close();
    }
  });
});
