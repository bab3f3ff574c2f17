// Fault injection over a release with package provenance (issue 12 on top of issue 8's
// publish-faults.test.ts): the store fails at every write in turn, the package pool objects
// (InRelease, index, .deb) and packages.json / sbom.spdx.json included. After each failure the
// previous version still verifies, packages and archive included, and the new one is simply not
// released; running the same release again converges to a store equal, object for object and
// byte for byte, to an uninterrupted release from the same starting point.
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring, type Keyring, type PackageProvenance } from '../../../image/build/apt-archive/index.js';
import { KeySigner } from '../../../pipeline/adapters/key-signer.js';
import { LocalLog } from '../../../pipeline/adapters/local-log/local-log.js';
import { DirStore } from '../../../pipeline/adapters/store/dir-store.js';
import { StageCache } from '../../../pipeline/build/cache.js';
import { PublishError, type NodeimgError } from '../../../pipeline/errors.js';
import type { ObjectStore } from '../../../pipeline/ports.js';
import { coordinates } from '../../../pipeline/release/names.js';
import { verifyReleaseDocuments } from '../../../pipeline/verify/fetch-measurements.js';
import { checkReleasePackages } from '../../../pipeline/verify/packages.js';
import { RollbackState } from '../../../pipeline/verify/rollback-state.js';
import { TestAptRepo, type TestDeb } from '../../helpers/apt-repo.js';
import { lockFromRepo, releaseWithPackages, writeDisk } from '../../helpers/package-release.js';
import { failingStore, snapshot } from '../../helpers/failing-store.js';
import { FIXED_CLOCK } from '../../helpers/release-store.js';

const SHARED: TestDeb[] = [
  { name: 'beta', version: '1.0-1', architecture: 'all' },
  { name: 'gamma', version: '3.1-1', licence: 'MIT' },
];
const NAMES = ['alpha', 'beta', 'gamma'];

let tmp: string;
let repo: TestAptRepo;
let keyring: Keyring;
let cache: StageCache;
let signer: KeySigner;
let keyPem = '';
let disk: string;
let v1: PackageProvenance[];
let v2: PackageProvenance[];
let start: { store: string; log: string };

/** A copy of the starting point (v1.0.0 released with its packages) and its log. */
async function copyStart(name: string): Promise<{ store: DirStore; log: LocalLog }> {
  await cp(start.store, join(tmp, `${name}-store`), { recursive: true });
  await cp(start.log, join(tmp, `${name}-log`), { recursive: true });
  return {
    store: new DirStore(join(tmp, `${name}-store`)),
    log: await LocalLog.open(join(tmp, `${name}-log`), FIXED_CLOCK),
  };
}

const release = (store: ObjectStore, log: LocalLog, version: string, packages: PackageProvenance[]) =>
  releaseWithPackages({
    store,
    log,
    signer,
    coords: coordinates(version),
    packages,
    cache,
    keyring,
    artefact: disk,
  });

/**
 * The reader's view: the version verifies (signed index + info.json), packages.json and the SBOM
 * have the digests info.json lists, and with `archive` the pool re-checks (gpgv, indexes, .debs).
 */
async function verify(store: ObjectStore, version: string, archive = false): Promise<number> {
  const r = await verifyReleaseDocuments(
    {
      store,
      coords: coordinates(version),
      policy: { kind: 'key', publicKeyPem: keyPem },
      trustedRootJson: await readFile(join(start.log, 'trusted_root.json'), 'utf8'),
      state: await RollbackState.load(join(tmp, `state-${Math.random()}.json`)),
    },
    ['info.json'],
  );
  const infoText = Buffer.from(r.documents['info.json']?.bytes ?? []).toString('utf8');
  const p = await checkReleasePackages(store, coordinates(version), infoText, archive ? { keyring } : {});
  return p.archive?.packages ?? p.count;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-packages-faults-'));
  repo = await TestAptRepo.create();
  keyring = await loadKeyring(repo.keyring);
  cache = new StageCache(join(tmp, 'cache'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  signer = KeySigner.fromPem(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'test', {});
  keyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  disk = await writeDisk(tmp);
  v1 = await lockFromRepo(repo, keyring, [{ name: 'alpha', version: '1.0-1' }, ...SHARED], NAMES, cache);
  v2 = await lockFromRepo(repo, keyring, [{ name: 'alpha', version: '1.1-1' }, ...SHARED], NAMES, cache);
  start = { store: join(tmp, 'start-store'), log: join(tmp, 'start-log') };
  const log = await LocalLog.open(start.log, FIXED_CLOCK);
  try {
    await writeFile(join(start.log, 'trusted_root.json'), `${JSON.stringify(log.trustedRoot(), null, 2)}\n`);
    await release(new DirStore(start.store), log, 'v1.0.0', v1);
  } finally {
    await log.close();
  }
}, 60_000);

afterAll(async () => {
  await repo?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('a release with packages under faults', () => {
  it('fails at every write in turn (pool objects and package documents included), stays safe, converges', async () => {
    const ref = await copyStart('ref');
    const counting = failingStore(ref.store, 0);
    try {
      await release(counting, ref.log, 'v1.1.0', v2);
    } finally {
      await ref.log.close();
    }
    const expected = await snapshot(ref.store);
    // pool: the new InRelease, its index, alpha 1.1-1 (beta and gamma are already there: no write);
    // disk.raw; packages.json, sbom.spdx.json; 3 signed documents x 3; index x 3; pointer
    expect(counting.writes).toBe(3 + 1 + 2 + 9 + 3 + 1);
    expect(await verify(ref.store, 'v1.1.0', true)).toBe(3);

    for (let k = 1; k <= counting.writes; k++) {
      const at = await copyStart(`fault-${k}`);
      try {
        const err = await release(failingStore(at.store, k), at.log, 'v1.1.0', v2).catch((e: unknown) => e);
        expect(err, `write ${k}`).toBeInstanceOf(PublishError);
        expect(await verify(at.store, 'v1.0.0'), `write ${k}`).toBe(3);
        const seen = await verify(at.store, 'v1.1.0').catch((e: unknown) => e);
        expect((seen as NodeimgError).code, `write ${k}`).toBe('VERIFY_NOT_FOUND');
        const again = await release(at.store, at.log, 'v1.1.0', v2);
        expect(again.published.index.sequence).toBe(2);
        if (k === counting.writes) expect(await verify(at.store, 'v1.0.0', true)).toBe(3);
      } finally {
        await at.log.close();
      }
      expect(await snapshot(at.store), `after a failure at write ${k} and a re-run`).toEqual(expected);
    }
  }, 120_000);
});
