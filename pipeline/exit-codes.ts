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
  publishConflict: 7,
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
  PUBLISH_INTEGRITY: EXIT.checkFailed,
  PUBLISH_FAILED: EXIT.io,
  PUBLISH_CONFLICT: EXIT.publishConflict,
  // fetch-measurements: one exit code per failed verification check (README, "Exit codes")
  VERIFY_DIGEST_MISMATCH: 10,
  VERIFY_SIGNATURE: 11,
  VERIFY_WRONG_KEY: 12,
  VERIFY_WRONG_IDENTITY: 13,
  VERIFY_BUNDLE_MISMATCH: 14,
  VERIFY_TLOG_MISSING: 15,
  VERIFY_TLOG_UNTRUSTED: 16,
  VERIFY_TLOG_INCONSISTENT: 17,
  VERIFY_RELEASE_MISMATCH: 18,
  VERIFY_ROLLBACK: 19,
  VERIFY_ENFORCED_SET: 20,
  VERIFY_TLOG_UNREACHABLE: 21,
  VERIFY_NOT_FOUND: 22,
  // package provenance (issue 12): a check that ran and failed; the code names the broken link
  PROVENANCE_SIGNATURE: EXIT.checkFailed,
  PROVENANCE_EXPIRED: EXIT.checkFailed,
  PROVENANCE_INDEX_MISMATCH: EXIT.checkFailed,
  PROVENANCE_DEB_MISMATCH: EXIT.checkFailed,
  INTERNAL: EXIT.internal,
};

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof NodeimgError)) return EXIT.internal;
  const code: ErrorCode = (err as NodeimgError).code;
  return BY_CODE[code];
}
