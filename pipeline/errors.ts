// Errors of the I/O side of nodeimg. They extend the one hierarchy rooted in image/formats/errors.ts
// (pure, so codecs and simulators can use it too); the CLI maps codes to exit codes in exit-codes.ts.
import { NodeimgError, type ErrorCode, type NodeimgErrorOptions } from '../image/formats/errors.js';

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

export type PublishErrorCode = Extract<ErrorCode, `PUBLISH_${string}`>;

/**
 * An object store refused or failed an operation (pipeline/ports.ts ObjectStore). Like an AWS
 * ServiceException's $fault/$retryable (STYLE.md §4.4): whose fault it is, and whether the same
 * call may succeed when repeated (a lost compare-and-swap, a 5xx, a reset connection).
 */
export class PublishError extends NodeimgError<PublishErrorCode> {
  /** The store and key, e.g. `s3://bucket/prefix/v2/ref/-/stream/stable/v1.0.0/image/info.json`. */
  readonly target: string;
  readonly fault: 'client' | 'server';
  readonly retryable: boolean;
  /** HTTP status of the answer, when there was one. */
  readonly status: number | undefined;

  constructor(
    code: PublishErrorCode,
    info: { target: string; fault: 'client' | 'server'; retryable: boolean; status?: number },
    message: string,
    options: NodeimgErrorOptions = {},
  ) {
    super(code, `${info.target}: ${message}`, options);
    this.target = info.target;
    this.fault = info.fault;
    this.retryable = info.retryable;
    this.status = info.status;
  }
}
Object.defineProperty(PublishError.prototype, 'name', { value: 'PublishError', enumerable: false });
