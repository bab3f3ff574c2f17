// The one error hierarchy of nodeimg. Every error nodeimg throws on purpose is a NodeimgError with a
// string code; the CLI maps codes to exit codes in one place (pipeline/exit-codes.ts). This file is
// pure so that codecs and simulators can throw typed errors without importing the pipeline.

/** Every code nodeimg can throw, grouped by the class of failure (the prefix). */
export type ErrorCode =
  // input bytes are not what the format says (exit 3)
  | 'PARSE_TRUNCATED'
  | 'PARSE_INVALID'
  | 'PARSE_LIMIT'
  | 'PARSE_UNSUPPORTED'
  // the user asked for something impossible or malformed (exit 2)
  | 'USAGE'
  // a check ran and failed: mismatch, bad signature (exit 1)
  | 'CHECK_FAILED'
  // reading or writing local files (exit 4)
  | 'IO_NOT_FOUND'
  | 'IO_FAILED'
  // an external tool failed (exit 5)
  | 'TOOL_FAILED'
  | 'TOOL_MISSING'
  // a document does not match its schema (exit 6)
  | 'SCHEMA_INVALID'
  // an object store (dir, S3, HTTP; pipeline/errors.ts PublishError): bytes that do not match
  // their sha256 (exit 1), an I/O, network or server failure (exit 4)
  | 'PUBLISH_INTEGRITY'
  | 'PUBLISH_FAILED'
  // publishing refused: an immutable object or released version exists with other content (exit 7)
  | 'PUBLISH_CONFLICT'
  // fetch-measurements: each verification failure has its own code and exit code (10-22)
  | 'VERIFY_DIGEST_MISMATCH'
  | 'VERIFY_SIGNATURE'
  | 'VERIFY_WRONG_KEY'
  | 'VERIFY_WRONG_IDENTITY'
  | 'VERIFY_BUNDLE_MISMATCH'
  | 'VERIFY_TLOG_MISSING'
  | 'VERIFY_TLOG_UNTRUSTED'
  | 'VERIFY_TLOG_INCONSISTENT'
  | 'VERIFY_RELEASE_MISMATCH'
  | 'VERIFY_ROLLBACK'
  | 'VERIFY_ENFORCED_SET'
  | 'VERIFY_TLOG_UNREACHABLE'
  | 'VERIFY_NOT_FOUND'
  // package provenance (issue 12): the signed InRelease -> Packages -> .deb chain does not verify
  // (exit 1), one code per link of the chain
  | 'PROVENANCE_SIGNATURE'
  | 'PROVENANCE_EXPIRED'
  | 'PROVENANCE_INDEX_MISMATCH'
  | 'PROVENANCE_DEB_MISMATCH'
  // a bug in nodeimg (exit 70)
  | 'INTERNAL';

export interface NodeimgErrorOptions {
  readonly cause?: unknown;
  /** A hint telling the user what to do about it. */
  readonly hint?: string;
}

export class NodeimgError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly hint: string | undefined;

  constructor(code: C, message: string, options: NodeimgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  static isInstance(value: unknown): value is NodeimgError {
    return value instanceof NodeimgError;
  }
}
Object.defineProperty(NodeimgError.prototype, 'name', { value: 'NodeimgError', enumerable: false });

export type ParseErrorCode = Extract<ErrorCode, `PARSE_${string}`>;

/**
 * Bytes do not decode. `offset` is absolute within the outermost input (file or disk image) where
 * known, so a user can look at the byte with `xxd -s`.
 */
export class ParseError extends NodeimgError<ParseErrorCode> {
  readonly offset: number;
  readonly structure: string;

  constructor(
    code: ParseErrorCode,
    structure: string,
    offset: number,
    detail: string,
    options: NodeimgErrorOptions = {},
  ) {
    super(code, `${structure} at byte ${offset} (0x${offset.toString(16)}): ${detail}`, options);
    this.offset = offset;
    this.structure = structure;
  }
}
Object.defineProperty(ParseError.prototype, 'name', { value: 'ParseError', enumerable: false });

/** Wraps an unexpected value thrown by a dependency as an INTERNAL error, keeping the cause. */
export function internalError(cause: unknown, message: string): never {
  if (cause instanceof NodeimgError) throw cause;
  throw new NodeimgError('INTERNAL', message, { cause });
}
