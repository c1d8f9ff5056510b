/**
 * How the daemon reports a failure: one line on stderr naming what is wrong
 * (`synodd: CONFIG_INVALID: config.toml: [p2p] laddr: …`), exit code 1.
 * Every deliberate error is a SynodError (or @synod/crypto's CryptoError for
 * key files) with a bounded code; anything else is reported as INTERNAL.
 */
import { type ErrorCode, SynodError } from '@synod/types';

/** A SynodError of `code` (shorthand). */
export function daemonError(code: ErrorCode, message: string, cause?: unknown): SynodError {
  return new SynodError(code, message, cause === undefined ? undefined : { cause });
}

function codeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  }
  return 'INTERNAL';
}

/** The one line printed for `err`: its code and its message, newlines folded. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const folded = message
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join('; ')
    .replace(/:;/g, ':');
  return `synodd: ${codeOf(err)}: ${folded}`;
}
