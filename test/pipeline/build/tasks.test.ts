// The build's progress display: which renderer for which terminal, and what each shows for the
// engine's events (listr2 on a terminal, one line per event otherwise).
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { outcomeText, progress, progressMode } from '../../../pipeline/build/tasks.js';
import type { StageOutcome } from '../../../pipeline/build/engine.js';
import type { Plan } from '../../../pipeline/build/plan.js';
import { NodeimgError } from '../../../pipeline/errors.js';

const outcome = (id: string, status: StageOutcome['status'], size: number, ms: number): StageOutcome => ({
  id,
  key: 'k'.repeat(64),
  status,
  elapsedMs: ms,
  inputs: {},
  tools: {},
  outputs: { f: { sha256: 'a'.repeat(64), size } },
});

const plan = (ids: string[]): Plan =>
  ({ nodes: ids.map((id) => ({ id })), artifacts: [], measurements: [] }) as unknown as Plan;

function capture(tty: boolean): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  Object.assign(stream, { isTTY: tty, columns: 120, rows: 40 });
  let text = '';
  stream.on('data', (c: Buffer) => (text += String(c)));
  return { stream, text: () => text };
}

describe('build progress', () => {
  it('chooses listr2 on a terminal, plain lines in CI or a pipe, nothing with --json', () => {
    expect(progressMode(capture(true).stream, {}, false)).toBe('tty');
    expect(progressMode(capture(true).stream, { CI: 'true' }, false)).toBe('plain');
    expect(progressMode(capture(false).stream, {}, false)).toBe('plain');
    expect(progressMode(capture(true).stream, {}, true)).toBe('none');
  });

  it('describes an outcome by size and time, or as cached', () => {
    expect(outcomeText(outcome('uki', 'ran', 9 * 1024 * 1024, 1234))).toBe('9.0 MiB, 1.2 s');
    expect(outcomeText(outcome('uki', 'cached', 2048, 3))).toBe('cached, 2.0 KiB');
    expect(outcomeText(outcome('fetch:x', 'skipped', 1, 0))).toBe('not needed, not in the store');
  });

  it('plain: one line per event', async () => {
    const c = capture(false);
    const p = progress('plain', c.stream);
    p.onPlan(plan(['a', 'b']));
    p.events.start?.('a');
    p.events.progress?.('a', 'working');
    p.events.done?.(outcome('a', 'ran', 1024, 500));
    p.events.done?.(outcome('b', 'cached', 1024, 0));
    p.events.failed?.('c', new NodeimgError('IO_FAILED', 'stage c: disk full\nmore'));
    await p.finish();
    expect(c.text()).toBe(
      [
        'build: 2 stages',
        '[STARTED] a',
        '[OUTPUT] a: working',
        '[COMPLETED] a: 1.0 KiB, 0.5 s',
        '[CACHED] b: cached, 1.0 KiB',
        '[FAILED] c: stage c: disk full',
        '',
      ].join('\n'),
    );
  });

  it('tty: a listr2 task per stage with its final state; stages that never finished are shown stopped', async () => {
    const c = capture(true);
    const p = progress('tty', c.stream);
    p.onPlan(plan(['fetch:x', 'uki', 'disk', 'esp']));
    p.events.done?.(outcome('fetch:x', 'cached', 4096, 0));
    p.events.start?.('uki');
    p.events.done?.(outcome('uki', 'ran', 9 * 1024 * 1024, 700));
    p.events.failed?.('disk', new NodeimgError('IO_FAILED', 'stage disk: no space'));
    await new Promise((r) => setTimeout(r, 300));
    await p.finish();
    const text = c.text();
    expect(text).toContain('fetch:x: cached, 4.0 KiB');
    expect(text).toContain('uki: 9.0 MiB, 0.7 s');
    expect(text).toContain('stage disk: no space');
    expect(text).toContain('esp: stopped');
  });
});
