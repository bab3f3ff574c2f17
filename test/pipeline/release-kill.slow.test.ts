// `nodeimg release` killed for real (SIGKILL, no chance to clean up) at every publishing step in
// turn (issue 8): a child process releases (a smaller copy of) examples/minimal into a dir store and
// the local log; the test watches the store and kills the process as soon as the k-th object has
// appeared, for k = 1 .. every object of an uninterrupted release. After each kill
//   (a) a verifier (fetch-measurements) sees either no release at all (exit 22, VERIFY_NOT_FOUND)
//       or the complete, verifying one: never a version whose objects are missing or fail;
//   (b) running the same release again completes, and the store then holds exactly the objects of
//       an uninterrupted release, with the same bytes for everything but the log-dependent ones
//       (bundles carry the log's integration time and index, which differ between runs; the
//       in-process fault test, test/pipeline/release/publish-faults.test.ts, shows byte equality
//       with a fixed clock).
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore } from '../../pipeline/adapters/store/dir-store.js';
import { recipeCopy, ROOT, seedDebs, small } from '../helpers/build.js';
import { run } from '../helpers/cli.js';

const SLOW = process.env['NODEIMG_SLOW'] === '1';

let tmp: string;
let recipe: string;
let cache: string;
let key: string;
let pub: string;
let reference: Map<string, string>;

const releaseArgs = (store: string, log: string, out: string): string[] => [
  'release',
  recipe,
  '--version',
  'v1.0.0',
  '--store',
  `dir:${store}`,
  '--log',
  `dir:${log}`,
  '--key',
  key,
  '--cache',
  cache,
  '-o',
  out,
  '--json',
];

/** Key -> sha256 of every object (the dir store keeps the digest next to each object). */
async function contents(dir: string): Promise<Map<string, string>> {
  const store = new DirStore(dir);
  const out = new Map<string, string>();
  for (const k of (await store.list('')).sort()) out.set(k, (await store.head(k))?.sha256 ?? '?');
  return out;
}

/** Bundles and whatever lists their digests depend on the log's answers (time, index). */
const logDependent = (k: string) =>
  k.endsWith('.sigstore.json') || k.includes('/versions/') || k.endsWith('/info.json');

async function fetchVerdict(store: string, root: string, state: string) {
  return run([
    'fetch-measurements',
    '--store',
    `dir:${store}`,
    '--version',
    'v1.0.0',
    '--key',
    pub,
    '--trusted-root',
    root,
    '--offline',
    '--state',
    state,
    '-o',
    join(tmp, 'fetched.json'),
  ]);
}

/** Runs the release in a child process and SIGKILLs it once the store holds `k` objects. */
async function releaseKilledAt(
  k: number,
  store: string,
  log: string,
): Promise<{ killed: boolean; seen: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      join(ROOT, 'pipeline', 'bin.ts'),
      ...releaseArgs(store, log, join(tmp, `out-${k}`)),
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const ds = new DirStore(store);
  let seen = 0;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    seen = (await ds.list('').catch(() => [])).length;
    if (seen >= k) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const code = await exited;
  return { killed: code === null, seen };
}

beforeAll(async () => {
  if (!SLOW) return;
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-release-kill-'));
  recipe = await recipeCopy(join(tmp, 'recipe'), small);
  cache = join(tmp, 'cache');
  await seedDebs(cache);
  const kp = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  key = join(tmp, 'key.pem');
  pub = join(tmp, 'key.pub');
  await writeFile(key, kp.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  await writeFile(pub, kp.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // the uninterrupted release (also warms the build cache)
  const r = await run(releaseArgs(join(tmp, 'reference'), join(tmp, 'tlog'), join(tmp, 'out')));
  if (r.code !== 0) throw new Error(`reference release failed (${r.code}): ${r.stderr}`);
  reference = await contents(join(tmp, 'reference'));
}, 900_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!SLOW)('nodeimg release killed with SIGKILL at every publishing step', () => {
  it('never leaves a version a verifier accepts half-published; re-running converges', async () => {
    const root = join(tmp, 'trusted_root.json');
    const tr = await run(['log', 'trusted-root', '--log', `dir:${join(tmp, 'tlog')}`]);
    await writeFile(root, tr.stdout);
    const total = reference.size;
    expect(total).toBeGreaterThan(10);
    const killedAt: number[] = [];
    for (let k = 1; k <= total; k++) {
      const store = join(tmp, `store-${k}`);
      const { killed, seen } = await releaseKilledAt(k, store, join(tmp, 'tlog'));
      if (killed) killedAt.push(seen);
      // (a) the verifier sees nothing, or everything
      const v = await fetchVerdict(store, root, join(tmp, `state-${k}.json`));
      expect([0, 22], `after a kill at object ${k}: ${v.stderr}`).toContain(v.code);
      const now = await contents(store);
      if (v.code === 0) expect([...now.keys()]).toEqual([...reference.keys()]);
      // (b) the same release again completes and equals the uninterrupted one
      const again = await run(releaseArgs(store, join(tmp, 'tlog'), join(tmp, `out-${k}`)));
      expect(again.code, `re-run after a kill at object ${k}: ${again.stderr}`).toBe(0);
      const after = await contents(store);
      expect([...after.keys()]).toEqual([...reference.keys()]);
      for (const [name, sha] of reference)
        if (!logDependent(name)) expect(after.get(name), `${name} after a kill at object ${k}`).toBe(sha);
      expect((await fetchVerdict(store, root, join(tmp, `state-${k}b.json`))).code).toBe(0);
      await rm(store, { recursive: true, force: true });
    }
    // the kills really landed in the middle of publishing, at many different points
    console.info(`release killed with ${killedAt.join(', ')} of ${total} objects in the store`);
    expect(new Set(killedAt).size).toBeGreaterThan(total / 2);
  }, 3_600_000);
});
