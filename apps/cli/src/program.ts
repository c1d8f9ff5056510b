/**
 * The `synod` program (commander) and its error handling.
 */
import { Command, CommanderError } from 'commander';
import { registerKeys } from './commands/keys.js';
import { registerLoad } from './commands/load.js';
import { registerLocalnet } from './commands/localnet.js';
import { registerQuery } from './commands/query.js';
import { registerTx } from './commands/tx.js';
import { CliError, EXIT, type ExitCode, errorLine, exitCodeOf } from './errors.js';
import { closePrompter } from './keys/prompt.js';

export const CLI_VERSION = '0.1.0';

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  internal error (a bug)
  2  bad command line: unknown command or flag, bad address, amount, number or URL
  3  keyring: unknown key, key exists, wrong passphrase, unreadable key
  4  node unreachable, or its RPC failed
  5  transaction rejected by the node (insufficient funds, wrong nonce, …: code and log)
  6  timed out waiting for the transaction's commit
  7  not found (transaction, block, account, validator)
  8  local network: already running, not running, or a node failed to start`;

export function program(): Command {
  const cli = new Command('synod')
    .description('The Synod command line: keys, queries, transactions, a local network, a load generator')
    .version(CLI_VERSION)
    .exitOverride()
    .configureOutput({
      // One line: commander's message, and where to look.
      outputError: (text, write) =>
        write(`synod: USAGE: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .addHelpText('after', EXIT_CODES_HELP);
  registerKeys(cli);
  registerQuery(cli);
  registerTx(cli);
  registerLocalnet(cli);
  registerLoad(cli);
  return cli;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync(argv as string[], { from: 'user' });
    // a command may set a non-zero code after printing (e.g. `localnet status` of a stopped network)
    return typeof process.exitCode === 'number' ? (process.exitCode as ExitCode) : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok; // --help, --version
      return EXIT.usage; // commander printed its line
    }
    process.stderr.write(`${errorLine(err)}\n`);
    if (!(err instanceof CliError) && process.env.SYNOD_DEBUG)
      process.stderr.write(`${(err as Error).stack}\n`);
    return exitCodeOf(err);
  } finally {
    closePrompter();
  }
}
