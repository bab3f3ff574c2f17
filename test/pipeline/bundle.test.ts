// The bundled CLI (scripts/bundle.mjs, run by `npm run build`): dist/pipeline/bin.js is a one-line
// import of dist/cli/nodeimg.js, whose chunks hold what tsc emitted. Checked against the sources
// run in-process: every command loads from the bundle and prints the same help, measure writes the
// same document (through the validators the bundle reads from dist/cli/validators/), and the two
// worker entries that verify-pool.ts and verity-parallel.ts start beside the chunks do their work.
import { execa } from 'execa';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLeafRange, type LeafJob } from '../../image/build/verity-leaves.js';
import { allocLeafLevel, planVerity } from '../../image/formats/verity/index.js';
import { COMMANDS } from '../../pipeline/cli.js';
import { run } from '../helpers/cli.js';
import { labImages } from '../helpers/lab.js';
import { Prng } from '../helpers/prng.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'pipeline', 'bin.js');
const CLI = join(ROOT, 'dist', 'cli');

const bundled = (args: readonly string[], timeout?: number) =>
  execa(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    reject: false,
    stripFinalNewline: false,
    ...(timeout ? { timeout } : {}),
  });

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(join(CLI, 'nodeimg.js')))
    throw new Error('dist/cli/nodeimg.js is missing: run `npm run build` (scripts/test does)');
});

describe('the bundled CLI (dist/cli/)', () => {
  it('dist/pipeline/bin.js only imports the bundle', () => {
    const bin = readFileSync(BIN, 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(bin).toContain("import '../cli/nodeimg.js';");
    expect(bin.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('//'))).toHaveLength(
      1,
    );
  });

  it('every command loads from the bundle and prints the help the sources print; --version too', async () => {
    for (const c of COMMANDS) {
      const [got, want] = await Promise.all([bundled([c.name, '--help']), run([c.name, '--help'])]);
      expect(got.exitCode, `${c.name}: ${got.stderr}`).toBe(0);
      expect(got.stdout, c.name).toBe(want.stdout);
    }
    const v = await bundled(['--version']);
    expect(v.stdout).toBe((await run(['--version'])).stdout);
    expect(v.stdout).toMatch(/^nodeimg \d+\.\d+\.\d+/);
  });

  it('measure writes the same validated document as the sources, and fails alike on bad input', async () => {
    const lab = await labImages();
    const args = ['measure', lab.disks.direct as string, '--banks', 'sha1,sha256,sha384', '--json'];
    const [got, want] = await Promise.all([bundled(args), run(args)]);
    expect(got.exitCode, got.stderr).toBe(0);
    expect(got.stdout).toBe(want.stdout);
    const bad = join(tmp, 'not-a-disk.raw');
    writeFileSync(bad, new Uint8Array(8192));
    const [e1, e2] = await Promise.all([bundled(['measure', bad]), run(['measure', bad])]);
    expect(e1.exitCode).toBe(e2.code);
    expect(e1.exitCode).toBe(3);
    expect(e1.stderr).toBe(e2.stderr);
  });

  it('a large input starts the hash worker early, and the process still ends when it is not used', async () => {
    // 64 MiB of zeros: large enough for prestartForLargeInput, and no disk at all
    const big = join(tmp, 'zeros.raw');
    writeFileSync(big, new Uint8Array(64 * 1024 * 1024));
    const usage = await bundled(['measure', big, '--secure-boot', 'maybe'], 30_000);
    expect(usage.timedOut).toBe(false);
    expect(usage.exitCode).toBe(2);
    const parse = await bundled(['measure', big], 30_000);
    expect(parse.timedOut).toBe(false);
    expect(parse.exitCode).toBe(3);
  });

  it('verify-worker.js beside the chunks checks P-256 signatures as verify-pool sends them', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('an entry');
    const digest = createHash('sha256').update(data).digest();
    const sig = sign('sha256', data, privateKey);
    const point = publicKey.export({ format: 'jwk' });
    const xy = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(point.x as string, 'base64url'),
      Buffer.from(point.y as string, 'base64url'),
    ]);
    const w = new Worker(join(CLI, 'verify-worker.js'));
    try {
      const ask = (id: number, d: Uint8Array) =>
        new Promise<{ id: number; ok: boolean }>((resolve) => {
          w.once('message', resolve);
          w.postMessage({ id, digest: d, sig, point: xy });
        });
      expect(await ask(1, digest)).toEqual({ id: 1, ok: true });
      const other = Buffer.from(digest);
      other[0] = (other[0] as number) ^ 1;
      expect(await ask(2, other)).toEqual({ id: 2, ok: false });
    } finally {
      await w.terminate();
    }
  });

  it('verity-worker.js beside the chunks hashes its range of dm-verity leaves like hashLeafRange', async () => {
    const blocks = 512;
    const p = new Prng(11);
    const data = new Uint8Array(blocks * 4096).map(() => p.int(256));
    const path = join(tmp, 'data.img');
    writeFileSync(path, data);
    const plan = planVerity({ dataBlocks: blocks, salt: new Uint8Array(32).fill(7) });
    const want = allocLeafLevel(plan);
    await hashLeafRange({ path, plan, first: 0, count: blocks, leaf: want });
    const shared = allocLeafLevel(plan, (n) => new Uint8Array(new SharedArrayBuffer(n)));
    const job: LeafJob = { path, plan, first: 0, count: 300, leaf: shared };
    const answer = await new Promise<unknown>((resolve, reject) => {
      const w = new Worker(join(CLI, 'verity-worker.js'), { workerData: job });
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    expect(answer).toBe('done');
    await hashLeafRange({ path, plan, first: 300, count: blocks - 300, leaf: shared });
    expect(Buffer.from(shared).equals(Buffer.from(want))).toBe(true);
  });
});
