// Package provenance against a real signed repository on 127.0.0.1 (test/helpers/apt-repo.ts:
// dpkg-deb, apt-ftparchive, gpg): a valid chain authenticates, resolves and fetches; a tampered
// .deb, a tampered Packages index, a Release signed by the wrong key and an expired Release are each
// refused with their own error code, and so are a few more ways the chain can break.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticateSources,
  authenticateSuite,
  debCachePath,
  fetchDeb,
  loadKeyring,
  locatePackage,
  provenanceOf,
  resolvePackages,
  stanzaOf,
  type Keyring,
  type SuiteRequest,
} from '../../../image/build/apt-archive/index.js';
import { NodeimgError } from '../../../image/formats/errors.js';
import { exitCodeFor } from '../../../pipeline/exit-codes.js';
import {
  REPO_CLOCK,
  REPO_DATE_MS,
  REPO_VALID_UNTIL_MS,
  TestAptRepo,
  type TestDeb,
} from '../../helpers/apt-repo.js';

const BASE: TestDeb[] = [
  { name: 'alpha', version: '1.0-1' },
  { name: 'alpha', version: '1.2-1' },
  { name: 'beta', version: '2:0.9~rc1-3', architecture: 'all', section: 'admin', priority: 'required' },
  { name: 'gamma', version: '3.1-1', licence: 'GPL-2+ or Artistic' },
];

let repo: TestAptRepo;
let keyring: Keyring;
let work: string;

