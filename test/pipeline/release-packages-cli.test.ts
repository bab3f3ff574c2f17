// `nodeimg release` refuses, before building or publishing anything, a lock whose package
// provenance cannot be archived: provenance on some entries only (USAGE), or provenance whose
// InRelease the build cache's apt-meta folder does not hold (named, with the `nodeimg lock` hint).
// The release of a lock without provenance (the example's) is in release-cli.test.ts; the archive
// and its documents at library level in release/packages.test.ts.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lock } from '../../pipeline/build/lock.js';
import { run } from '../helpers/cli.js';
import { TestAptRepo } from '../helpers/apt-repo.js';
import { recipeCopy, small } from '../helpers/build.js';

let tmp: string;
let recipe: string;
let repo: TestAptRepo;
const INRELEASE = 'ab'.repeat(32);

function releaseArgs(extra: string[] = []): string[] {
  return [
    'release',
    recipe,
    '--version',
    'v0.1.0',
    '--store',
    `dir:${join(tmp, 'store')}`,
    '--log',
    `dir:${join(tmp, 'tlog')}`,
    '--key',
    join(tmp, 'keys', 'key.pem'),
    '--cache',
    join(tmp, 'cache'),
    '-o',
    join(tmp, 'out'),
    '--keyring',
    repo.keyring,
    '--json',
    ...extra,
  ];
}

/** Rewrites the recipe's lock, giving `release` to the first `n` packages (all when n is -1). */
async function withProvenance(n: number): Promise<void> {
  const file = join(recipe, 'nodeimg.lock.json');
  const lock = JSON.parse(await readFile(file, 'utf8')) as Lock;
  const packages = lock.packages.map((p, i) =>
    n === -1 || i < n
      ? { ...p, release: { suite: 'bookworm', inRelease: INRELEASE, date: '2024-06-01T00:00:00.000Z' } }
      : p,
  );
  await writeFile(file, `${JSON.stringify({ ...lock, packages }, null, 2)}\n`);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-release-packages-cli-'));
  recipe = await recipeCopy(join(tmp, 'recipe'), small);
  repo = await TestAptRepo.create();
  expect((await run(['keygen', '-o', join(tmp, 'keys')])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await repo?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('nodeimg release with package provenance', () => {
  it('refuses a lock with provenance on some packages only (exit 2), before anything', async () => {
    await withProvenance(2);
    const r = await run(releaseArgs());
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/provenance \(release\) for 2 of \d+ packages/);
    expect(existsSync(join(tmp, 'store'))).toBe(false);
    expect(existsSync(join(tmp, 'out'))).toBe(false);
  });

  it('refuses provenance whose InRelease is not in the cache, naming it and hinting nodeimg lock', async () => {
    await withProvenance(-1);
    const r = await run(releaseArgs());
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`InRelease with sha256 ${INRELEASE}`);
    expect(r.stderr).toContain(`nodeimg lock ${recipe} --cache ${join(tmp, 'cache')}`);
    expect(r.stderr).toContain('nothing was published');
    expect(existsSync(join(tmp, 'store'))).toBe(false);
    expect(existsSync(join(tmp, 'out'))).toBe(false);
  });

  it('--keyring and --no-package-archive exclude each other', async () => {
    const r = await run(releaseArgs(['--no-package-archive']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('exclude each other');
  });
});
