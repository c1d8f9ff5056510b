/**
 * `synod load --rate R --duration D [--accounts K] [--node URL…]`: signed
 * transfers from a testnet's funded accounts, a progress bar
 * (cli-progress) on stderr, and a report (a table, or --output json).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isCryptoError, type KeyPair, readKeyFile } from '@synod/crypto';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { DEFAULT_BATCH, type LoadProgress, runLoad } from '../load/load.js';
import { renderReport } from '../load/report.js';
import { loadState } from '../localnet/net.js';
import { emit, type OutputFormat, parseOutput } from '../output.js';
import { durationArg, integerArg, numberArg, parseNodeUrl } from '../values.js';

async function readKeys(dir: string, count: number): Promise<KeyPair[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /^account\d+\.json$/.test(f));
  } catch {
    throw new CliError(
      'USAGE',
      `--keys ${dir}: cannot read the folder (a testnet's keys/ folder, written by synodd testnet --accounts)`,
    );
  }
  files.sort((a, b) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')));
  if (files.length < 2)
    throw new CliError('USAGE', `--keys ${dir}: fewer than 2 account keys (account0.json, …)`);
  const out: KeyPair[] = [];
  for (const f of files.slice(0, count)) {
    try {
      out.push((await readKeyFile(join(dir, f))).keyPair);
    } catch (err) {
      if (isCryptoError(err)) throw new CliError('KEYRING_INVALID', err.message);
      throw err;
    }
  }
  return out;
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description("signed transfers at a steady rate over the nodes' RPC; a progress bar, then a report")
    .requiredOption('--rate <tx/s>', 'transactions per second', numberArg('--rate', 0.1, 100_000))
    .requiredOption('--duration <duration>', 'how long to submit (e.g. 20s, 2m)', durationArg('--duration'))
    .option(
      '--accounts <k>',
      'funded accounts to send from (default: every key found)',
      integerArg('--accounts', 2, 10_000),
    )
    .option('--node <url...>', 'RPC addresses to spread over (default: every node of the local network)')
    .option('--keys <dir>', "the funded accounts' key files (default: the local network's keys/)")
    .option('--dir <dir>', 'the local network folder (default: the last one started)')
    .option(
      '--drain <duration>',
      'how long to wait for pending transactions after the last submission',
      durationArg('--drain'),
      20_000,
    )
    .option(
      '--batch <n>',
      "transactions per HTTP request (a JSON-RPC batch; at most the node's [rpc] max_request_batch_size)",
      integerArg('--batch', 1, 10_000),
      DEFAULT_BATCH,
    )
    .option('-o, --output <format>', 'text or json', parseOutput, 'text')
    .addHelpText(
      'after',
      '\nExamples:\n  pnpm localnet --detach && synod load --rate 200 --duration 20\n  synod load --rate 50 --duration 1m --node http://127.0.0.1:26657 --keys ./testnet/keys --output json',
    )
    .action(
      async (o: {
        rate: number;
        duration: number;
        accounts?: number;
        node?: string[];
        keys?: string;
        dir?: string;
        drain: number;
        batch: number;
        output: OutputFormat;
      }) => {
        let nodes = o.node?.map(parseNodeUrl);
        let keysDir = o.keys;
        if (nodes === undefined || keysDir === undefined) {
          const state = await loadState(o.dir).catch((err: unknown) => {
            if (err instanceof CliError)
              throw new CliError('LOCALNET', `${err.message}; or give --node and --keys`);
            throw err;
          });
          nodes ??= state.nodes.map((n) => n.rpc);
          keysDir ??= join(state.dir, 'keys');
        }
        const keys = await readKeys(keysDir, o.accounts ?? 10_000);
        const tty = process.stderr.isTTY === true;
        const bar = tty
          ? new cliProgress.SingleBar(
              {
                format:
                  '{bar} {percentage}% | {secs}/{total_s} s | submitted {submitted} · committed {committed} · pending {pending} · errors {errors} · {rate} tx/s{phase}',
                hideCursor: true,
                stream: process.stderr,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
        let lastLine = 0;
        const fields = (p: LoadProgress) => ({
          secs: (Math.min(p.elapsedMs, p.durationMs) / 1000).toFixed(0),
          total_s: (p.durationMs / 1000).toFixed(0),
          submitted: p.submitted,
          committed: p.committed,
          pending: p.pending,
          errors: p.errors,
          rate: p.submitTxPerSec.toFixed(0),
          phase: p.draining ? ' · waiting for the last commits' : '',
        });
        bar?.start(
          Math.floor((o.rate * o.duration) / 1000),
          0,
          fields({
            elapsedMs: 0,
            durationMs: o.duration,
            target: 0,
            submitted: 0,
            accepted: 0,
            committed: 0,
            pending: 0,
            errors: 0,
            submitTxPerSec: 0,
            draining: false,
          }),
        );
        const report = await runLoad({
          rate: o.rate,
          durationMs: o.duration,
          keys,
          nodes,
          drainMs: o.drain,
          batch: o.batch,
          onProgress: (p) => {
            if (bar !== undefined) bar.update(Math.min(p.submitted, p.target), fields(p));
            else if (p.elapsedMs - lastLine >= 5000) {
              lastLine = p.elapsedMs;
              const f = fields(p);
              process.stderr.write(
                `${f.secs}/${f.total_s} s: submitted ${f.submitted}, committed ${f.committed}, pending ${f.pending}, errors ${f.errors}, ${f.rate} tx/s${f.phase}\n`,
              );
            }
          },
        }).finally(() => bar?.stop());
        emit(o.output, report, () => renderReport(report));
      },
    );
}
