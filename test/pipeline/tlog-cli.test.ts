// `nodeimg tlog serve|pin|trusted-root` and `nodeimg sign --rekor`: the server as a child process
// (port 0, --json), pinning its key, signing through it and verifying the bundle with the pinned
// root, the refusals (no pinned key, a changed key, a locked directory), the environment variables,
// and a forked log caught across runs through --rekor-state.
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import { systemClock } from '../../pipeline/adapters/system-clock.js';
import { startTlogServer } from '../../pipeline/adapters/tlog-server.js';
import { publicGoodTrustedRootJson } from '../../pipeline/adapters/sigstore-verify.js';
import { parseLogKeys } from '../../pipeline/commands/log-target.js';
import { run } from '../helpers/cli.js';
import { nodeimgChild, serveChild } from '../helpers/tlog-child.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-tlog-cli-'));
const keyDir = join(tmp, 'keys');
const artifact = join(tmp, 'measurements.json');
const logDir = join(tmp, 'served');

let server: Awaited<ReturnType<typeof serveChild>>;

beforeAll(async () => {
  writeFileSync(artifact, '{"pcrs":{"11":"aa"}}\n');
  expect((await run(['keygen', '-o', keyDir])).code).toBe(0);
  server = await serveChild(logDir);
});
afterAll(async () => {
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('nodeimg tlog serve / pin and sign --rekor', () => {
  it('pins the served log, signs through it, and the bundle verifies with the pinned root', async () => {
    const rootFile = join(tmp, 'log-root.json');
    const pin = await run(['tlog', 'pin', server.doc.url, '-o', rootFile]);
    expect(pin.code, pin.stderr).toBe(0);
    expect(pin.stdout).toContain(`log ID:    ${server.doc.logID}`);
    const out = join(tmp, 'm.sigstore.json');
    const state = join(tmp, 'state.json');
    const s = await run([
      'sign',
      artifact,
      '--key',
      join(keyDir, 'key.pem'),
      '--rekor',
      server.doc.url,
      '--log-key',
      rootFile,
      '--rekor-state',
      state,
      '-o',
      out,
    ]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain(`log:       ${server.doc.url} index 0 (tree size 1)`);
    const v = await run([
      'verify-bundle',
      '--bundle',
      out,
      '--key',
      join(keyDir, 'key.pub'),
      '--trusted-root',
      rootFile,
      artifact,
    ]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(Object.values(JSON.parse(readFileSync(state, 'utf8')) as object)).toEqual([
      { treeSize: 1, rootHash: expect.stringMatching(/^[0-9a-f]{64}$/) as string },
    ]);
  });

  it('refuses a second writer on the served directory; SIGTERM stops the server cleanly', async () => {
    const second = await nodeimgChild(['tlog', 'serve', '--dir', logDir, '--port', '0']);
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toMatch(/is in use by process \d+/);
    const inProcess = await run([
      'sign',
      artifact,
      '--key',
      join(keyDir, 'key.pem'),
      '--log',
      `dir:${logDir}`,
      '-o',
      join(tmp, 'x.sigstore.json'),
    ]);
    expect(inProcess.code).toBe(4);
    expect(inProcess.stderr).toMatch(/sign through it with --rekor URL/);

    server.child.kill('SIGTERM');
    const r = await server.child;
    expect(r.exitCode).toBe(0);
    expect(String(r.stderr)).toContain('SIGTERM, stopping');
    expect(existsSync(join(logDir, 'lock'))).toBe(false);
    const tr = await run(['tlog', 'trusted-root', '--dir', logDir]);
    expect(tr.code).toBe(0);
    expect(tr.stdout).toBe((await run(['log', 'trusted-root', '--log', `dir:${logDir}`])).stdout);
    expect(JSON.parse(tr.stdout)).toEqual(JSON.parse(readFileSync(join(tmp, 'log-root.json'), 'utf8')));
  });

  it('reports a torn tail it repaired on start (warning on stderr), and carries on', async () => {
    const dir = join(tmp, 'torn');
    const first = await run([
      'sign',
      artifact,
      '--key',
      join(keyDir, 'key.pem'),
      '--log',
      `dir:${dir}`,
      '-o',
      join(tmp, 't.sigstore.json'),
    ]);
    expect(first.code, first.stderr).toBe(0);
    appendFileSync(join(dir, 'entries.dat'), Buffer.from([0, 0, 1, 0, 9, 9]));
    const cp = await run(['tlog', 'checkpoint', '--dir', dir]);
    expect(cp.code).toBe(0);
    expect(cp.stderr).toMatch(
      /^warning: .*repaired a torn tail: 6 bytes at offset \d+ cut off \(a record header cut short/,
    );
    expect(cp.stdout.split('\n')[1]).toBe('1');
    const again = await run(['tlog', 'checkpoint', '--dir', dir]);
    expect(again.stderr).toBe('');
  });

  it('needs a pinned key for a remote log, and never replaces a pin with another key', async () => {
    const s = await startTlogServer({ log: await LocalLog.open(join(tmp, 'other'), systemClock) });
    try {
      const noKey = await run([
        'sign',
        artifact,
        '--key',
        join(keyDir, 'key.pem'),
        '--rekor',
        s.url,
        '-o',
        join(tmp, 'y.sigstore.json'),
      ]);
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toContain(`nodeimg tlog pin ${s.url} -o log-root.json`);
      const both = await run([
        'sign',
        artifact,
        '--key',
        join(keyDir, 'key.pem'),
        '--rekor',
        s.url,
        '--log',
        'dir:x',
      ]);
      expect(both.code).toBe(2);
      const repin = await run(['tlog', 'pin', s.url, '-o', join(tmp, 'log-root.json')]);
      expect(repin.code).toBe(1);
      expect(repin.stderr).toMatch(/pins another log key/);

      const rootFile = join(tmp, 'other-root.json');
      expect((await run(['tlog', 'pin', s.url, '-o', rootFile])).code).toBe(0);
      process.env['NODEIMG_REKOR_URL'] = s.url;
      process.env['NODEIMG_REKOR_LOG_KEY'] = rootFile;
      try {
        const viaEnv = await run([
          'sign',
          artifact,
          '--key',
          join(keyDir, 'key.pem'),
          '--rekor-state',
          join(tmp, 'st2.json'),
          '-o',
          join(tmp, 'env.sigstore.json'),
        ]);
        expect(viaEnv.code, viaEnv.stderr).toBe(0);
        expect(await s.log.size()).toBe(1);
      } finally {
        delete process.env['NODEIMG_REKOR_URL'];
        delete process.env['NODEIMG_REKOR_LOG_KEY'];
      }
    } finally {
      await s.close();
    }
  });

  it('pins public-good Rekor from the trusted root shipped in @sigstore/tuf (no --log-key needed)', () => {
    const keys = parseLogKeys(publicGoodTrustedRootJson(), 'public-good', 'https://rekor.sigstore.dev');
    // rekor.sigstore.dev's log ID (SHA-256 of its P-256 key), as every public-good bundle names it
    expect(keys.map((k) => k.logID.toString('hex'))).toEqual([
      'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
    ]);
  });

  it('a forked log is caught on the next run through --rekor-state (exit 1)', async () => {
    const a = join(tmp, 'fork-a');
    const b = join(tmp, 'fork-b');
    await (await LocalLog.open(a, systemClock)).close();
    cpSync(a, b, { recursive: true });
    const sa = await startTlogServer({ log: await LocalLog.open(a, systemClock) });
    const sb = await startTlogServer({ log: await LocalLog.open(b, systemClock) });
    const rootFile = join(tmp, 'fork-root.json');
    const state = join(tmp, 'fork-state.json');
    const sign = (url: string, name: string) => {
      // Signatures are deterministic (RFC 6979): each run signs a file of its own.
      const file = join(tmp, `${name}.txt`);
      writeFileSync(file, name);
      return run([
        'sign',
        file,
        '--key',
        join(keyDir, 'key.pem'),
        '--rekor',
        url,
        '--log-key',
        rootFile,
        '--rekor-state',
        state,
        '-o',
        join(tmp, `${name}.sigstore.json`),
      ]);
    };
    try {
      expect((await run(['tlog', 'pin', sa.url, '-o', rootFile])).code).toBe(0);
      expect((await sign(sa.url, 'a1')).code).toBe(0);
      expect((await sign(sb.url, 'b1')).code).toBe(1); // B's tree of size 1 is not A's
      const again = await sign(sb.url, 'b2');
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/not append-only/);
      expect((await sign(sa.url, 'a2')).code).toBe(0); // A is still consistent with what was seen
    } finally {
      await sa.close();
      await sb.close();
    }
  });
});
