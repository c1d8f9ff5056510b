/**
 * The attached local network: N synodd processes as children of this one,
 * sampled every half second, drawn in place with log-update, with keys to
 * SIGKILL and start a chosen node. q or Ctrl-C (and SIGINT/SIGTERM/SIGHUP)
 * stop every process with SIGTERM (SIGKILL after 10 s) and wait for them.
 * Without a terminal, a plain frame is printed every 5 s instead.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { emitKeypressEvents } from 'node:readline';
import { createLogUpdate } from 'log-update';
import { type Observation, type RpcSample, ViewState } from './model.js';
import { type LocalnetState, startNode, tailLog } from './net.js';
import { fetchBlocks, probeNode } from './probe.js';
import { KEY_HELP, renderView } from './render.js';

export interface LiveOptions {
  /** Keep the folder of a temporary network when done. */
  readonly keep: boolean;
  /** Append every observation (JSON lines) to this file: a recording the view can be replayed from. */
  readonly record?: string;
  /** Stop by itself after this long (ms); for captures and tests. */
  readonly exitAfterMs?: number;
  readonly tickMs?: number;
}

const STOP_GRACE_MS = 10_000;
/** A node's RPC that has not answered a sample in this long is shown unreachable. */
const PROBE_TIMEOUT_MS = 3000;

interface Proc {
  child?: ChildProcess;
  running: boolean;
  exit?: Promise<void>;
}

