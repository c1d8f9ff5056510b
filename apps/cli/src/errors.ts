/**
 * How `synod` reports a failure: one line on stderr, `synod: CODE: what is
 * wrong`, and an exit code that says which kind of failure it was (scripts
 * can branch on it). Every deliberate error is a `CliError`; anything else
 * is reported as INTERNAL with exit code 1.
 */

/** Exit codes (documented in the README and `synod --help`). */
export const EXIT = Object.freeze({
  ok: 0,
  /** A bug or an unexpected failure. */
  internal: 1,
  /** Bad command line: unknown command or flag, bad address, amount, number or URL. */
  usage: 2,
  /** Keyring: unknown key, key exists, wrong passphrase, unreadable key or key file. */
  key: 3,
  /** The node cannot be reached, or its RPC answered with an error. */
  node: 4,
  /** The node rejected the transaction (check or execution), with its code and log. */
  rejected: 5,
  /** The transaction was accepted but not seen committed in time (`--wait`). */
  timeout: 6,
  /** What was asked for does not exist (transaction, block, account, validator). */
  notFound: 7,
  /** A local network: already running, not running, or a node failed to start. */
  localnet: 8,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The bounded codes of the CLI's errors, with the exit code of each. */
export const CLI_ERROR_CODES = {
  USAGE: EXIT.usage,
  BAD_ADDRESS: EXIT.usage,
  BAD_AMOUNT: EXIT.usage,
  BAD_PUBKEY: EXIT.usage,
  BAD_URL: EXIT.usage,
  UNKNOWN_KEY: EXIT.key,
  KEY_EXISTS: EXIT.key,
  WRONG_PASSPHRASE: EXIT.key,
  BAD_MNEMONIC: EXIT.key,
  KEYRING_INVALID: EXIT.key,
  NODE_UNREACHABLE: EXIT.node,
  RPC_ERROR: EXIT.node,
  INSUFFICIENT_FUNDS: EXIT.rejected,
  WRONG_NONCE: EXIT.rejected,
  TX_REJECTED: EXIT.rejected,
  TX_FAILED: EXIT.rejected,
  TIMEOUT: EXIT.timeout,
  NOT_FOUND: EXIT.notFound,
  LOCALNET: EXIT.localnet,
  INTERNAL: EXIT.internal,
} as const;

export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = CLI_ERROR_CODES[code];
  }
}

/** The one line printed for `err` (no trailing newline): its code and its message, newlines folded. */
export function errorLine(err: unknown): string {
  const code = err instanceof CliError ? err.code : codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const folded = message
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join('; ');
  return `synod: ${code}: ${folded}`;
}

/** The exit code for `err`. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  return EXIT.internal;
}

function codeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  }
  return 'INTERNAL';
}
