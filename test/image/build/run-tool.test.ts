import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ToolError } from '../../../pipeline/errors.js';
import { pinnedEnv, runTool, startTool, tail } from '../../../image/build/run-tool.js';

/** Running (a zombie waiting for a reaper does not count). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('runTool', () => {
  it('runs with a pinned environment and no shell', async () => {
    const { stdout } = await runTool('env', [], { env: { EXTRA: '1' } });
    const env = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    expect(env).toMatchObject({ TZ: 'UTC', LC_ALL: 'C.UTF-8', SOURCE_DATE_EPOCH: '1700000000', EXTRA: '1' });
    expect(env['PATH']).toBeTruthy();
    expect(Object.keys(env).sort()).toEqual(Object.keys(pinnedEnv({ env: { EXTRA: '1' } })).sort());
    const echoed = await runTool('echo', ['$HOME', '*', ';', 'x']);
    expect(echoed.stdout).toBe('$HOME * ; x\n');
  });

  it('passes input and SOURCE_DATE_EPOCH', async () => {
    expect((await runTool('cat', [], { input: 'abc' })).stdout).toBe('abc');
    const { stdout } = await runTool('printenv', ['SOURCE_DATE_EPOCH'], { sourceDateEpoch: 42 });
    expect(stdout.trim()).toBe('42');
  });

  it('maps a missing tool to TOOL_MISSING with a hint to run scripts/setup', async () => {
    const err = await runTool('nodeimg-no-such-tool', ['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toMatchObject({
      code: 'TOOL_MISSING',
      tool: 'nodeimg-no-such-tool',
      argv: ['nodeimg-no-such-tool', 'a'],
    });
    expect((err as ToolError).hint).toMatch(/scripts\/setup/);
  });

  it('maps a failure to TOOL_FAILED with the exit code and the stderr tail', async () => {
    const err = await runTool('sh', ['-c', 'for i in $(seq 40); do echo line$i >&2; done; exit 3']).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'TOOL_FAILED', tool: 'sh', exitCode: 3 });
    const t = (err as ToolError).stderrTail;
    expect(t.split('\n')).toHaveLength(15);
    expect(t.endsWith('line40')).toBe(true);
    expect((err as Error).message).toMatch(/sh exited with 3: line40/);
  });

  it('times out and can be cancelled', async () => {
    await expect(runTool('sleep', ['30'], { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'TOOL_FAILED',
      message: expect.stringMatching(/timed out after 200 ms/),
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(runTool('sleep', ['30'], { signal: ac.signal })).rejects.toMatchObject({
      message: expect.stringMatching(/cancelled/),
    });
  });

  it('tail keeps the last lines', () => {
    expect(tail('a\nb\nc\n', 2)).toBe('b\nc');
  });
});

describe('startTool', () => {
  it('stop() kills the whole process group, grandchildren included', async () => {
    const p = startTool('sh', ['-c', 'sleep 300 & echo $!; wait']);
    let pid = NaN;
    for (let i = 0; i < 100 && Number.isNaN(pid); i++) {
      await new Promise((r) => setTimeout(r, 20));
      pid = parseInt(p.output().stdout, 10);
    }
    expect(alive(pid)).toBe(true);
    expect(p.exited()).toBe(false);
    await p.stop(500);
    expect(p.exited()).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    await expect(p.wait()).rejects.toBeInstanceOf(ToolError);
  });

  it('wait() returns the output of a tool that succeeded', async () => {
    const p = startTool('echo', ['hi']);
    expect((await p.wait()).stdout).toBe('hi\n');
    await p.stop();
  });
});
