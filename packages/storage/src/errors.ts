import { SynodError } from '@synod/types';

interface CodedError {
  readonly code?: unknown;
  readonly cause?: unknown;
}

/** The `code` strings of `err` and its causes, outermost first. */
function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const coded = current as CodedError;
    if (typeof coded.code === 'string') codes.push(coded.code);
    current = coded.cause;
  }
  return codes;
}

/** The message of the innermost cause (the most specific one). */
function deepestMessage(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message;
    current = current.cause;
  }
  return message;
}

/** Maps an error from LevelDB or the file system to a `SynodError` (a SynodError passes through). */
export function toStorageError(err: unknown, what: string): SynodError {
  if (err instanceof SynodError) return err;
  const codes = errorCodes(err);
  const reason = deepestMessage(err);
  if (codes.includes('LEVEL_LOCKED')) {
    return new SynodError(
      'STORAGE_LOCKED',
      `${what}: the database is locked (is another node process running?)`,
      {
        cause: err,
        details: { levelCodes: codes },
      },
    );
  }
  if (codes.includes('LEVEL_CORRUPTION')) {
    return new SynodError('STORAGE_CORRUPT', `${what}: LevelDB reports corruption: ${reason}`, {
      cause: err,
      details: { levelCodes: codes },
    });
  }
  // abstract-level reports a failed open as LEVEL_DATABASE_NOT_OPEN with the real problem as its cause.
  if (
    codes.length === 1 &&
    (codes[0] === 'LEVEL_DATABASE_NOT_OPEN' || codes[0] === 'LEVEL_ITERATOR_NOT_OPEN')
  ) {
    return new SynodError('STORAGE_CLOSED', `${what}: the store is closed`, { cause: err });
  }
  return new SynodError('STORAGE_IO', `${what}: ${reason}`, { cause: err, details: { codes } });
}

export function closedError(what: string): SynodError {
  return new SynodError('STORAGE_CLOSED', `${what}: the store is closed`);
}

/** Rejects a key or value that is not a Uint8Array (a caller bug, reported as a typed error). */
export function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new SynodError('ENCODE_INVALID_VALUE', `${what} must be a Uint8Array, got ${typeof value}`);
  }
}

/** Validates batch operations before any of them is applied. */
export function assertBatchOps(ops: readonly unknown[], what: string): void {
  for (const [i, op] of ops.entries()) {
    const o = op as { type?: unknown; key?: unknown; value?: unknown } | null;
    if (o === null || typeof o !== 'object' || (o.type !== 'put' && o.type !== 'del')) {
      throw new SynodError('ENCODE_INVALID_VALUE', `${what}: operation ${i} must be a put or a del`);
    }
    assertBytes(o.key, `${what}: operation ${i} key`);
    if (o.type === 'put') assertBytes(o.value, `${what}: operation ${i} value`);
  }
}
