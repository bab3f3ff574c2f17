// Ctrl-C and SIGTERM for long-running commands (build, release, boot-check): the first signal says
// what is being stopped and aborts the command's AbortSignal, which reaches every child process
// started through runTool and every stage; the command then cleans up and exits 130. Later signals
// while stopping only say so. dispose() removes the handlers (always call it, in a finally).
import type { Writable } from 'node:stream';

export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function onInterrupt(stderr: Writable, command: string, stopping: string): Interrupt {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) {
      stderr.write(`${command}: ${sig}: still stopping\n`);
      return;
    }
    stderr.write(`\n${command}: ${sig}: ${stopping}\n`);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
