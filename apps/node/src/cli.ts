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
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { addUnsafeOptions, unsafeOptions } from './byzantine/options.js';
import { rollback, unsafeResetAll } from './commands/reset.js';
import { runInit, runShowNodeId, runShowValidator } from './commands/show.js';
import { runStart } from './commands/start.js';
import { describeTestnet, testnet } from './commands/testnet.js';
import { DEFAULT_CONFIG } from './config/schema.js';
import { splitList } from './config/values.js';
import { DAEMON_VERSION } from './daemon.js';
import { errorLine } from './errors.js';
import { resolveHome } from './home.js';
import { loadConfig } from './home-files.js';

function integer(text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(text);
}

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
  // CometBFT's `start --halt-height`: [consensus] halt_height.
  overrides.push({
    option: new Option('--halt-height <height>', 'stop cleanly (exit 0) after committing this height'),
    path: ['consensus', 'halt_height'],
  });
  start.addOption((overrides.at(-1) as (typeof overrides)[number]).option);
  addUnsafeOptions(start);
  start.action(async (_opts, cmd: Command) => {
    const o = cmd.optsWithGlobals<Record<string, string | undefined> & { home?: string }>();
    const given = overrides.flatMap(({ option, path }) => {
      const v = cmd.getOptionValue(option.attributeName()) as string | undefined;
      return v === undefined ? [] : [{ path, value: v }];
    });
    await runStart({ home: o.home, overrides: given, unsafe: unsafeOptions(cmd) });
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
    .command('testnet')
    .description(
      'write N validator homes (+ M non-validators) with one genesis, peers and distinct ports, for a local network',
    )
    .requiredOption('--validators <n>', 'validators', integer)
    .requiredOption('--out <dir>', 'where to write node0, node1, … and keys/')
    .option('--non-validators <m>', 'nodes that follow the chain without a vote', integer, 0)
    .option('--chain-id <id>', 'the chain id', 'synod-testnet')
    .option(
      '--base-port <p>',
      'p2p port of node0; node i uses p + 10 i (p2p), + 1 (RPC), + 4 (metrics)',
      integer,
      26656,
    )
    .option(
      '--hosts <list>',
      'one host (IP or DNS name) per node, comma-separated: every node then uses the base ports',
    )
    .option('--accounts <k>', 'funded accounts (keys in OUT/keys/)', integer, 4)
    .action(
      async (o: {
        validators: number;
        out: string;
        nonValidators: number;
        chainId: string;
        basePort: number;
        hosts?: string;
        accounts: number;
      }) => {
        const out = resolve(o.out);
        const nodes = await testnet({
          out,
          validators: o.validators,
          nonValidators: o.nonValidators,
          chainId: o.chainId,
          basePort: o.basePort,
          accounts: o.accounts,
          ...(o.hosts === undefined ? {} : { hosts: splitList(o.hosts) }),
        });
        process.stdout.write(`${describeTestnet(out, nodes, o.accounts)}\n`);
      },
    );

  cli
    .command('unsafe-reset-all')
    .description(
      "remove the blocks, state and WAL (keeps the keys, and the signer's last-sign state unless --reset-signer)",
    )
    .option(
      '--reset-signer',
      "also reset the signer's last-sign state (only for a NEW chain: on the same chain it permits double signing)",
    )
    .action(async (o: { resetSigner?: boolean }, cmd: Command) => {
      const home = resolveHome(cmd.optsWithGlobals<{ home?: string }>().home);
      const r = await unsafeResetAll(home, await loadConfig(home), o.resetSigner === true);
      process.stdout.write(`removed ${r.removed.join(' and ')}\n`);
      process.stdout.write(
        r.keptSignerHeight === undefined
          ? 'reset the signer state: this validator may sign any height again; use it only on a new chain\n'
          : `kept the signer state (last signed height ${r.keptSignerHeight}): the validator will not sign at or below it, so it cannot double-sign when it rejoins this chain; for a new chain with this key, run again with --reset-signer\n`,
      );
    });

  cli
    .command('rollback')
    .description('roll the state back one height (H to H - 1); the next start executes block H again')
    .action(async (_o, cmd: Command) => {
      const home = resolveHome(cmd.optsWithGlobals<{ home?: string }>().home);
      const r = await rollback(home, await loadConfig(home));
      process.stdout.write(
        `rolled back the state from height ${r.from} to ${r.to}; block ${r.from} is executed again at the next start\n`,
      );
    });

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
