/**
 * Typed errors raised by @synod/crypto.
 *
 * @synod/crypto is a leaf package (it must not depend on @synod/types, which
 * depends on it), so it cannot throw `SynodError`. `CryptoError` mirrors its
 * shape instead: a bounded `code` whose strings are the same as the matching
 * `ErrorCode`s of @synod/types, so callers can map one onto the other 1:1.
 */

/** Every code a `CryptoError` can carry (all are also @synod/types error codes). */
export const CRYPTO_ERROR_CODES = ['KEY_FILE_INVALID', 'KEY_FILE_MODE', 'KEY_FILE_NOT_FOUND'] as const;

export type CryptoErrorCode = (typeof CRYPTO_ERROR_CODES)[number];

/**
 * The error @synod/crypto raises on purpose (key files). Programming errors
 * (a 31-byte seed passed to `sign`, bad hex given to `fromHex`) are plain
 * `TypeError`s / `RangeError`s instead.
 */
export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  /** Structured, log-safe details (never key material). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CryptoError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `err` is a CryptoError, optionally of the given code. */
export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}
