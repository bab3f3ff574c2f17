// `nodeimg lock` authenticates what it locks (issue 12 §1), through the CLI, against a real signed
// repository on 127.0.0.1 (test/helpers/apt-repo.ts: dpkg-deb, apt-ftparchive, gpg): a valid chain
// locks with each entry's InRelease recorded and the .debs and metadata in the cache; a tampered
// .deb, a tampered Packages index, a Release signed by the wrong key and an expired Release are each
// refused with their own code (exit 1) and leave the lock file as it was.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSchema } from '../../../pipeline/build/schema-errors.js';
import type { Lock } from '../../../pipeline/build/lock.js';
import { freshDates, rfc2822, TestAptRepo, type TestDeb } from '../../helpers/apt-repo.js';
import { recipeCopy } from '../../helpers/build.js';
import { run } from '../../helpers/cli.js';

const KERNEL = 'linux-image-6.1.0-99-amd64';
const DEBS: TestDeb[] = [
  { name: 'busybox-static', version: '1:1.35.0-4+b3', section: 'shells', priority: 'optional' },
  { name: 'linux-image-amd64', version: '6.1.99-1', depends: `${KERNEL} (= 6.1.99-1)`, section: 'kernel' },
  { name: KERNEL, version: '6.1.99-1', section: 'kernel', priority: 'optional' },
  { name: 'systemd-boot-efi', version: '252.99-1', section: 'admin', priority: 'optional' },
];

let repo: TestAptRepo;
let work: string;
let n = 0;

beforeAll(async () => {
  repo = await TestAptRepo.create();
  work = await mkdtemp(join(tmpdir(), 'nodeimg-lockprov-'));
});
afterAll(async () => {
  await repo?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function lockIn(extra: string[] = []) {
  const d = await recipeCopy(join(work, `r${n++}`));
  const out = join(d, 'nodeimg.lock.json');
  const before = await readFile(out, 'utf8');
  const cache = join(d, 'cache');
  const source = `deb ${repo.url} nodeimg-test main`;
  const r = await run(['lock', d, '--source', source, '--keyring', repo.keyring, '--cache', cache, ...extra]);
  return { r, d, out, before, cache, source };
}

describe('nodeimg lock, authenticated', () => {
  it('locks a valid chain: every entry names its InRelease; .debs and metadata are in the cache', async () => {
    await repo.publish(DEBS, freshDates());
    const { r, out, cache, source, d } = await lockIn();
    expect(r.stderr).toContain('nodeimg-test: InRelease ');
    expect(r.code).toBe(0);
    const lock = JSON.parse(await readFile(out, 'utf8')) as Lock;
    assertSchema('lock', 'https://nodeimg.dev/schema/lock/v1.json', lock);
    expect(lock.sources).toEqual([source]);
    const served = await fetch(`${repo.url}/dists/nodeimg-test/InRelease`).then(async (x) =>
      Buffer.from(await x.arrayBuffer()),
    );
    const inRelease = createHash('sha256').update(served).digest('hex');
    expect(lock.packages.map((p) => [p.requested ?? '', p.name, p.version])).toEqual([
      ['busybox-static', 'busybox-static', '1:1.35.0-4+b3'],
      ['linux-image-amd64', KERNEL, '6.1.99-1'],
      ['systemd-boot-efi', 'systemd-boot-efi', '252.99-1'],
    ]);
    for (const p of lock.packages) {
      expect(p.release).toEqual({ suite: 'nodeimg-test', inRelease, date: expect.stringMatching(/Z$/) });
      expect(decodeURIComponent(p.url)).toBe(`${repo.url}/${p.filename}`);
      const deb = await readFile(join(cache, 'debs', 'sha256', `${p.sha256}.deb`));
      expect(createHash('sha256').update(deb).digest('hex')).toBe(p.sha256);
      expect(deb.length).toBe(p.size);
    }
    expect((await readdir(join(cache, 'apt-meta'), { recursive: true })).length).toBeGreaterThan(1);
    // the lock's sources are the default next time; the same archive gives the same lock
    const again = await run(['lock', d, '--keyring', repo.keyring, '--cache', cache]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged');
    expect((await run(['lock', d, '--check'])).code).toBe(0);
  });

  const refusals: [string, () => Promise<void>, RegExp][] = [
    [
      'a Release signed by the wrong key',
      () => repo.publish(DEBS, { ...freshDates(), signWith: 'other' }).then(() => undefined),
      /PROVENANCE_SIGNATURE/,
    ],
    [
      'an expired Release',
      () =>
        repo
          .publish(DEBS, {
            date: rfc2822(Date.now() - 30 * 86_400_000),
            validUntil: rfc2822(Date.now() - 86_400_000),
          })
          .then(() => undefined),
      /PROVENANCE_EXPIRED/,
    ],
    [
      'a tampered Packages index',
      async () => {
        await repo.publish(DEBS, freshDates());
        await repo.tamper('dists/nodeimg-test/main/binary-amd64/Packages.xz', (b) =>
          Buffer.concat([b, Buffer.from([0])]),
        );
        await repo.tamper('dists/nodeimg-test/main/binary-amd64/Packages.gz', (b) =>
          Buffer.concat([b, Buffer.from([0])]),
        );
        await repo.tamper('dists/nodeimg-test/main/binary-amd64/Packages', (b) =>
          Buffer.concat([b, Buffer.from('\n')]),
        );
      },
      /PROVENANCE_INDEX_MISMATCH/,
    ],
    [
      'a tampered .deb',
      async () => {
        await repo.publish(DEBS, freshDates());
        const pkgs = await fetch(`${repo.url}/dists/nodeimg-test/main/binary-amd64/Packages`).then((x) =>
          x.text(),
        );
        const filename = /^Filename: (\S+systemd-boot-efi\S+)$/m.exec(pkgs)?.[1] as string;
        await repo.tamper(filename, (b) => {
          const c = Buffer.from(b);
          c[c.length - 1] = (c[c.length - 1] as number) ^ 1;
          return c;
        });
      },
      /PROVENANCE_DEB_MISMATCH/,
    ],
  ];
  for (const [what, setup, code] of refusals)
    it(`refuses ${what} with its own code, exit 1, the lock untouched`, async () => {
      await setup();
      const { r, out, before } = await lockIn();
      expect(r.stderr).toMatch(code);
      expect(r.code).toBe(1);
      expect(await readFile(out, 'utf8')).toBe(before);
    });

  it('--host-apt takes no --source; a pinned /rootfs package is refused before any network', async () => {
    const d = await recipeCopy(join(work, `r${n++}`));
    const r = await run(['lock', d, '--host-apt', '--source', `deb ${repo.url} x main`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--host-apt takes neither --source nor --keyring');
  });
});