export async function runLive(state: LocalnetState, o: LiveOptions): Promise<number> {
  const tty = process.stdout.isTTY === true && process.stdin.isTTY === true;
  const names = state.nodes.map((n) => n.name);
  const view = new ViewState(names);
  const procs: Proc[] = state.nodes.map(() => ({ running: false }));
  let selected = 0;
  let quitting = false;
  const record = (obs: Observation): void => {
    view.add(obs);
    if (o.record !== undefined) appendFileSync(o.record, `${JSON.stringify(obs)}\n`);
  };
  const event = (text: string): void => record({ kind: 'event', t: Date.now(), text });

  const start = async (i: number): Promise<void> => {
    const p = procs[i] as Proc;
    if (p.running) return;
    const child = await startNode(state, i, false);
    p.child = child;
    p.running = true;
    p.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        p.running = false;
        if (!quitting) event(`${names[i]} exited (${signal ?? `code ${code}`})`);
        resolve();
      });
    });
  };
  const kill = async (i: number, signal: NodeJS.Signals): Promise<void> => {
    const p = procs[i] as Proc;
    if (!p.running || p.child === undefined) return;
    p.child.kill(signal);
    await p.exit;
  };

  // A terminal gone (SIGHUP, a closed pane) must not stop the shutdown half-way: writes to it are dropped.
  const ignore = (): void => undefined;
  process.stdout.on('error', ignore);
  process.stderr.on('error', ignore);
  // A crash of this process must not leave nodes behind.
  const killAllNow = (): void => {
    for (const p of procs) if (p.running) p.child?.kill('SIGKILL');
  };
  process.on('exit', killAllNow);

  for (let i = 0; i < procs.length; i++) await start(i);
  event(`started ${procs.length} synodd processes in ${state.dir}`);

  const title = `Synod localnet · chain ${state.chainId} · ${state.validators} validators · ${state.dir}`;
  const log = tty ? createLogUpdate(process.stdout, { showCursor: false }) : undefined;
  let lastPlain = 0;
  const draw = (): void => {
    const v = view.view(Date.now());
    if (log !== undefined) {
      log(renderView(v, { color: true, selected, title, keys: KEY_HELP }));
    } else if (Date.now() - lastPlain >= 5000) {
      lastPlain = Date.now();
      process.stdout.write(`${renderView(v, { color: false, title })}\n\n`);
    }
  };

  let resolveQuit: () => void = () => undefined;
  const quit = new Promise<void>((r) => {
    resolveQuit = r;
  });
  const requestQuit = (): void => {
    quitting = true;
    resolveQuit();
  };
  const onSignal = (): void => requestQuit();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined): void => {
    const name = key?.name ?? str;
    if ((key?.ctrl && name === 'c') || name === 'q') {
      requestQuit();
      return;
    }
    if (name === 'up') selected = (selected + procs.length - 1) % procs.length;
    else if (name === 'down') selected = (selected + 1) % procs.length;
    else if (str !== undefined && /^[0-9]$/.test(str) && Number(str) < procs.length) selected = Number(str);
    else if (name === 'k') {
      const i = selected;
      if ((procs[i] as Proc).running) {
        event(`${names[i]} killed (SIGKILL)`);
        void kill(i, 'SIGKILL');
      }
    } else if (name === 's') {
      const i = selected;
      if (!(procs[i] as Proc).running) {
        event(`${names[i]} started`);
        void start(i);
      }
    } else if (name === 'r') {
      const i = selected;
      event(`${names[i]} restarted (SIGKILL, then start)`);
      void kill(i, 'SIGKILL').then(() => start(i));
    }
    draw();
  };
  if (tty) {
    emitKeypressEvents(process.stdin);
    process.stdin.setRawMode(true);
    process.stdin.on('keypress', onKey);
    process.stdin.resume();
  }

  const tick = o.tickMs ?? 500;
  const startedAt = Date.now();
  const sleep = (ms: number): Promise<unknown> => Promise.race([quit, new Promise((r) => setTimeout(r, ms))]);
  // One sampling loop per node, so a node whose RPC is slow to answer (a busy event loop) delays only its
  // own row; it is "unreachable" only after PROBE_TIMEOUT_MS without an answer.
  const latest: (RpcSample | undefined)[] = state.nodes.map(() => undefined);
  const nodeLoops = state.nodes.map(async (n, i) => {
    while (!quitting) {
      const t0 = Date.now();
      const running = (procs[i] as Proc).running;
      const rpc = running ? await probeNode(n.rpc, PROBE_TIMEOUT_MS) : undefined;
      if (quitting) break;
      latest[i] = rpc;
      record({
        kind: 'node',
        t: Date.now(),
        node: names[i] as string,
        process: (procs[i] as Proc).running ? 'running' : 'exited',
        ...(rpc === undefined ? {} : { rpc }),
      });
      await sleep(Math.max(0, tick - (Date.now() - t0)));
    }
  });
  // The chain's new blocks, from the highest node; and the frame.
  const loop = (async () => {
    while (!quitting) {
      const t0 = Date.now();
      let best = -1;
      latest.forEach((s, i) => {
        if (s !== undefined && (best < 0 || s.height > (latest[best]?.height ?? 0))) best = i;
      });
      const top = best >= 0 ? (latest[best]?.height ?? 0) : 0;
      if (top > view.lastBlockHeight()) {
        const from = Math.max(view.lastBlockHeight() + 1, top - 19, 1);
        for (const b of await fetchBlocks(
          (state.nodes[best] as { rpc: string }).rpc,
          from,
          top,
          PROBE_TIMEOUT_MS,
        ))
          record(b);
      }
      if (quitting) break;
      draw();
      if (o.exitAfterMs !== undefined && Date.now() - startedAt >= o.exitAfterMs) requestQuit();
      await sleep(Math.max(0, tick - (Date.now() - t0)));
    }
  })();

  await quit;
  await Promise.all([loop, ...nodeLoops]);
  if (tty) {
    process.stdin.off('keypress', onKey);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }
  // the last frame stays on screen
  if (log !== undefined) {
    log(renderView(view.view(Date.now()), { color: true, title }));
    log.done();
  }
  process.stdout.write(`stopping ${procs.filter((p) => p.running).length} synodd processes…\n`);
  const codes = await Promise.all(
    procs.map(async (p, i) => {
      if (!p.running || p.child === undefined) return 'not running';
      const child = p.child;
      const exited = new Promise<string>((r) =>
        child.once('exit', (code, signal) => r(signal !== null ? signal : `exit ${code}`)),
      );
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      const how = await exited;
      clearTimeout(timer);
      return `${names[i]}: ${how}`;
    }),
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  process.off('exit', killAllNow);
  process.stdout.write(
    `${codes.filter((c) => c !== 'not running').join(', ') || 'no process was running'}\n`,
  );
  const failed = [];
  for (const [i, n] of state.nodes.entries()) {
    const last = (await tailLog(n, 50)).find((l) => l.includes('"level":50') || l.includes('"level":60'));
    if (last !== undefined) failed.push(`${names[i]}: ${last.slice(0, 200)}`);
  }
  if (failed.length > 0) process.stdout.write(`errors logged:\n  ${failed.join('\n  ')}\n`);
  if (state.temporary && !o.keep) {
    await rm(state.dir, { recursive: true, force: true });
    process.stdout.write(`removed ${state.dir} (--keep keeps it)\n`);
  } else {
    process.stdout.write(
      `the network is in ${state.dir}: \`synod localnet --dir ${state.dir}\` starts it again\n`,
    );
  }
  return 0;
}
