// Recipes: the schema (unknown keys refused, every problem named by its JSON pointer), the checks a
// schema cannot make, and how the CLI reports a bad recipe.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecipe, osReleaseText, type Recipe } from '../../../pipeline/build/recipe.js';
import { planBuild } from '../../../pipeline/build/plan.js';
import { loadLock } from '../../../pipeline/build/lock.js';
import { NodeimgError, SchemaError } from '../../../pipeline/errors.js';
import { run } from '../../helpers/cli.js';
import { MINIMAL, recipeCopy } from '../../helpers/build.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-recipe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the example with `edit` applied; returns its folder. */
const variant = (edit: (r: Recipe) => unknown): Promise<string> => recipeCopy(join(dir, `r${n++}`), edit);

async function failure(edit: (r: Recipe) => unknown): Promise<NodeimgError> {
  const d = await variant(edit);
  const err = await loadRecipe(d, '/').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NodeimgError);
  return err as NodeimgError;
}

describe('recipe', () => {
  it('examples/minimal loads; its digest is the sha256 of the file', async () => {
    const l = await loadRecipe(MINIMAL, '/');
    expect(l.recipe.name).toBe('minimal');
    expect(l.file).toBe(join(MINIMAL, 'recipe.json'));
    expect(l.sha256).toBe(
      createHash('sha256')
        .update(await readFile(l.file))
        .digest('hex'),
    );
  });

  it('refuses unknown keys anywhere, naming them and where they are', async () => {
    const err = await failure((r) => ({ ...r, kernel: { ...r.kernel, cmdlin: 'x' }, extra: 1 }));
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as SchemaError).fields).toEqual(
      expect.arrayContaining(['/: unknown key "extra"', '/kernel: unknown key "cmdlin"']),
    );
    expect(err.message).toMatch(/^recipe recipe.json does not match its schema:/);
  });

  it('names missing keys, wrong values, types and patterns by JSON pointer', async () => {
    const err = (await failure((r) => {
      const { cmdline: _c, ...rest } = r;
      return {
        ...rest,
        recipe: 2,
        seed: 'abc',
        boot: { layout: 'uefi' },
        disk: { sizeMiB: '1G' },
        uki: { ...r.uki, osRelease: { 'bad key': 'x' } },
      };
    })) as SchemaError;
    expect(err.fields).toEqual(
      expect.arrayContaining([
        '/: missing key "cmdline"',
        '/recipe: 2 must be 1',
        expect.stringMatching(/^\/seed: "abc" does not match \^\[0-9a-f\]\{8\}/),
        '/boot/layout: "uefi" is not one of direct, sdboot',
        '/disk/sizeMiB: "1G" is not of type integer',
        '/uki/osRelease: key "bad key" does not match ^[A-Z][A-Z0-9_]*$',
      ]),
    );
  });

  it('a role names a package that is not in /packages', async () => {
    const err = await failure((r) => ({ ...r, kernel: { package: 'linux-image-cloud-amd64' } }));
    expect(err.code).toBe('PARSE_INVALID');
    expect(err.message).toBe('recipe.json: /kernel/package: linux-image-cloud-amd64 is not in /packages');
  });

  it('the sdboot layout needs a bootloader; gce needs whole GiB; the ESP must fit', async () => {
    expect((await failure((r) => ({ ...r, boot: { layout: 'sdboot' } }))).message).toMatch(
      /\/boot: the sdboot layout needs \/boot\/bootloader/,
    );
    const gce = await failure((r) => ({ ...r, disk: { sizeMiB: 1000 } }));
    expect(gce.message).toBe(
      'recipe.json: /disk/sizeMiB: the gce format needs a whole number of GiB, not 1000 MiB',
    );
    expect(
      (await failure((r) => ({ ...r, disk: { sizeMiB: 64, espSizeMiB: 64 }, outputs: { formats: ['raw'] } })))
        .message,
    ).toMatch(/\/disk: a 64 MiB disk has no room for a 64 MiB ESP/);
  });

  it('the files it names must exist; it must be JSON', async () => {
    const err = await failure((r) => ({ ...r, initrd: { ...r.initrd, init: 'missing.sh' } }));
    expect(err.code).toBe('IO_NOT_FOUND');
    expect(err.message).toMatch(/the \/init script \(\/initrd\/init\) .*missing\.sh cannot be read/);
    const d = await variant((r) => r);
    await writeFile(join(d, 'recipe.json'), '{ "recipe": 1,');
    const bad = (await loadRecipe(d, '/').catch((e: unknown) => e)) as NodeimgError;
    expect(bad.code).toBe('PARSE_INVALID');
    expect(bad.message).toMatch(/^recipe.json is not JSON: /);
  });

  it('a package without a role, and Secure Boot platforms with nothing signed, are refused when planned', async () => {
    const d = await variant((r) => ({ ...r, packages: [...r.packages, 'hello'] }));
    const loaded = await loadRecipe(d, '/');
    const lock = (await loadLock(join(d, 'nodeimg.lock.json'))).lock;
    const withHello = {
      ...lock,
      packages: [
        ...lock.packages,
        { ...(lock.packages[0] as (typeof lock.packages)[0]), requested: 'hello', name: 'hello' },
      ],
    };
    await expect(planBuild({ loaded, lock: withHello })).rejects.toThrow(
      /\/packages: hello is not used by the kernel, initrd, uki or boot sections/,
    );
    const sb = await loadRecipe(
      await variant((r) => ({ ...r, platforms: [{ name: 'sb', firmware: 'ovmf-secboot' }] })),
      '/',
    );
    await expect(planBuild({ loaded: sb, lock })).rejects.toThrow(
      /\/platforms: sb enforce Secure Boot, but nothing is signed/,
    );
  });

  it('os-release values are quoted as os-release(5) wants', () => {
    expect(osReleaseText({ ID: 'x-1.2', NAME: 'a "b" $c' })).toBe('ID=x-1.2\nNAME="a \\"b\\" \\$c"\n');
  });
});

describe('nodeimg build with a bad recipe', () => {
  it('exits 6 listing the schema problems; nothing is built', async () => {
    const d = await variant((r) => ({ ...r, kernel: { ...r.kernel, cmdlin: 'x' } }));
    const r = await run(['build', d, '-o', join(d, 'out'), '--cache', join(d, 'cache'), '--json']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(
      'error [SCHEMA_INVALID]: recipe recipe.json does not match its schema:\n  /kernel: unknown key "cmdlin"',
    );
    expect(r.stdout).toBe('');
    await expect(readFile(join(d, 'out', 'manifest.json'))).rejects.toThrow();
  });

  it('a rootfs section whose lock pins no root file system packages is refused clearly (exit 3)', async () => {
    const d = await variant((r) => ({ ...r, rootfs: { type: 'erofs', verity: true } }));
    const r = await run(['build', d, '-o', join(d, 'out'), '--cache', join(d, 'cache')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'error [PARSE_INVALID]: recipe.json: the lock has no root file system packages',
    );
    await expect(readFile(join(d, 'out', 'manifest.json'))).rejects.toThrow();
  });
});
