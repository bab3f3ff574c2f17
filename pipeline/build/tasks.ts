// Progress of a build on stderr, driven by the engine's events (engine.ts EngineEvents):
// - tty: a listr2 task list (default renderer), one task per stage, all concurrent (the engine
//   decides what waits for what): "waiting", the tool at work, then size and time or "cached";
// - plain (not a TTY, or CI set): one line per event, for logs;
// - none (--json): nothing.
import { DefaultRenderer, Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';
import type { Writable } from 'node:stream';
import { formatBytes } from '../render.js';
import type { EngineEvents, StageOutcome } from './engine.js';
import type { Plan } from './plan.js';

export type ProgressMode = 'tty' | 'plain' | 'none';

export interface Progress {
  readonly events: EngineEvents;
  readonly onPlan: (plan: Plan) => void;
  /** Ends the display once the build is over (what never ran is shown as stopped). */
  finish(): Promise<void>;
}

/** tty when stderr is a terminal and CI is not set, else plain; none for --json. Pure. */
export function progressMode(stderr: Writable, env: NodeJS.ProcessEnv, json: boolean): ProgressMode {
  if (json) return 'none';
  const tty = (stderr as Writable & { isTTY?: boolean }).isTTY === true;
  return tty && !env['CI'] ? 'tty' : 'plain';
}

const size = (n: number): string => formatBytes(n).replace(/ \(\d+ bytes\)$/, '');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** "12.3 MiB, 1.2 s" / "cached, 12.3 MiB" / "skipped (not needed)". Pure. */
export function outcomeText(o: StageOutcome): string {
  const bytes = Object.values(o.outputs).reduce((a, f) => a + f.size, 0);
  if (o.status === 'skipped') return 'not needed, not in the store';
  if (o.status === 'cached') return `cached, ${size(bytes)}`;
  return `${size(bytes)}, ${secs(o.elapsedMs)}`;
}

function plain(stderr: Writable): Progress {
  const line = (s: string): void => void stderr.write(`${s}\n`);
  return {
    onPlan: (plan) => line(`build: ${plan.nodes.length} stages`),
    events: {
      start: (id) => line(`[STARTED] ${id}`),
      progress: (id, text) => line(`[OUTPUT] ${id}: ${text}`),
      done: (o) =>
        line(`[${o.status === 'ran' ? 'COMPLETED' : o.status.toUpperCase()}] ${o.id}: ${outcomeText(o)}`),
      failed: (id, err) => line(`[FAILED] ${id}: ${err.message.split('\n')[0] ?? ''}`),
    },
    finish: async () => undefined,
  };
}

/**
 * listr2's default renderer, which listr2 would replace by its line renderer on stdout whenever
 * stdout is not a terminal (`nodeimg build > log`); progress goes to stderr, so stderr decides.
 */
class StderrRenderer extends DefaultRenderer {
  static override nonTTY = true;
}

interface Deferred {
  readonly promise: Promise<StageOutcome | { stopped: true }>;
  resolve(v: StageOutcome | { stopped: true }): void;
  reject(e: Error): void;
  /** The latest progress text, and how to show it once the task runs. */
  text: string;
  output?: (text: string) => void;
}

function deferred(): Deferred {
  let resolve!: Deferred['resolve'];
  let reject!: Deferred['reject'];
  const promise = new Promise<StageOutcome | { stopped: true }>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a stage may fail before its task awaits it
  return { promise, resolve, reject, text: 'waiting' };
}

function show(d: Deferred, text: string): void {
  d.text = text;
  d.output?.(text);
}

function tty(stderr: Writable): Progress {
  const stages = new Map<string, Deferred>();
  let running: Promise<unknown> = Promise.resolve();
  const get = (id: string): Deferred => {
    let d = stages.get(id);
    if (!d) {
      d = deferred();
      stages.set(id, d);
    }
    return d;
  };
  return {
    onPlan(plan) {
      const tasks: ListrTask[] = plan.nodes.map((n) => ({
        title: n.id,
        task: async (_ctx, task) => {
          const d = get(n.id);
          d.output = (text) => (task.output = text);
          task.output = d.text;
          const r = await d.promise;
          if ('stopped' in r) task.skip(`${n.id}: stopped`);
          else task.title = `${n.id}: ${outcomeText(r)}`;
        },
      }));
      const stream = stderr as NodeJS.WriteStream;
      running = new Listr(tasks, {
        renderer: StderrRenderer,
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: {
          logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }),
          collapseSubtasks: false,
        },
      })
        .run()
        .catch(() => undefined);
    },
    events: {
      start: (id) => show(get(id), 'running'),
      progress: (id, text) => show(get(id), text),
      done: (o) => get(o.id).resolve(o),
      failed: (id, err) => get(id).reject(new Error(err.message.split('\n')[0])),
    },
    async finish() {
      for (const d of stages.values()) d.resolve({ stopped: true });
      await running;
    },
  };
}

export function progress(mode: ProgressMode, stderr: Writable): Progress {
  if (mode === 'tty') return tty(stderr);
  if (mode === 'plain') return plain(stderr);
  return { events: {}, onPlan: () => undefined, finish: async () => undefined };
}
