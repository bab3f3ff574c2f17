// The one place where error codes become process exit codes (documented in README.md).
import { NodeimgError, type ErrorCode } from '../image/formats/errors.js';

export const EXIT = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  badInput: 3,
  io: 4,
  tool: 5,
  schema: 6,
  internal: 70,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  CHECK_FAILED: EXIT.checkFailed,
  USAGE: EXIT.usage,
  PARSE_TRUNCATED: EXIT.badInput,
  PARSE_INVALID: EXIT.badInput,
  PARSE_LIMIT: EXIT.badInput,
  PARSE_UNSUPPORTED: EXIT.badInput,
  IO_NOT_FOUND: EXIT.io,
  IO_FAILED: EXIT.io,
  TOOL_FAILED: EXIT.tool,
  TOOL_MISSING: EXIT.tool,
  SCHEMA_INVALID: EXIT.schema,
  INTERNAL: EXIT.internal,
};

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof NodeimgError)) return EXIT.internal;
  const code: ErrorCode = (err as NodeimgError).code;
  return BY_CODE[code];
}
