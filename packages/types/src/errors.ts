/**
 * Typed errors. Every error Synod raises on purpose is a `SynodError` with a
 * bounded `UPPER_SNAKE` code from `ERROR_CODES`, safe to use as a metric label.
 */

export const ERROR_CODES = [
  // decoding / encoding
  'DECODE_INVALID_BYTES',
  'DECODE_TOO_LARGE',
  'DECODE_INVALID_VALUE',
  'ENCODE_INVALID_VALUE',
  // config / genesis / files
  'CONFIG_INVALID',
  'GENESIS_INVALID',
  'KEY_FILE_INVALID',
  'KEY_FILE_MODE',
  'KEY_FILE_NOT_FOUND',
  // signatures and consensus messages
  'VOTE_INVALID_SIGNATURE',
  'VOTE_UNKNOWN_VALIDATOR',
  'VOTE_INVALID',
  'PROPOSAL_INVALID_SIGNATURE',
  'PROPOSAL_WRONG_PROPOSER',
  'PROPOSAL_INVALID',
  'BLOCK_INVALID',
  'COMMIT_INVALID',
  'EVIDENCE_INVALID',
  // signer
  'SIGNER_DOUBLE_SIGN',
  'SIGNER_REGRESSION',
  'SIGNER_STATE_WRITE_FAILED',
  'SIGNER_KEY_MISMATCH',
  // storage
  'STORAGE_NOT_FOUND',
  'STORAGE_CORRUPT',
  'STORAGE_CLOSED',
  'STORAGE_LOCKED',
  'STORAGE_IO',
  'WAL_CORRUPT',
  'WAL_WRITE_FAILED',
  // transactions / application
  'TX_INVALID',
  'TX_TOO_LARGE',
  'MEMPOOL_FULL',
  // network
  'P2P_MESSAGE_TOO_LARGE',
  'P2P_INVALID_MESSAGE',
  'P2P_TIMEOUT',
  'P2P_PEER_BANNED',
  'P2P_RATE_LIMITED',
  // security
  'SECURITY_CONFLICTING_COMMITS',
  // generic
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

/** True when `code` is one of the bounded error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return CODE_SET.has(code);
}

/** The base class of every deliberate Synod error. */
export class SynodError extends Error {
  readonly code: ErrorCode;
  /** Structured, log-safe details (no secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SynodError';
    this.code = code;
    this.details = options?.details;
  }
}

/** Raised by every decoder on bytes that are not a valid encoding. */
export class DecodeError extends SynodError {
  constructor(
    code: Extract<ErrorCode, `DECODE_${string}`>,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.name = 'DecodeError';
  }
}

/** True when `err` is a SynodError, optionally of the given code. */
export function isSynodError(err: unknown, code?: ErrorCode): err is SynodError {
  return err instanceof SynodError && (code === undefined || err.code === code);
}
