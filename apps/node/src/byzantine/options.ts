/** The hidden test-only options of `synodd start` (see index.ts). */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { UnsafeTestOptions } from './index.js';
import { BYZANTINE_MODES } from './modes.js';

export function addUnsafeOptions(start: Command): void {
  start.addOption(
    new Option(
      '--unsafe-byzantine <mode>',
      `TEST CHAINS ONLY (chain id test-…): misbehave as a Byzantine validator (${BYZANTINE_MODES.join(', ')})`,
    ).hideHelp(),
  );
  start.addOption(
    new Option(
      '--unsafe-clock-skew-ms <ms>',
      "TEST CHAINS ONLY: run the node's clock this many milliseconds ahead (negative: behind)",
    )
      .argParser((text: string) => {
        if (!/^-?\d{1,9}$/.test(text)) throw new InvalidArgumentError('expected an integer (milliseconds)');
        return Number(text);
      })
      .hideHelp(),
  );
}

export function unsafeOptions(cmd: Command): UnsafeTestOptions {
  const byzantine = cmd.getOptionValue('unsafeByzantine') as string | undefined;
  const clockSkewMs = cmd.getOptionValue('unsafeClockSkewMs') as number | undefined;
  return {
    ...(byzantine === undefined ? {} : { byzantine }),
    ...(clockSkewMs === undefined ? {} : { clockSkewMs }),
  };
}
