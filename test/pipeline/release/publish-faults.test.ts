// Fault injection over publishRelease (issue 8): the store fails at every write in turn. After each
// failure (a) a verifier sees either the previous release state or the complete new version, never a
// version whose objects are missing or fail verification, and (b) running the same release again
// completes and leaves a store equal, object for object and byte for byte, to an uninterrupted
// release made from the same starting point (same log state, same clock: signatures and log
// answers are deterministic).
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeySigner } from '../../../pipeline/adapters/key-signer.js';
import { LocalLog } from '../../../pipeline/adapters/local-log/local-log.js';
import { DirStore } from '../../../pipeline/adapters/store/dir-store.js';
import type { NodeimgError } from '../../../pipeline/errors.js';
import { PublishError } from '../../../pipeline/errors.js';
import type { ObjectStore } from '../../../pipeline/ports.js';
import { canonicalText } from '../../../pipeline/release/canonical-text.js';
import { coordinates, type ReleaseCoordinates } from '../../../pipeline/release/names.js';
import { publishRelease } from '../../../pipeline/release/publish.js';
import { sha256Hex } from '../../../pipeline/release/version-index.js';
import { fetchMeasurements } from '../../../pipeline/verify/fetch-measurements.js';
import { RollbackState } from '../../../pipeline/verify/rollback-state.js';
import { failingStore, snapshot } from '../../helpers/failing-store.js';
import { FIXED_CLOCK, sampleMeasurements } from '../../helpers/release-store.js';

let tmp: string;
let signer: KeySigner;
let keyPub: string;
let pristineLog: string;
let artefact: string;
const artefactBytes = Buffer.alloc(256 * 1024, 3);

/** A store with v1.0.0 released, and a copy of the log as it was after that release. */
async function startingPoint(name: string): Promise<{ storeDir: string; logDir: string }> {
  const storeDir = join(tmp, `${name}-store`);
  const logDir = join(tmp, `${name}-log`);
  await cp(pristineLog, logDir, { recursive: true });
  const log = await LocalLog.open(logDir, FIXED_CLOCK);
  try {
    await release(new DirStore(storeDir), log, coordinates('v1.0.0'));
  } finally {
    await log.close();
  }
  return { storeDir, logDir };
}

function release(store: ObjectStore, log: LocalLog, c: ReleaseCoordinates) {
  return publishRelease({
    store,
    coords: c,
    name: 'sample',
    artefacts: [
      { name: 'disk.raw', path: artefact, sha256: sha256Hex(artefactBytes), size: artefactBytes.length },
    ],
    manifestText: canonicalText({ recipe: 'sample', build: c.version }),
    measurements: sampleMeasurements(c.version),
    signer,
    log,
  });
}

async function verify(store: ObjectStore, version: string) {
  const state = await RollbackState.load(join(tmp, `state-${Math.random()}.json`));
  const { readFile } = await import('node:fs/promises');
  return fetchMeasurements({
    store,
    coords: coordinates(version),
    policy: { kind: 'key', publicKeyPem: await readFile(keyPub, 'utf8') },
    trustedRootJson: await readFile(join(pristineLog, 'trusted_root.json'), 'utf8'),
    state,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-publish-faults-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  signer = KeySigner.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'test', {});
  keyPub = join(tmp, 'key.pub');
  await writeFile(keyPub, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  artefact = join(tmp, 'disk.raw');
  await writeFile(artefact, artefactBytes);
  pristineLog = join(tmp, 'pristine-log');
  const log = await LocalLog.open(pristineLog, FIXED_CLOCK);
  await log.close();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('publishRelease under faults', () => {
  it('fails at every write in turn, stays safe for readers, and converges to the uninterrupted store', async () => {
    // reference: v1.1.0 released without a fault
    const ref = await startingPoint('ref');
    const refStore = new DirStore(ref.storeDir);
    const refLog = await LocalLog.open(ref.logDir, FIXED_CLOCK);
    const counting = failingStore(refStore, 0);
    await release(counting, refLog, coordinates('v1.1.0'));
    await refLog.close();
    const expected = await snapshot(refStore);
    const totalWrites = counting.writes;
    // 1 artefact, 3 documents x (doc, bundle, sig), index x 3, pointer
    expect(totalWrites).toBe(1 + 9 + 3 + 1);

    for (let k = 1; k <= totalWrites; k++) {
      const at = await startingPoint(`fault-${k}`);
      const store = new DirStore(at.storeDir);
      const log = await LocalLog.open(at.logDir, FIXED_CLOCK);
      try {
        let err: unknown;
        try {
          await release(failingStore(store, k), log, coordinates('v1.1.0'));
        } catch (e) {
          err = e;
        }
        expect(err, `write ${k}`).toBeInstanceOf(PublishError);
        // (a) readers: the old version verifies; the new one is absent or complete
        expect((await verify(store, 'v1.0.0')).document.release?.version).toBe('v1.0.0');
        // the pointer swap is the last write: until it succeeded, v1.1.0 is simply not released
        let seen: unknown;
        try {
          await verify(store, 'v1.1.0');
        } catch (e) {
          seen = e;
        }
        expect((seen as NodeimgError | undefined)?.code, `write ${k}`).toBe('VERIFY_NOT_FOUND');
        // (b) re-run converges to the reference store, byte for byte
        const again = await release(store, log, coordinates('v1.1.0'));
        expect(again.index.sequence).toBe(2);
      } finally {
        await log.close();
      }
      expect(await snapshot(store), `after a failure at write ${k} and a re-run`).toEqual(expected);
    }
  }, 120_000);

  it('re-releasing the same version is a no-op, and different content is refused', async () => {
    const at = await startingPoint('same');
    const store = new DirStore(at.storeDir);
    const before = await snapshot(store);
    const log = await LocalLog.open(at.logDir, FIXED_CLOCK);
    try {
      const r = await release(store, log, coordinates('v1.0.0'));
      expect(r.newIndex).toBe(false);
      expect(r.steps.every((s) => s.result === 'unchanged')).toBe(true);
      expect(await snapshot(store)).toEqual(before);
      let err: unknown;
      try {
        await publishRelease({
          store,
          coords: coordinates('v1.0.0'),
          name: 'sample',
          artefacts: [],
          manifestText: canonicalText({ recipe: 'sample', build: 'other' }),
          measurements: sampleMeasurements('v1.0.0'),
          signer,
          log,
        });
      } catch (e) {
        err = e;
      }
      expect((err as NodeimgError).code).toBe('PUBLISH_CONFLICT');
    } finally {
      await log.close();
    }
  });

  it('two releases of different versions racing on one store both land, in some order', async () => {
    const at = await startingPoint('race');
    const store = new DirStore(at.storeDir);
    const log = await LocalLog.open(at.logDir, FIXED_CLOCK);
    try {
      const [a, b] = await Promise.all([
        release(store, log, coordinates('v1.1.0')),
        release(new DirStore(at.storeDir), log, coordinates('v1.2.0')),
      ]);
      // one of them may have finished the other's index before adding its own: both end up in index 3
      expect(Math.max(a.index.sequence, b.index.sequence)).toBe(3);
      for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0'])
        expect((await verify(store, v)).document.release?.version).toBe(v);
    } finally {
      await log.close();
    }
  });
});
