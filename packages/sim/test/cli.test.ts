import { describe, expect, it } from 'vitest';
import { parseArgs, replayCommand, UsageError } from '../src/cli-args.js';

describe('CLI arguments', () => {
  it('one seed, with options kept for the replay command', () => {
    const cli = parseArgs(['--seed', '42', '--validators', '7', '--byzantine', '2', '--no-faults']);
    expect(cli.seed).toBe(42);
    expect(cli.options).toEqual({ validators: 7, byzantine: 2, faults: false });
    expect(replayCommand(42, cli.flags)).toBe('pnpm sim --seed 42 --validators 7 --byzantine 2 --no-faults');
  });

  it('many seeds, a validator range, and the -- pnpm may pass along', () => {
    const cli = parseArgs([
      '--',
      '--seeds',
      '1000',
      '--from',
      '5',
      '--validators',
      '4-10',
      '--heights',
      '20',
    ]);
    expect(cli.seeds).toBe(1000);
    expect(cli.from).toBe(5);
    expect(cli.options).toEqual({ validators: [4, 10], heights: 20 });
  });

  it('refuses what does not make sense', () => {
    expect(() => parseArgs([])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--seeds', '2'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '-1'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--validators', '101'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--mutation', 'other'])).toThrow(UsageError);
    expect(() => parseArgs(['--seed', '1', '--frobnicate'])).toThrow(UsageError);
  });
});
