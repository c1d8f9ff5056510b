/**
 * `synod localnet [up] [--validators N] [--detach] [--dir D]`, and for a
 * detached network `synod localnet status|logs|down`.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { runLive } from '../localnet/live.js';
import { ViewState } from '../localnet/model.js';
import {
  checkPortsFree,
  clearPointer,
  createNet,
  DEFAULT_ACCOUNTS,
  DEFAULT_BASE_PORT,
  DEFAULT_CHAIN_ID,
  formatLogLine,
  isOurProcess,
  type LocalnetState,
  loadState,
  nodePorts,
  saveState,
  signalNode,
  startNode,
  tailLog,
  waitGone,
} from '../localnet/net.js';
import { fetchBlocks, probeNode } from '../localnet/probe.js';
import { renderView } from '../localnet/render.js';
import { emit, type OutputFormat, parseOutput, table } from '../output.js';
import { durationArg, integerArg } from '../values.js';

interface UpOptions {
  validators: number;
  detach?: boolean;
  dir?: string;
  basePort: number;
  accounts: number;
  chainId: string;
  keep?: boolean;
  record?: string;
  exitAfter?: number;
  timeout: number;
}

/** Polls every node until each has committed `height` (LOCALNET naming the node that did not, with its last log line). */
async function waitCommitted(state: LocalnetState, height: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(state.nodes.map((_, i) => i));
  while (pending.size > 0) {
    for (const i of [...pending]) {
      const n = state.nodes[i] as LocalnetState['nodes'][number];
      if (!(await isOurProcess(n.pid, n.home))) {
        const last = (await tailLog(n, 5)).map(formatLogLine).at(-1) ?? 'no log';
        throw new CliError('LOCALNET', `${n.name} exited while starting; its last log line: ${last}`);
      }
      const s = await probeNode(n.rpc, 1000);
      if (s !== undefined && s.height >= height) pending.delete(i);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline)
      throw new CliError(
        'LOCALNET',
        `${[...pending].map((i) => state.nodes[i]?.name).join(', ')} did not commit height ${height} within ${timeoutMs / 1000} s (\`synod localnet logs\`)`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopDetached(state: LocalnetState): Promise<string[]> {
  const out: string[] = [];
  await Promise.all(state.nodes.map((n) => signalNode(n, 'SIGTERM')));
  for (const n of state.nodes) {
    if (n.pid === undefined) continue;
    if (await waitGone(n, 10_000)) out.push(`${n.name} stopped`);
    else {
      await signalNode(n, 'SIGKILL');
      await waitGone(n, 5_000);
      out.push(`${n.name} killed after 10 s`);
    }
  }
  return out;
}

export function registerLocalnet(program: Command): void {
  const ln = program
    .command('localnet')
    .description(
      'a local network of real synodd processes with a live view (or detached: status, logs, down)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  synod localnet                      4 validators in a temporary folder, live view\n  synod localnet --validators 7\n  synod localnet --detach && synod localnet status && synod localnet down',
    );

  ln.command('up', { isDefault: true })
    .description('write a testnet (synodd testnet) and start one synodd per validator')
    .option('--validators <n>', 'validators', integerArg('--validators', 1, 20), 4)
    .option('--detach', 'start the processes in the background and return (no view)')
    .option(
      '--dir <dir>',
      'the network folder (default: a new temporary one); a folder holding a network starts it again',
    )
    .option(
      '--base-port <port>',
      'node i listens on port + 10 i (p2p), + 1 (RPC), + 4 (metrics)',
      integerArg('--base-port', 1024, 65_000),
      DEFAULT_BASE_PORT,
    )
    .option(
      '--accounts <k>',
      'funded accounts (keys in DIR/keys/)',
      integerArg('--accounts', 0, 10_000),
      DEFAULT_ACCOUNTS,
    )
    .option('--chain-id <id>', 'the chain id', DEFAULT_CHAIN_ID)
    .option('--keep', 'keep a temporary folder when the view stops')
    .option('--record <file>', 'append every sample the view takes to this file (JSON lines)')
    .option(
      '--exit-after <duration>',
      'stop by itself after this long (e.g. 30s)',
      durationArg('--exit-after'),
    )
    .option(
      '--timeout <duration>',
      'how long --detach waits for every node to commit a block',
      durationArg('--timeout'),
      60_000,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  synod localnet up --validators 4\n  synod localnet up --detach --dir ./net',
    )
    .action(async (o: UpOptions) => {
      const { state, reused } = await createNet({
        validators: o.validators,
        basePort: o.basePort,
        accounts: o.accounts,
        chainId: o.chainId,
        ...(o.dir === undefined ? {} : { dir: o.dir }),
      });
      if (reused) {
        for (const n of state.nodes)
          if (await isOurProcess(n.pid, n.home))
            throw new CliError(
              'LOCALNET',
              `the network in ${state.dir} is running (${n.name}, pid ${n.pid}): \`synod localnet down --dir ${state.dir}\` first`,
            );
        await checkPortsFree(state.nodes.flatMap(nodePorts));
        for (const n of state.nodes) delete n.pid;
      }
      if (!o.detach) {
        state.detached = false;
        await saveState(state);
        const code = await runLive(state, {
          keep: o.keep === true,
          ...(o.record === undefined ? {} : { record: o.record }),
          ...(o.exitAfter === undefined ? {} : { exitAfterMs: o.exitAfter }),
        });
        if (state.temporary && !o.keep) await clearPointer(state.dir);
        process.exitCode = code;
        return;
      }
      state.detached = true;
      try {
        for (let i = 0; i < state.nodes.length; i++) await startNode(state, i, true);
        await saveState(state);
        await waitCommitted(state, 1, o.timeout);
      } catch (err) {
        await stopDetached(state);
        throw err;
      }
      process.stdout.write(
        [
          `${state.nodes.length} synodd processes committing blocks on chain ${state.chainId}, in ${state.dir}`,
          table(
            ['node', 'rpc', 'pid', 'log'],
            state.nodes.map((n) => [n.name, n.rpc, n.pid, n.log]),
          ),
          `funded account keys: ${join(state.dir, 'keys')}/account0.json … (synod keys import NAME FILE --keyring-backend test)`,
          'synod localnet status · synod localnet logs node0 · synod localnet down',
        ].join('\n') + '\n',
      );
    });

  ln.command('status')
    .description("a detached network's processes and each node's height, round, step, peers, mempool")
    .option('--dir <dir>', 'the network folder (default: the last one started)')
    .option('-o, --output <format>', 'text or json', parseOutput, 'text')
    .addHelpText('after', '\nExample:\n  synod localnet status --output json')
    .action(async (o: { dir?: string; output: OutputFormat }) => {
      const state = await loadState(o.dir);
      const view = new ViewState(state.nodes.map((n) => n.name));
      const now = Date.now();
      const rows = await Promise.all(
        state.nodes.map(async (n) => {
          const alive = await isOurProcess(n.pid, n.home);
          const rpc = await probeNode(n.rpc, 1500);
          return { n, alive, rpc };
        }),
      );
      for (const { n, alive, rpc } of rows)
        view.add({
          kind: 'node',
          t: now,
          node: n.name,
          process: alive ? 'running' : n.pid === undefined && rpc !== undefined ? 'unknown' : 'exited',
          ...(rpc === undefined ? {} : { rpc }),
        });
      // the chain line: the last 20 blocks of the highest node
      const best = rows
        .filter((r) => r.rpc !== undefined)
        .sort((a, b) => (b.rpc?.height ?? 0) - (a.rpc?.height ?? 0))[0];
      if (best?.rpc !== undefined)
        for (const b of await fetchBlocks(best.n.rpc, Math.max(1, best.rpc.height - 19), best.rpc.height))
          view.add(b);
      const v = view.view(now);
      emit(
        o.output,
        {
          dir: state.dir,
          chainId: state.chainId,
          detached: state.detached,
          nodes: rows.map(({ n, alive, rpc }, i) => ({
            name: n.name,
            pid: n.pid ?? null,
            running: alive,
            rpc: n.rpc,
            state: v.nodes[i]?.state,
            ...rpc,
          })),
        },
        () =>
          `${renderView(v, { color: process.stdout.isTTY === true, title: `localnet ${state.chainId} in ${state.dir}` })}`,
      );
      if (rows.every((r) => !r.alive && r.rpc === undefined)) process.exitCode = 8;
    });

  ln.command('logs [node]')
    .description("a node's log (default node0), one line per entry")
    .option('--dir <dir>', 'the network folder (default: the last one started)')
    .option('-n, --lines <n>', 'how many lines', integerArg('--lines', 1, 100_000), 40)
    .option('-f, --follow', 'keep printing new lines (Ctrl-C stops)')
    .option('--raw', "synodd's JSON lines as they are")
    .addHelpText(
      'after',
      '\nExamples:\n  synod localnet logs node2 -n 100\n  synod localnet logs node0 --follow',
    )
    .action(
      async (
        name: string | undefined,
        o: { dir?: string; lines: number; follow?: boolean; raw?: boolean },
      ) => {
        const state = await loadState(o.dir);
        const n = state.nodes.find((x) => x.name === (name ?? 'node0'));
        if (n === undefined)
          throw new CliError(
            'USAGE',
            `no node ${name} in ${state.dir} (nodes: ${state.nodes.map((x) => x.name).join(', ')})`,
          );
        const show = (l: string): string => (o.raw ? l : formatLogLine(l));
        let seen = await tailLog(n, o.lines);
        for (const l of seen) process.stdout.write(`${show(l)}\n`);
        if (!o.follow) return;
        let stop = false;
        process.once('SIGINT', () => {
          stop = true;
        });
        while (!stop) {
          await new Promise((r) => setTimeout(r, 500));
          const now = await tailLog(n, 2000);
          const last = seen.at(-1);
          const from = last === undefined ? 0 : now.lastIndexOf(last) + 1;
          for (const l of now.slice(from)) process.stdout.write(`${show(l)}\n`);
          seen = now;
        }
      },
    );

  ln.command('down')
    .description('stop a detached network (SIGTERM, SIGKILL after 10 s) and remove its temporary folder')
    .option('--dir <dir>', 'the network folder (default: the last one started)')
    .option('--keep', 'keep the folder even when it is a temporary one')
    .addHelpText('after', '\nExample:\n  synod localnet down')
    .action(async (o: { dir?: string; keep?: boolean }) => {
      const state = await loadState(o.dir);
      const lines = await stopDetached(state);
      for (const n of state.nodes) delete n.pid;
      state.detached = false;
      if (state.temporary && !o.keep) {
        await rm(state.dir, { recursive: true, force: true });
        lines.push(`removed ${state.dir}`);
        await clearPointer(state.dir);
      } else {
        await saveState(state);
        lines.push(`kept ${state.dir} (\`synod localnet --dir ${state.dir}\` starts it again)`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
