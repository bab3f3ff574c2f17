import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Writable } from 'node:stream';
import { UsageError } from './errors.js';

/** Where a command writes: machine output to stdout, progress and diagnostics to stderr. */
export interface CommandIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** One line: `nodeimg inspect <disk.raw | file.efi> [--json]`. */
  readonly usage: string;
  /** Option and argument descriptions, shown by --help. */
  readonly help: string;
  readonly options: OptionSpec;
  readonly positionals: { readonly min: number; readonly max: number };
  run(args: ParsedArgs, io: CommandIo): Promise<number>;
}

/** Parses argv strictly for one command; unknown options and wrong arity are usage errors. */
export function parseCommandArgs(cmd: Command, argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: cmd.options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''), {
      hint: `usage: ${cmd.usage}`,
    });
  }
  const n = parsed.positionals.length;
  if (n < cmd.positionals.min || n > cmd.positionals.max) {
    const want =
      cmd.positionals.min === cmd.positionals.max
        ? `${cmd.positionals.min}`
        : `${cmd.positionals.min}..${cmd.positionals.max}`;
    throw new UsageError(`expected ${want} argument(s), got ${n}`, { hint: `usage: ${cmd.usage}` });
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

export function helpText(cmd: Command): string {
  return `usage: ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trimEnd()}\n`;
}

/** Writes one JSON document (stable key order as built, 2-space indent, trailing newline). */
export function writeJson(io: CommandIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
