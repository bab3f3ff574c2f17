// The one way nodeimg runs external tools: execa, never a shell, a pinned environment, failures
// mapped to ToolError. runTool waits for the tool; startTool runs a long-lived one (swtpm, QEMU) in
// its own process group so that stop() can kill it and everything it started.
import { execa, type ResultPromise } from 'execa';
import { ToolError } from '../../pipeline/errors.js';

export interface RunToolOptions {
  readonly cwd?: string;
  /** Added to the pinned environment (and may override it). */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string | Uint8Array;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** SOURCE_DATE_EPOCH for the tool; default 1700000000. */
  readonly sourceDateEpoch?: number;
}

export interface ToolOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export const DEFAULT_SOURCE_DATE_EPOCH = 1_700_000_000;
const SETUP_HINT = 'install the Debian packages nodeimg needs: bash scripts/setup';

/** The environment every tool runs with: only these variables, whatever the caller's shell has. */
export function pinnedEnv(opts: RunToolOptions = {}): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR']) {
    const v = process.env[name];
    if (v !== undefined) keep[name] = v;
  }
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...keep,
    TZ: 'UTC',
    LC_ALL: 'C.UTF-8',
    SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH),
    ...opts.env,
  };
}

function execaOptions(opts: RunToolOptions, detached: boolean) {
  return {
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
    ...(opts.signal === undefined ? {} : { cancelSignal: opts.signal }),
    env: pinnedEnv(opts),
    extendEnv: false,
    shell: false,
    detached,
    stripFinalNewline: false,
    forceKillAfterDelay: 3000,
    maxBuffer: 256 * 1024 * 1024,
  };
}

/** Last lines of a tool's stderr, for error messages. */
export function tail(text: string, lines = 15, chars = 2000): string {
  const t = text.trimEnd().split('\n').slice(-lines).join('\n');
  return t.length > chars ? t.slice(-chars) : t;
}

interface FailureLike {
  code?: string;
  exitCode?: number;
  stderr?: unknown;
  timedOut?: boolean;
  isCanceled?: boolean;
  signal?: string;
  shortMessage?: string;
}

/** Maps whatever execa rejected with to a ToolError (TOOL_MISSING for ENOENT). */
export function toToolError(
  file: string,
  args: readonly string[],
  err: unknown,
  timeoutMs?: number,
): ToolError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as FailureLike;
  const argv = [file, ...args];
  if (e.code === 'ENOENT') {
    return new ToolError('TOOL_MISSING', { tool: file, argv }, `${file}: not installed (not found on PATH)`, {
      cause: err,
      hint: SETUP_HINT,
    });
  }
  const stderrTail = typeof e.stderr === 'string' ? tail(e.stderr) : '';
  const why = e.timedOut
    ? `timed out after ${timeoutMs ?? '?'} ms`
    : e.isCanceled
      ? 'was cancelled'
      : e.exitCode !== undefined
        ? `exited with ${e.exitCode}`
        : e.signal !== undefined
          ? `was killed by ${e.signal}`
          : (e.shortMessage ?? 'failed');
  const last = stderrTail.split('\n').pop() ?? '';
  return new ToolError(
    'TOOL_FAILED',
    { tool: file, argv, ...(e.exitCode === undefined ? {} : { exitCode: e.exitCode }), stderrTail },
    `${file} ${why}${last ? `: ${last}` : ''}`,
    { cause: err },
  );
}

/** Runs `file args` to completion; throws ToolError on a non-zero exit, timeout or cancel. */
export async function runTool(
  file: string,
  args: readonly string[],
  opts: RunToolOptions = {},
): Promise<ToolOutput> {
  try {
    const r = await execa(file, [...args], execaOptions(opts, false));
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (err) {
    throw toToolError(file, args, err, opts.timeoutMs);
  }
}

/** A long-lived tool in its own process group. */
export interface ToolProcess {
  readonly pid: number | undefined;
  /** Whether the process has exited (for any reason). */
  readonly exited: () => boolean;
  /** What it printed so far. */
  readonly output: () => ToolOutput;
  /** Waits for the exit; throws ToolError like runTool if it failed. */
  wait(): Promise<ToolOutput>;
  /** Kills the whole process group (SIGTERM, then SIGKILL after graceMs) and waits for the exit. */
  stop(graceMs?: number): Promise<void>;
}

export function startTool(file: string, args: readonly string[], opts: RunToolOptions = {}): ToolProcess {
  const sub: ResultPromise = execa(file, [...args], execaOptions(opts, true));
  let done = false;
  const seen = { stdout: '', stderr: '' };
  sub.stdout?.on('data', (c: Buffer | string) => (seen.stdout += String(c)));
  sub.stderr?.on('data', (c: Buffer | string) => (seen.stderr += String(c)));
  const settled = sub.then(
    (r) => ({ ok: true as const, out: { stdout: String(r.stdout), stderr: String(r.stderr) } }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  void settled.then(() => (done = true));
  const killGroup = (sig: NodeJS.Signals): void => {
    if (sub.pid === undefined) return;
    try {
      process.kill(-sub.pid, sig);
    } catch {
      // the group is already gone
    }
  };
  return {
    pid: sub.pid,
    exited: () => done,
    output: () => ({ ...seen }),
    async wait() {
      const r = await settled;
      if (r.ok) return r.out;
      throw toToolError(file, args, r.err, opts.timeoutMs);
    },
    async stop(graceMs = 2000) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      await settled;
      clearTimeout(timer);
      killGroup('SIGKILL'); // leftovers of the group, if the leader exited first
    },
  };
}
