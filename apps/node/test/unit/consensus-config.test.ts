import { isSynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';

function problem(text: string, overrides: Parameters<typeof parseConfig>[2] = []): string {
  try {
    parseConfig(text, 'config.toml', overrides);
  } catch (err) {
    if (!isSynodError(err, 'CONFIG_INVALID')) throw err;
    return err.message;
  }
  throw new Error('parsed');
}

describe('[consensus] timeout_scale and halt_height', () => {
  it('default to 1 and 0 (the chain timeouts as they are; never halt)', () => {
    const c = parseConfig('');
    expect(c.consensus.timeout_scale).toBe(1);
    expect(c.consensus.halt_height).toBe(0);
  });

  it('timeout_scale takes a number in [0.1, 10], from the file or a flag (decimals too)', () => {
    expect(parseConfig('[consensus]\ntimeout_scale = 2.5').consensus.timeout_scale).toBe(2.5);
    expect(parseConfig('[consensus]\ntimeout_scale = 10').consensus.timeout_scale).toBe(10);
    expect(
      parseConfig('', 'config.toml', [{ path: ['consensus', 'timeout_scale'], value: '0.5' }]).consensus
        .timeout_scale,
    ).toBe(0.5);
    expect(problem('[consensus]\ntimeout_scale = 0.05')).toBe(
      "config.toml: [consensus] timeout_scale: expected a number in [0.1, 10] (1: the chain's timeouts as they are), got 0.05",
    );
    expect(problem('[consensus]\ntimeout_scale = 11')).toMatch(
      /timeout_scale: expected a number in \[0.1, 10\]/,
    );
    expect(problem('[consensus]\ntimeout_scale = "fast"')).toMatch(/got "fast"/);
    expect(problem('', [{ path: ['consensus', 'timeout_scale'], value: '-1' }])).toMatch(
      /^--consensus.timeout_scale: expected a number in \[0.1, 10\]/,
    );
  });

  it('halt_height takes a non-negative integer', () => {
    expect(parseConfig('[consensus]\nhalt_height = 1200').consensus.halt_height).toBe(1200);
    expect(problem('[consensus]\nhalt_height = -3')).toMatch(
      /\[consensus\] halt_height: expected an integer ≥ 0/,
    );
    expect(problem('[consensus]\nhalt_height = 1.5')).toMatch(/halt_height: expected an integer/);
  });

  it('the per-node round timeouts stay refused, naming the genesis parameters and not timeout_scale', () => {
    expect(problem('[consensus]\ntimeout_propose = "3s"')).toMatch(/consensus_params.timeout/);
  });
});
