/**
 * Command-line values: integers, amounts, addresses, public keys, node URLs.
 * Each bad value is a CliError naming the flag or argument and what is
 * allowed (exit code 2).
 */
import { fromHex } from '@synod/crypto';
import { CliError } from './errors.js';

const U64_MAX = (1n << 64n) - 1n;

/** A commander parser for a non-negative integer flag. */
export function integerArg(flag: string, min = 0, max = 1_000_000_000): (text: string) => number {
  return (text: string) => {
    if (!/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max)
      throw new CliError('USAGE', `${flag} ${JSON.stringify(text)}: expected an integer in [${min}, ${max}]`);
    return Number(text);
  };
}

/** A commander parser for a positive number (may have decimals). */
export function numberArg(flag: string, min: number, max: number): (text: string) => number {
  return (text: string) => {
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || !(n >= min && n <= max))
      throw new CliError('USAGE', `${flag} ${JSON.stringify(text)}: expected a number in [${min}, ${max}]`);
    return n;
  };
}

/** A duration: `20`, `20s`, `2m`, `500ms` → milliseconds. */
export function durationArg(flag: string): (text: string) => number {
  return (text: string) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
    if (m === null)
      throw new CliError(
        'USAGE',
        `${flag} ${JSON.stringify(text)}: expected a duration such as 20s, 2m or 500ms`,
      );
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] as number;
    const ms = Number(m[1]) * unit;
    if (!(ms > 0) || ms > 24 * 3_600_000)
      throw new CliError('USAGE', `${flag} ${text}: must be above 0 and at most 24h`);
    return ms;
  };
}

/** An amount in base units: a positive integer (decimal digits, `_` allowed as a separator) up to 2^64 − 1. */
export function parseAmount(text: string, what = 'amount', allowZero = false): bigint {
  const t = text.replaceAll('_', '');
  if (!/^\d{1,20}$/.test(t))
    throw new CliError(
      'BAD_AMOUNT',
      `${what} ${JSON.stringify(text)}: expected a whole number of base units (digits only, e.g. 1000)`,
    );
  const v = BigInt(t);
  if (v > U64_MAX) throw new CliError('BAD_AMOUNT', `${what} ${text}: larger than 2^64 − 1`);
  if (v === 0n && !allowZero) throw new CliError('BAD_AMOUNT', `${what} must be above 0`);
  return v;
}

/** An account address: 40 hex characters (20 bytes), optionally with 0x. */
export function parseAddress(text: string, what = 'address'): Uint8Array {
  const t = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{40}$/.test(t))
    throw new CliError(
      'BAD_ADDRESS',
      `${what} ${JSON.stringify(text)}: expected 40 hex characters (a 20-byte address, as \`synod keys show NAME -a\` prints)`,
    );
  return fromHex(t);
}

/** A validator public key: 64 hex characters, or base64 of 32 bytes (as `synodd show-validator` prints). */
export function parsePubKey(text: string, what = 'validator public key'): Uint8Array {
  const t = text.startsWith('0x') ? text.slice(2) : text;
  if (/^[0-9a-fA-F]{64}$/.test(t)) return fromHex(t);
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    const b = Buffer.from(text, 'base64');
    if (b.length === 32) return new Uint8Array(b);
  }
  throw new CliError(
    'BAD_PUBKEY',
    `${what} ${JSON.stringify(text)}: expected 64 hex characters or the base64 of 32 bytes (synodd show-validator's value)`,
  );
}

/** `--node`: http(s)://host:port, or CometBFT's tcp://host:port (taken as http). */
export function parseNodeUrl(text: string): string {
  const t = text.replace(/^tcp:\/\//, 'http://');
  let url: URL;
  try {
    url = new URL(t.includes('://') ? t : `http://${t}`);
  } catch {
    throw new CliError(
      'BAD_URL',
      `--node ${JSON.stringify(text)}: expected a URL such as http://127.0.0.1:26657`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError('BAD_URL', `--node ${text}: expected http://, https:// or tcp://`);
  return url.toString().replace(/\/$/, '');
}

export const DEFAULT_NODE = 'http://127.0.0.1:26657';

/** The node URL: `--node`, else $SYNOD_NODE, else http://127.0.0.1:26657. */
export function nodeUrl(flag: string | undefined): string {
  const env = process.env.SYNOD_NODE;
  return parseNodeUrl(flag ?? (env !== undefined && env !== '' ? env : DEFAULT_NODE));
}
