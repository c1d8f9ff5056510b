#!/usr/bin/env node
/**
 * synodd, the Synod node daemon. Commands and flags follow CometBFT's:
 * init, start, testnet, show-validator, show-node-id, unsafe-reset-all,
 * rollback, version; `--home DIR` everywhere ($SYNODD_HOME, default
 * ~/.synodd); `start --p2p.laddr …` overrides any config.toml key.
 *
 * A failure prints one line (`synodd: CODE: what is wrong`) on stderr and
 * exits 1.
 */
import '@synod/polyfills';
import { Command, Option } from 'commander';
import { runInit, runShowNodeId, runShowValidator } from './commands/show.js';
import { runStart } from './commands/start.js';
import { DEFAULT_CONFIG } from './config/schema.js';
import { DAEMON_VERSION } from './daemon.js';
import { errorLine } from './errors.js';

/** One `--section.key <value>` option per config.toml key, and the key it sets. */
function overrideOptions(): { option: Option; path: [string] | [string, string] }[] {
  const out: { option: Option; path: [string] | [string, string] }[] = [];
  for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
    if (typeof value !== 'object') {
      out.push({ option: new Option(`--${key} <value>`, `overrides config.toml's ${key}`), path: [key] });
      continue;
    }
    for (const sub of Object.keys(value))
      out.push({
        option: new Option(`--${key}.${sub} <value>`, `overrides config.toml's [${key}] ${sub}`),
        path: [key, sub],
      });
  }
  return out;
}

export function program(): Command {
  const cli = new Command('synodd')
    .description('The Synod node daemon')
    .option('--home <dir>', 'the node home folder (default: $SYNODD_HOME or ~/.synodd)')
    .showHelpAfterError()
    .configureOutput({
      outputError: (text, write) => write(`synodd: ${text.replace(/^error: /, 'USAGE: ')}`),
    });

  cli
    .command('init')
    .description(
      'write a new home: config.toml, genesis.json (a one-validator chain), node and validator keys',
    )
    .requiredOption('--chain-id <id>', 'the chain id')
    .option('--moniker <name>', "this node's name (default: the host name)")
    .action(async (_opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ home?: string; chainId: string; moniker?: string }>();
      await runInit(o);
    });

  const start = cli
    .command('start')
    .description(
      'run the node (config keys can be overridden: --p2p.laddr, --p2p.persistent_peers, --rpc.laddr, --log_level, …)',
    );
  const overrides = overrideOptions();
  for (const { option } of overrides) start.addOption(option.hideHelp(!isCommonFlag(option)));
  start.action(async (_opts, cmd: Command) => {
    const o = cmd.optsWithGlobals<Record<string, string | undefined> & { home?: string }>();
    const given = overrides.flatMap(({ option, path }) => {
      const v = cmd.getOptionValue(option.attributeName()) as string | undefined;
      return v === undefined ? [] : [{ path, value: v }];
    });
    await runStart({ home: o.home, overrides: given });
  });

  cli
    .command('show-validator')
    .description("print the validator's public key (CometBFT's JSON form)")
    .action(async (_opts, cmd: Command) => runShowValidator(cmd.optsWithGlobals<{ home?: string }>()));

  cli
    .command('show-node-id')
    .description("print this node's peer id (the ID of ID@HOST:PORT in persistent_peers)")
    .action(async (_opts, cmd: Command) => runShowNodeId(cmd.optsWithGlobals<{ home?: string }>()));

  cli
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${DAEMON_VERSION}\n`);
    });
  return cli;
}

const COMMON = new Set([
  '--p2p.laddr',
  '--p2p.persistent_peers',
  '--p2p.seeds',
  '--rpc.laddr',
  '--log_level',
  '--log_format',
  '--moniker',
]);

function isCommonFlag(option: Option): boolean {
  return COMMON.has(option.long ?? '');
}

program()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`${errorLine(err)}\n`);
    process.exitCode = 1;
  });
