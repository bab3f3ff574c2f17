// How `nodeimg build` fails: a tampered .deb in the cache, a missing tool, Ctrl-C in the middle, a
// full disk. Each must give a clear error and exit code, leave nothing in the output place that
// looks like a result (no output folder, no temporary folder), and the next build must work.
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debPath } from '../../../image/build/stages/fetch.js';
import type { Lock } from '../../../pipeline/build/lock.js';
import { processesUsing } from '../../helpers/boot-check-run.js';
import { run } from '../../helpers/cli.js';
import { MINIMAL, ROOT, recipeCopy, seedDebs, sharedCache, small } from '../../helpers/build.js';

let dir: string;
let recipe: string;
let lock: Lock;

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Runs the CLI as a user does: a child process, with its own TMPDIR and PATH if given. */
function child(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline', 'bin.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...env },
    extendEnv: false,
    reject: false,
    timeout: 300_000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-build-fail-'));
  recipe = await recipeCopy(join(dir, 'recipe'), small);
  lock = JSON.parse(await readFile(join(MINIMAL, 'nodeimg.lock.json'), 'utf8')) as Lock;
  await sharedCache();
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nodeimg build failures', () => {
  it('a tampered .deb in the cache: CHECK_FAILED naming both hashes, the file is removed, no output; the next build downloads it and works', async () => {
    const cache = join(dir, 'cache-tamper');
    await seedDebs(cache);
    const bb = lock.packages.find((p) => p.name === 'busybox-static') as Lock['packages'][0];
    const deb = debPath(join(cache, 'debs'), bb.sha256);
    const bytes = await readFile(deb);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    await rm(deb); // a hard link into the shared store: replace it, do not write through it
    await writeFile(deb, bytes);
    const out = join(dir, 'out-tamper');
    const r = await run(['build', recipe, '-o', out, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `error \\[CHECK_FAILED\\]: stage fetch:busybox-static: the stored \\.deb of busybox-static=1:1\\.35\\.0-4\\+deb12u1\\+b1 \\(amd64\\) \\(.*\\) has sha256 [0-9a-f]{64} \\(${bb.size} bytes\\); the lock pins ${bb.sha256}`,
      ),
    );
    expect(r.stderr).toContain('hint: the file was damaged or tampered with; it has been removed');
    expect(await exists(deb)).toBe(false);
    expect(await exists(out)).toBe(false);
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/^\.tmp-/));
    expect(await readdir(join(cache, 'tmp'))).toEqual([]);
    const again = await run(['build', recipe, '-o', out, '--cache', cache, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const s = JSON.parse(again.stdout) as { stages: { id: string; status: string }[] };
    expect(s.stages.find((x) => x.id === 'fetch:busybox-static')?.status).toBe('ran');
    expect(await exists(join(out, 'manifest.json'))).toBe(true);
  }, 300_000);

  it('a missing tool: TOOL_MISSING (exit 5) naming the program, its package and the stage, before anything runs', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      for (const f of await readdir(d).catch(() => [] as string[])) {
        if (f === 'qemu-img') continue;
        await symlink(join(d, f), join(bin, f)).catch(() => undefined);
      }
    }
    const out = join(dir, 'out-tool');
    const r = await child(['build', recipe, '-o', out, '--cache', await sharedCache()], { PATH: bin });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain(
      'nodeimg build: error [TOOL_MISSING]: not installed (not found on PATH): qemu-img (Debian package qemu-utils; needed by format:qcow2)',
    );
    expect(r.stderr).toContain('hint: install the Debian packages nodeimg needs');
    expect(await exists(out)).toBe(false);
  }, 120_000);

  it('Ctrl-C: exit 130, the tools are stopped, no output and no temporary files; the next build works', async () => {
    const cache = join(dir, 'cache-int');
    await seedDebs(cache);
    const tmp = join(dir, 'tmp-int');
    await mkdir(tmp);
    const out = join(dir, 'out-int');
    const p = child(['build', recipe, '-o', out, '--cache', cache], { TMPDIR: tmp, CI: '1' });
    let sent = false;
    p.stderr?.on('data', (c: Buffer) => {
      if (!sent && /\[STARTED\] extract:linux-image-amd64/.test(String(c))) {
        sent = true;
        p.kill('SIGINT');
      }
    });
    const r = await p;
    expect(sent).toBe(true);
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('build: SIGINT: stopping the running stages, removing temporary files');
    expect(r.stderr).toContain('build: interrupted; no output was written');
    expect(await exists(out)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('.tmp-') || f.startsWith('.old-'))).toEqual([]);
    expect(await readdir(join(cache, 'tmp'))).toEqual([]);
    expect((await readdir(tmp)).filter((f) => f.startsWith('nodeimg-'))).toEqual([]);
    expect(processesUsing(cache)).toEqual([]);
    const again = await run(['build', recipe, '-o', out, '--cache', cache]);
    expect(again.code, again.stderr).toBe(0);
    expect(await exists(join(out, 'manifest.json'))).toBe(true);
  }, 300_000);

  it.skipIf(process.getuid?.() !== 0)(
    'a full disk: IO_FAILED (exit 4) with a hint, nothing left in the full place; the next build works',
    async () => {
      const full = join(dir, 'full');
      await mkdir(full);
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', full]);
      try {
        const r = await run(['build', recipe, '-o', join(full, 'out'), '--cache', await sharedCache()]);
        expect(r.code).toBe(4);
        expect(r.stderr).toMatch(
          /error \[IO_FAILED\]: writing .*\/full\/out: ENOSPC: no space left on device/,
        );
        expect(r.stderr).toContain('hint: free some space');
        expect(await readdir(full)).toEqual([]);
      } finally {
        await execa('umount', [full]);
      }
      const again = await run(['build', recipe, '-o', join(full, 'out'), '--cache', await sharedCache()]);
      expect(again.code, again.stderr).toBe(0);
    },
    300_000,
  );
});
