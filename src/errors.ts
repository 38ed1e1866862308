/**
 * Every error relprop throws on purpose is a RelpropError with a stable `code`, so callers (and the CLI)
 * can tell bad input from bugs. Messages name the offending thing and where it is.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'BAD_TARGET'
  | 'BAD_OPTION'
  | 'UNKNOWN_COMPOSITE'
  | 'UNKNOWN_RULE'
  | 'RULE_NOT_APPLICABLE'
  | 'BAD_GRAPH'
  | 'UNSUPPORTED'
  | 'UNKNOWN_ARCH'
  | 'MEMORY_LIMIT'
  /** A model file that cannot be read: truncated, corrupt, inconsistent or hostile. */
  | 'BAD_MODEL'
  /** A file, directory or model name that does not exist. */
  | 'NOT_FOUND'
  /** Obtaining a model failed: npm, the network or the integrity check. */
  | 'FETCH_FAILED'
  /** An image that cannot be decoded. */
  | 'BAD_IMAGE'
  /** A worker thread failed or stopped answering during a computation. */
  | 'WORKER_FAILED'
  /** A model used after its dispose(). */
  | 'DISPOSED';

export class RelpropError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'RelpropError';
    this.code = code;
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new RelpropError(code, message);
}
