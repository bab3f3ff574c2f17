// A release published with the real pieces (publishRelease, KeySigner, the local transparency
// log, an ObjectStore adapter) for verifier tests. The measurements document is a small one that
// satisfies the schema and the enforced-set rule; the real build -> release path has its own tests.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeySigner } from '../../pipeline/adapters/key-signer.js';
import { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import type { Clock, ObjectStore } from '../../pipeline/ports.js';
import { canonicalText } from '../../pipeline/release/canonical-text.js';
import { coordinates, type ReleaseCoordinates } from '../../pipeline/release/names.js';
import { publishRelease, type PublishedRelease } from '../../pipeline/release/publish.js';
import { sha256Hex } from '../../pipeline/release/version-index.js';
import type { MeasurementsDocument } from '../../measurements/document.js';

export const FIXED_CLOCK: Clock = { now: () => 1_790_000_000_000 };

export function sampleMeasurements(seed = 'a'): MeasurementsDocument {
  const h = (s: string, n: number) => sha256Hex(`${seed}${s}`).repeat(2).slice(0, n);
  const pcr = (i: number) => ({
    origin: 'image' as const,
    expected: { sha256: h(`pcr${i}`, 64), sha384: h(`pcr${i}x`, 96) },
    events: [
      {
        type: 'EV_EFI_BOOT_SERVICES_APPLICATION',
        digests: { sha256: h(`ev${i}`, 64), sha384: h(`ev${i}x`, 96) },
        data: null,
        description: `event of PCR ${i}`,
      },
    ],
  });
  return {
    $schema: 'https://nodeimg.dev/schema/measurements/v1.json',
    image: {
      name: 'disk.raw',
      kind: 'disk',
      uki: 'EFI/BOOT/BOOTX64.EFI',
      ukiAuthenticode: { sha256: h('uki', 64) },
    },
    boot: {
      mode: 'direct',
      secureBoot: false,
      firmware: 'ovmf',
      systemdStub: '252.39-1~deb12u1',
      stubRules: 252,
      systemdBoot: null,
      kernel: '6.1.0-42-amd64',
    },
    banks: ['sha256', 'sha384'],
    pcrs: { '4': pcr(4), '9': pcr(9), '11': pcr(11) },
    notPredicted: [{ pcr: 0, reason: 'firmware' }],
    pcr11Phases: [],
    warnings: [],
  };
}

export interface ReleaseFixture {
  readonly keyPub: string;
  readonly keyPem: string;
  readonly otherKeyPub: string;
  readonly trustedRoot: string;
  readonly logDir: string;
  readonly signer: KeySigner;
  /** The open local log (its single-writer lock is held by this process). */
  readonly log: LocalLog;
  publish(store: ObjectStore, c?: ReleaseCoordinates, doc?: MeasurementsDocument): Promise<PublishedRelease>;
  close(): Promise<void>;
}

/** Keys, a local log and files under `dir`; publish() releases into any store. */
export async function releaseFixture(dir: string): Promise<ReleaseFixture> {
  await mkdir(dir, { recursive: true });
  const pair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const k = pair();
  const other = pair();
  const keyPem = join(dir, 'key.pem');
  const keyPub = join(dir, 'key.pub');
  const otherKeyPub = join(dir, 'other.pub');
  const pem = k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFile(keyPem, pem, { mode: 0o600 });
  await writeFile(keyPub, k.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  await writeFile(otherKeyPub, other.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const signer = KeySigner.fromPem(pem, keyPem, {});
  const logDir = join(dir, 'tlog');
  const log = await LocalLog.open(logDir, FIXED_CLOCK);
  const trustedRoot = join(dir, 'trusted_root.json');
  await writeFile(trustedRoot, `${JSON.stringify(log.trustedRoot(), null, 2)}\n`);
  const artefact = join(dir, 'disk.raw');
  await writeFile(artefact, Buffer.alloc(64 * 1024, 7));
  return {
    keyPub,
    keyPem,
    otherKeyPub,
    trustedRoot,
    logDir,
    signer,
    log,
    publish: (store, c = coordinates('v1.0.0'), doc = sampleMeasurements()) =>
      publishRelease({
        store,
        coords: c,
        name: 'sample',
        artefacts: [
          {
            name: 'disk.raw',
            path: artefact,
            sha256: sha256Hex(Buffer.alloc(64 * 1024, 7)),
            size: 64 * 1024,
          },
        ],
        manifestText: canonicalText({ recipe: 'sample', version: c.version }),
        measurements: doc,
        signer,
        log,
      }),
    close: () => log.close(),
  };
}
