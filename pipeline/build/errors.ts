// Errors of a build, in the one hierarchy (pipeline/errors.ts): what a stage throws is prefixed
// with the stage's id; file-system errors (ENOSPC, EACCES, ...) become IO_FAILED / IO_NOT_FOUND
// with what was being done, anything else that is not a NodeimgError is a bug (INTERNAL).
import { NodeimgError } from '../errors.js';

const IO_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EACCES',
  'EPERM',
  'EROFS',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EISDIR',
  'ENOTDIR',
  'EXDEV',
  'EBUSY',
  'EFBIG',
]);

/** `err` as a NodeimgError, its message prefixed with `context` (e.g. "stage uki"). */
export function contextError(context: string, err: unknown): NodeimgError {
  if (err instanceof NodeimgError)
    return new NodeimgError(err.code, `${context}: ${err.message}`, {
      cause: err,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return new NodeimgError('IO_NOT_FOUND', `${context}: ${message}`, { cause: err });
  if (code !== undefined && IO_CODES.has(code)) {
    const hint =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? 'free some space (the cache folder holds every stage output; it can be removed safely) or choose another --cache / -o'
        : undefined;
    return new NodeimgError('IO_FAILED', `${context}: ${message}`, { cause: err, ...(hint ? { hint } : {}) });
  }
  return new NodeimgError('INTERNAL', `${context}: ${message}`, { cause: err });
}

/** The build was stopped by its abort signal (Ctrl-C); the CLI exits 130. */
export class BuildInterrupted extends Error {
  constructor(reason: unknown) {
    super(`build interrupted${reason instanceof Error ? `: ${reason.message}` : ''}`);
  }
}
Object.defineProperty(BuildInterrupted.prototype, 'name', { value: 'BuildInterrupted', enumerable: false });