beforeAll(async () => {
  repo = await TestAptRepo.create();
  keyring = await loadKeyring(repo.keyring);
  work = await mkdtemp(join(tmpdir(), 'nodeimg-prov-'));
});
afterAll(async () => {
  await repo?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const request = (over: Partial<SuiteRequest> = {}): SuiteRequest => ({
  mirror: repo.url,
  suite: 'nodeimg-test',
  architecture: 'amd64',
  keyring,
  clock: REPO_CLOCK,
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<NodeimgError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NodeimgError);
  return err as NodeimgError;
}

describe('authenticateSuite + resolvePackages + fetchDeb', () => {
  it('a valid chain authenticates, resolves and fetches', async () => {
    await repo.publish(BASE);
    const suite = await authenticateSuite(request());
    expect(suite.release.date).toBe(REPO_DATE_MS);
    expect(suite.release.validUntil).toBe(REPO_VALID_UNTIL_MS);
    expect(suite.signers.map((s) => s.primaryFingerprint)).toEqual([repo.archiveFingerprint]);
    expect(suite.indexes.map((i) => i.path)).toEqual(['main/binary-amd64/Packages.xz']);
    expect(suite.indexes[0]?.stanzas).toHaveLength(4);

    const [alpha, beta, pinned] = resolvePackages([suite], ['alpha', 'beta', 'alpha=1.0-1']);
    expect(alpha?.stanza.version).toBe('1.2-1'); // the highest version
    expect(beta?.stanza.architecture).toBe('all');
    expect(pinned?.stanza.version).toBe('1.0-1');
    const locked = provenanceOf(beta!);
    expect(locked).toMatchObject({
      requested: 'beta',
      name: 'beta',
      version: '2:0.9~rc1-3',
      section: 'admin',
      priority: 'required',
      filename: 'pool/main/b/beta/beta_0.9~rc1-3_all.deb',
      release: { suite: 'nodeimg-test', inRelease: suite.inRelease.sha256, date: '2024-06-01T00:00:00.000Z' },
    });
    expect(stanzaOf(beta!)).toMatch(/^Package: beta\n[\s\S]*SHA256: [0-9a-f]{64}\n/);

    const cache = join(work, 'debs-ok');
    const got = await fetchDeb(locked, locked.url, cache);
    expect(got).toEqual({ path: debCachePath(cache, locked.sha256), downloaded: true });
    const again = await fetchDeb(locked, locked.url, cache);
    expect(again?.downloaded).toBe(false);

    expect(() => resolvePackages([suite], ['alpha=9.9'])).toThrow(/offer alpha 1.0-1, 1.2-1/);
    expect(() => resolvePackages([suite], ['nosuch'])).toThrow(
      /no authenticated suite offers a package nosuch/,
    );

    // a package pinned elsewhere (mmdebstrap's closure) is located in the signed index
    expect(locatePackage([suite], locked).stanza).toBe(beta?.stanza);
    expect(() => locatePackage([suite], { ...locked, sha256: 'f'.repeat(64) })).toThrow(/signed index lists/);
    expect(() => locatePackage([suite], { ...locked, version: '9' })).toThrow(/no authenticated suite/);

    // the same through one-line apt sources
    const common = { architecture: 'amd64', keyring, clock: REPO_CLOCK };
    const [viaSources] = await authenticateSources([`deb ${repo.url} nodeimg-test main`], common);
    expect(viaSources?.inRelease.sha256).toBe(suite.inRelease.sha256);
    await expect(authenticateSources(['deb [trusted=yes] x y z'], common)).rejects.toThrow(
      /not "deb URL SUITE/,
    );
  });

  it('refuses a tampered .deb (PROVENANCE_DEB_MISMATCH) and keeps nothing', async () => {
    await repo.publish(BASE);
    const suite = await authenticateSuite(request());
    const locked = provenanceOf(resolvePackages([suite], ['gamma'])[0]!);
    await repo.tamper(locked.filename, (b) => {
      const c = Buffer.from(b);
      c[c.length - 1] = (c[c.length - 1] as number) ^ 0xff; // same size, other bytes
      return c;
    });
    const cache = join(work, 'debs-tampered');
    const err = await refusal(fetchDeb(locked, locked.url, cache));
    expect(err.code).toBe('PROVENANCE_DEB_MISMATCH');
    expect(exitCodeFor(err)).toBe(1);
    expect(await readdir(join(cache, 'sha256'))).toEqual([]);
    // a longer file is cut off as soon as it passes the locked size
    await repo.tamper(locked.filename, (b) => Buffer.concat([b, Buffer.alloc(4096)]));
    expect((await refusal(fetchDeb(locked, locked.url, cache))).message).toMatch(/more than \d+ bytes/);
  });

  it('refuses a tampered Packages index (PROVENANCE_INDEX_MISMATCH)', async () => {
    await repo.publish(BASE);
    await repo.tamper('dists/nodeimg-test/main/binary-amd64/Packages.xz', (b) => {
      const c = Buffer.from(b);
      c[40] = (c[40] as number) ^ 0x01;
      return c;
    });
    const err = await refusal(authenticateSuite(request()));
    expect(err.code).toBe('PROVENANCE_INDEX_MISMATCH');
    expect(err.message).toMatch(/the signed Release lists \d+ bytes with sha256/);
  });

  it('refuses a Release signed by the wrong key (PROVENANCE_SIGNATURE)', async () => {
    await repo.publish(BASE, { signWith: 'other' });
    const err = await refusal(authenticateSuite(request()));
    expect(err.code).toBe('PROVENANCE_SIGNATURE');
    expect(err.message).toMatch(/not in the keyring/);
    // the same file verifies with the other key's keyring: the refusal is about the key
    const other = await loadKeyring(repo.otherKeyring);
    await expect(authenticateSuite(request({ keyring: other }))).resolves.toBeDefined();
    // and a pin to a key that did not sign refuses it too
    const pinned = await refusal(
      authenticateSuite(request({ keyring: other, trustedFingerprints: [repo.archiveFingerprint] })),
    );
    expect(pinned.code).toBe('PROVENANCE_SIGNATURE');
  });

  it('refuses an expired Release (PROVENANCE_EXPIRED), and one not valid yet', async () => {
    await repo.publish(BASE);
    const expired = await refusal(
      authenticateSuite(request({ clock: { now: () => REPO_VALID_UNTIL_MS + 1000 } })),
    );
    expect(expired.code).toBe('PROVENANCE_EXPIRED');
    expect(expired.message).toMatch(/expired at Sat, 08 Jun 2024/);
    const early = await refusal(authenticateSuite(request({ clock: { now: () => REPO_DATE_MS - 1000 } })));
    expect(early.code).toBe('PROVENANCE_EXPIRED');
    expect(early.message).toMatch(/not valid yet/);
    const old = await refusal(authenticateSuite(request({ maxAgeSeconds: 60 })));
    expect(old.code).toBe('PROVENANCE_EXPIRED');
  });

  it('refuses an altered InRelease text (BAD signature) and unsigned text around it', async () => {
    await repo.publish(BASE);
    await repo.tamper('dists/nodeimg-test/InRelease', (b) =>
      Buffer.from(b.toString('utf8').replace('Label: nodeimg-test', 'Label: nodeimg-evil')),
    );
    const bad = await refusal(authenticateSuite(request()));
    expect(bad.code).toBe('PROVENANCE_SIGNATURE');
    expect(bad.message).toMatch(/BAD signature/);
    await repo.publish(BASE);
    await repo.tamper('dists/nodeimg-test/InRelease', (b) =>
      Buffer.concat([b, Buffer.from('\nSHA256:\n 00 1 x\n')]),
    );
    const trailing = await refusal(authenticateSuite(request()));
    expect(trailing.code).toBe('PROVENANCE_SIGNATURE');
    expect(trailing.message).toMatch(/text after the signature/);
  });

  it('refuses a Release of another suite or without the component asked for', async () => {
    await repo.publish(BASE, { suiteField: 'oldstable', codename: 'nodeimg-test' });
    await expect(authenticateSuite(request())).resolves.toBeDefined(); // the codename matches
    await repo.publish(BASE, { suiteField: 'nodeimg-old' });
    const err = await refusal(authenticateSuite(request()));
    expect(err.code).toBe('PROVENANCE_INDEX_MISMATCH');
    expect(err.message).toMatch(/for suite nodeimg-old \(codename nodeimg-old\), not nodeimg-test/);
    await repo.publish(BASE);
    const comp = await refusal(authenticateSuite(request({ components: ['contrib'] })));
    expect(comp.code).toBe('PROVENANCE_INDEX_MISMATCH');
    expect(comp.message).toMatch(/no component contrib/);
  });
});
