// Runs `nodeimg boot-check` as a user does (a child process) with a private TMPDIR, and checks that
// afterwards no nodeimg temporary folder and no process that used it is left, whatever the outcome.
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

export interface BootCheckRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Killable {
  kill(signal: NodeJS.Signals): boolean;
}

/** PIDs and command lines of processes whose command line mentions `text` (a private TMPDIR). */
export function processesUsing(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
      if (cmd.includes(text)) out.push(`${pid}: ${cmd.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * `nodeimg boot-check args` under `work` with the given accelerator; `during` may act on the
 * running CLI (kill QEMU, send SIGINT).
 */
export async function runBootCheck(
  work: string,
  accel: string,
  args: readonly string[],
  opts: { timeoutMs?: number; during?: (child: Killable, tmp: string) => Promise<void> } = {},
): Promise<BootCheckRun> {
  const tmp = await mkdtemp(join(work, 'run-'));
  const t0 = Date.now();
  const child = execa('node', ['--import', 'tsx', join(ROOT, 'pipeline', 'bin.ts'), 'boot-check', ...args], {
    cwd: ROOT,
    env: { TMPDIR: tmp, NODEIMG_ACCEL: accel },
    reject: false,
    timeout: opts.timeoutMs ?? 400_000,
  });
  if (opts.during) await opts.during(child, tmp);
  const r = await child;
  const ms = Date.now() - t0;
  // nothing left behind: no temporary folder of ours (tsx keeps its own cache there), no process
  const left = (await readdir(tmp)).filter((f) => f.startsWith('nodeimg-') || f.startsWith('vl.'));
  expect({ left, processes: processesUsing(tmp) }).toEqual({ left: [], processes: [] });
  await rm(tmp, { recursive: true, force: true });
  console.log(
    `boot-check ${args.map((a) => a.split('/').pop()).join(' ')}: exit ${r.exitCode} in ${(ms / 1000).toFixed(1)} s`,
  );
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms };
}
