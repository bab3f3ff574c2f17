// The lock: apt's output parsed, packages resolved through the host's apt indexes (--host-apt, no download),
// a lock that does not pin the recipe's package set refused with the packages named, and
// `nodeimg lock --check` offline.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelPackageOf, parsePrintUri, parseStanza } from '../../../image/build/stages/apt.js';
import { lockDifferences, loadLock, type Lock } from '../../../pipeline/build/lock.js';
import { loadRecipe } from '../../../pipeline/build/recipe.js';
import { assertSchema } from '../../../pipeline/build/schema-errors.js';
import { run } from '../../helpers/cli.js';
import { MINIMAL, recipeCopy } from '../../helpers/build.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('apt output', () => {
  it('parses a stanza, a --print-uris line and a kernel metapackage', () => {
    const s = parseStanza(
      'Package: linux-image-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\nDescription: Linux\n more text\n\nPackage: other\n',
    );
    expect(s.get('Package')).toBe('linux-image-amd64');
    expect(s.get('Description')).toBe('Linux\nmore text');
    expect(s.has('other')).toBe(false);
    expect(kernelPackageOf(s)).toEqual({ name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' });
    expect(kernelPackageOf(parseStanza('Package: busybox-static\nVersion: 1\n'))).toBeUndefined();
    expect(
      parsePrintUri(
        `'http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4%2bdeb12u1%2bb1_amd64.deb' busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb 928188 SHA256:${'ab'.repeat(32)}`,
      ),
    ).toEqual({
      url: 'http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4%2bdeb12u1%2bb1_amd64.deb',
      file: 'busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb',
      size: 928188,
      sha256: 'ab'.repeat(32),
    });
    expect(parsePrintUri('E: Unable to locate package x')).toBeUndefined();
  });
});

describe('lock', () => {
  it("the example's lock matches its schema and pins the recipe's packages", async () => {
    const { recipe } = await loadRecipe(MINIMAL, '/');
    const { lock } = await loadLock(join(MINIMAL, 'nodeimg.lock.json'));
    expect(lockDifferences(recipe, lock)).toEqual([]);
    expect(lock.packages.map((p) => p.requested)).toEqual([
      'busybox-static',
      'linux-image-amd64',
      'systemd-boot-efi',
    ]);
    expect(lock.packages[1]?.name).toMatch(/^linux-image-\d[\w.-]*-amd64$/);
  });

  it('names every difference between a recipe and a lock', async () => {
    const { recipe } = await loadRecipe(MINIMAL, '/');
    const { lock } = await loadLock(join(MINIMAL, 'nodeimg.lock.json'));
    const changed: Lock = {
      ...lock,
      packages: [
        ...lock.packages.filter((p) => p.requested !== 'systemd-boot-efi'),
        { ...(lock.packages[0] as Lock['packages'][0]), requested: 'hello', name: 'hello' },
      ],
    };
    const pinned = { ...recipe, packages: ['busybox-static=1.0', 'linux-image-amd64', 'systemd-boot-efi'] };
    expect(lockDifferences(pinned, changed)).toEqual([
      `busybox-static: the recipe pins 1.0, the lock has ${lock.packages[0]?.version}`,
      'systemd-boot-efi: in the recipe but not locked',
      'hello: locked but no longer in the recipe',
    ]);
    expect(
      lockDifferences({ ...recipe, distribution: { ...recipe.distribution, suite: 'trixie' } }, lock),
    ).toEqual(['distribution: the recipe builds debian trixie amd64, the lock pins debian bookworm amd64']);
  });

  it('nodeimg build refuses a lock of another package set, naming the packages (exit 1, no output)', async () => {
    const d = await recipeCopy(join(dir, 'changed'), (r) => ({
      ...r,
      packages: [...r.packages.filter((p) => p !== 'busybox-static'), 'busybox'],
      initrd: { ...r.initrd, busybox: 'busybox' },
    }));
    const r = await run(['build', d, '-o', join(d, 'out'), '--cache', join(d, 'cache')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "error [CHECK_FAILED]: nodeimg.lock.json is not the lock of this recipe's package set:\n  busybox: in the recipe but not locked\n  busybox-static: locked but no longer in the recipe",
    );
    expect(r.stderr).toContain(`hint: run \`nodeimg lock ${d}\``);
    await expect(readFile(join(d, 'out', 'manifest.json'))).rejects.toThrow();
    const check = await run(['lock', d, '--check']);
    expect(check.code).toBe(1);
    expect((await run(['lock', MINIMAL, '--check'])).code).toBe(0);
  });

  it('nodeimg lock refuses a version pin in /rootfs/packages before resolving anything (exit 2)', async () => {
    const d = await recipeCopy(join(dir, 'rootfs'), (r) => ({
      ...r,
      rootfs: { type: 'erofs', packages: ['systemd=252.39-1~deb12u2'] },
    }));
    const r = await run(['lock', d, '-o', join(d, 'x.lock.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error [USAGE]: /rootfs/packages: a root file system package cannot pin a version',
    );
    await expect(readFile(join(d, 'x.lock.json'))).rejects.toThrow();
  });

  it('nodeimg lock --host-apt resolves the packages through apt without downloading, as the schema says', async () => {
    const d = await recipeCopy(join(dir, 'fresh'));
    const out = join(d, 'fresh.lock.json');
    const r = await run(['lock', d, '-o', out, '--host-apt']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/linux-image-amd64\s+linux-image-\d\S*-amd64\s/);
    const text = await readFile(out, 'utf8');
    const lock = JSON.parse(text) as Lock;
    assertSchema('lock', 'https://nodeimg.dev/schema/lock/v1.json', lock);
    // canonical: keys sorted, two spaces, trailing newline
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(lock)).toEqual(['distribution', 'lock', 'packages']);
    for (const p of lock.packages) {
      expect(p.url).toMatch(/^http:\/\/deb\.debian\.org\/debian(-security)?\/pool\/.*\.deb$/);
      expect(p.filename.endsWith('.deb')).toBe(true);
      expect(p.section).not.toBe('');
    }
    expect((await run(['lock', d, '-o', out, '--check'])).code).toBe(0);
    await writeFile(out, text.replace('"lock": 1', '"lock": 2'));
    const bad = await run(['lock', d, '-o', out, '--check']);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain('/lock: 2 must be 1');
  });
});
