// Errors of the I/O side of nodeimg. They extend the one hierarchy rooted in image/formats/errors.ts
// (pure, so codecs and simulators can use it too); the CLI maps codes to exit codes in exit-codes.ts.
import { NodeimgError, type NodeimgErrorOptions } from '../image/formats/errors.js';

export { NodeimgError, ParseError, internalError, type ErrorCode } from '../image/formats/errors.js';

/** Wrong flags or arguments: exit 2, with the usage line of the command in the hint. */
export class UsageError extends NodeimgError<'USAGE'> {
  constructor(message: string, options: NodeimgErrorOptions = {}) {
    super('USAGE', message, options);
  }
}

/** A check ran to completion and failed (mismatch, bad signature): exit 1. */
export class CheckFailedError extends NodeimgError<'CHECK_FAILED'> {
  constructor(message: string, options: NodeimgErrorOptions = {}) {
    super('CHECK_FAILED', message, options);
  }
}

/** An external tool failed; carries what is needed to reproduce and diagnose it. */
export class ToolError extends NodeimgError<'TOOL_FAILED' | 'TOOL_MISSING'> {
  readonly tool: string;
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderrTail: string;

  constructor(
    code: 'TOOL_FAILED' | 'TOOL_MISSING',
    info: { tool: string; argv: readonly string[]; exitCode?: number; stderrTail?: string },
    message: string,
    options: NodeimgErrorOptions = {},
  ) {
    super(code, message, options);
    this.tool = info.tool;
    this.argv = info.argv;
    this.exitCode = info.exitCode;
    this.stderrTail = info.stderrTail ?? '';
  }
}

/** A JSON document does not match its schema; every failing instance path is listed. */
export class SchemaError extends NodeimgError<'SCHEMA_INVALID'> {
  readonly fields: readonly string[];
  constructor(what: string, fields: readonly string[]) {
    super('SCHEMA_INVALID', `${what} does not match its schema:\n  ${fields.join('\n  ')}`);
    this.fields = fields;
  }
}
