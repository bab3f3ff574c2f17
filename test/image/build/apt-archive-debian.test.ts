// Package provenance against Debian's real archive keys, offline: the host's own apt lists hold the
// InRelease files apt fetched (apt-get update), signed by Debian; gpgv must verify them against
// /usr/share/keyrings/debian-archive-keyring.gpg and refuse them against another release's keyring.
// Skipped when the host has no such lists. With NODEIMG_NET_TESTS=1 (never in CI), the bookworm
// suite is also authenticated end to end from http://deb.debian.org (InRelease, Packages.xz, one .deb).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authenticateSuite,
  checkValidity,
  fetchDeb,
  loadKeyring,
  provenanceOf,
  resolvePackages,
  verifyClearsigned,
} from '../../../image/build/apt-archive/index.js';
import { parseRelease } from '../../../image/formats/apt/index.js';
import type { NodeimgError } from '../../../image/formats/errors.js';
import { systemClock } from '../../../pipeline/adapters/system-clock.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const BULLSEYE = '/usr/share/keyrings/debian-archive-bullseye-stable.gpg';
const LISTS = '/var/lib/apt/lists';
const BOOKWORM = join(LISTS, 'deb.debian.org_debian_dists_bookworm_InRelease');
const SECURITY = join(LISTS, 'deb.debian.org_debian-security_dists_bookworm-security_InRelease');
const offline = existsSync(KEYRING) && existsSync(BOOKWORM);

describe('Debian archive keys (offline, the host apt lists)', () => {
  it.skipIf(!offline)(
    "verifies bookworm's InRelease with debian-archive-keyring and reads its Release",
    async () => {
      const keyring = await loadKeyring(KEYRING);
      const verified = await verifyClearsigned(new Uint8Array(await readFile(BOOKWORM)), keyring, BOOKWORM);
      expect(verified.signers.length).toBeGreaterThanOrEqual(1);
      const release = parseRelease(verified.text);
      expect(release.codename).toBe('bookworm');
      expect(release.acquireByHash).toBe(true);
      expect(release.sha256.get('main/binary-amd64/Packages.xz')?.size).toBeGreaterThan(1_000_000);
      expect(() => checkValidity(release, release.date + 1000, BOOKWORM)).not.toThrow();
    },
  );

  it.skipIf(!offline || !existsSync(SECURITY))(
    "verifies bookworm-security's InRelease and honours its Valid-Until",
    async () => {
      const keyring = await loadKeyring(KEYRING);
      const verified = await verifyClearsigned(new Uint8Array(await readFile(SECURITY)), keyring, SECURITY);
      const release = parseRelease(verified.text);
      expect(release.validUntil).toBeGreaterThan(release.date);
      let err: unknown;
      try {
        checkValidity(release, (release.validUntil ?? 0) + 1000, SECURITY);
      } catch (e) {
        err = e;
      }
      expect((err as NodeimgError).code).toBe('PROVENANCE_EXPIRED');
    },
  );

  it.skipIf(!offline || !existsSync(BULLSEYE))(
    "refuses bookworm's InRelease against bullseye's keyring",
    async () => {
      const keyring = await loadKeyring(BULLSEYE);
      const err = await verifyClearsigned(new Uint8Array(await readFile(BOOKWORM)), keyring, BOOKWORM).catch(
        (e: unknown) => e,
      );
      expect((err as NodeimgError).code).toBe('PROVENANCE_SIGNATURE');
    },
  );
});

describe.skipIf(process.env['NODEIMG_NET_TESTS'] !== '1')('deb.debian.org (NODEIMG_NET_TESTS=1)', () => {
  it('authenticates bookworm, resolves busybox-static and fetches it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'nodeimg-net-'));
    try {
      const suite = await authenticateSuite({
        mirror: 'http://deb.debian.org/debian',
        suite: 'bookworm',
        architecture: 'amd64',
        keyring: await loadKeyring(KEYRING),
        clock: systemClock,
      });
      expect(suite.indexes[0]?.stanzas.length).toBeGreaterThan(50_000);
      const [p] = resolvePackages([suite], ['busybox-static']).map(provenanceOf);
      const got = await fetchDeb(p!, p!.url, join(work, 'debs'));
      expect(got?.downloaded).toBe(true);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 300_000);
});
