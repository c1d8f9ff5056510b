import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/errors.js';
import { rejection } from '../../src/tx.js';
import { durationArg, parseAddress, parseAmount, parseNodeUrl, parsePubKey } from '../../src/values.js';

const fails = (f: () => unknown, code: string, re: RegExp): void => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).code).toBe(code);
    expect((err as CliError).message).toMatch(re);
    return;
  }
  throw new Error('did not throw');
};

describe('command-line values', () => {
  it('amounts: whole base units up to 2^64 − 1', () => {
    expect(parseAmount('1_000')).toBe(1000n);
    expect(parseAmount('18446744073709551615')).toBe(2n ** 64n - 1n);
    fails(() => parseAmount('0'), 'BAD_AMOUNT', /must be above 0/);
    expect(parseAmount('0', 'fee', true)).toBe(0n);
    for (const bad of ['ten', '-5', '1e3', '1.0', ''])
      fails(() => parseAmount(bad), 'BAD_AMOUNT', /whole number of base units/);
    fails(() => parseAmount('18446744073709551616'), 'BAD_AMOUNT', /larger than 2\^64/);
  });

  it('addresses, public keys and node URLs', () => {
    expect(parseAddress(`0x${'AB'.repeat(20)}`)).toEqual(new Uint8Array(20).fill(0xab));
    fails(() => parseAddress('ab'.repeat(19)), 'BAD_ADDRESS', /40 hex characters/);
    expect(parsePubKey('cd'.repeat(32))).toEqual(new Uint8Array(32).fill(0xcd));
    expect(parsePubKey(Buffer.alloc(32, 7).toString('base64'))).toEqual(new Uint8Array(32).fill(7));
    fails(() => parsePubKey('cd'.repeat(31)), 'BAD_PUBKEY', /64 hex characters or the base64/);
    expect(parseNodeUrl('tcp://127.0.0.1:26657')).toBe('http://127.0.0.1:26657');
    expect(parseNodeUrl('localhost:26657')).toBe('http://localhost:26657');
    fails(() => parseNodeUrl('ftp://x'), 'BAD_URL', /http/);
  });

  it('durations', () => {
    expect(durationArg('--d')('20')).toBe(20_000);
    expect(durationArg('--d')('2m')).toBe(120_000);
    expect(durationArg('--d')('500ms')).toBe(500);
    fails(() => durationArg('--d')('soon'), 'USAGE', /duration such as 20s/);
  });

  it("the node's refusals: insufficient funds and wrong nonce have their own code, the rest is TX_REJECTED", () => {
    expect(rejection(19, 'TX_INSUFFICIENT_FUNDS', 'balance 5 < fee 1000')).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      exitCode: 5,
      message: 'insufficient funds: TX_INSUFFICIENT_FUNDS (code 19): balance 5 < fee 1000',
    });
    expect(rejection(17, 'TX_BAD_NONCE', 'x')).toMatchObject({ code: 'WRONG_NONCE', exitCode: 5 });
    expect(rejection(4, 'NONCE_CONFLICT', 'x')).toMatchObject({
      code: 'WRONG_NONCE',
      message: expect.stringMatching(/pending/),
    });
    expect(rejection(15, 'TX_FEE_TOO_LOW', 'fee 1 < 1000')).toMatchObject({
      code: 'TX_REJECTED',
      message: 'transaction rejected: TX_FEE_TOO_LOW (code 15): fee 1 < 1000',
    });
    expect(rejection(20, 'TX_NOT_OPERATOR', 'not yours', true)).toMatchObject({
      code: 'TX_FAILED',
      message: 'transaction failed in its block: TX_NOT_OPERATOR (code 20): not yours',
    });
  });
});
