/**
 * What the live view knows, built from a sequence of observations: each
 * node's sampled status (or the fact that its process is gone or its RPC
 * did not answer) and the chain's blocks (height, time, transactions).
 * `ViewState` folds observations in; `view(now)` is a pure snapshot that
 * `renderView` draws. No clock, no I/O: a test replays a recorded sequence.
 */

/** The process of a node, as the supervisor (or the pid check of a detached net) sees it. */
export type ProcessState = 'running' | 'exited' | 'unknown';

/** One answer of a node's RPC (status, consensus_state, net_info, num_unconfirmed_txs). */
export interface RpcSample {
  readonly height: number;
  /** The latest block's time (ms since the epoch). */
  readonly blockTimeMs: number;
  readonly catchingUp: boolean;
  readonly votingPower: number;
  /** Absent when the node did not say (consensus_state not served or consensus not running). */
  readonly round?: number;
  /** CometBFT's step number (3 propose, 4 prevote, 6 precommit, 8 commit). */
  readonly step?: number;
  readonly peers?: number;
  readonly mempool?: number;
}

export type Observation =
  | {
      readonly kind: 'node';
      /** Wall-clock time of the sample (ms). */
      readonly t: number;
      readonly node: string;
      readonly process: ProcessState;
      /** Undefined when the RPC did not answer. */
      readonly rpc?: RpcSample;
    }
  | { readonly kind: 'block'; readonly height: number; readonly timeMs: number; readonly txs: number }
  | { readonly kind: 'event'; readonly t: number; readonly text: string };

export type NodeState = 'ok' | 'starting' | 'syncing' | 'lagging' | 'stopped' | 'unreachable';

export interface NodeRow {
  readonly name: string;
  readonly role: 'validator' | 'follower' | '?';
  readonly state: NodeState;
  readonly height?: number;
  readonly behind: number;
  readonly round?: number;
  readonly step?: string;
  readonly peers?: number;
  readonly mempool?: number;
  readonly lastBlockTimeMs?: number;
  /** Average time between the node's last two distinct heights (block times), ms. */
  readonly intervalMs?: number;
}

export interface ChainSummary {
  readonly height: number;
  /** Blocks counted over the window (the last minute, or since the first block seen), by block times. */
  readonly blocks: number;
  /** Mean block interval over the window (ms), from block times. */
  readonly intervalMs?: number;
  /** Committed transactions per second over the window. */
  readonly txPerSec?: number;
  readonly txs: number;
  readonly windowMs: number;
  /** No new height for `stallMs` while some node is up. */
  readonly halted: boolean;
  /** Time since the chain's height last grew (wall clock, ms). */
  readonly sinceLastBlockMs?: number;
}

export interface View {
  readonly now: number;
  readonly nodes: readonly NodeRow[];
  readonly chain: ChainSummary;
  readonly events: readonly { t: number; text: string }[];
}

export interface ViewOptions {
  /** A node this many blocks behind the highest for `lagMs` is lagging. */
  readonly lagBlocks: number;
  readonly lagMs: number;
  /** The chain window for tx/s and the block interval. */
  readonly windowMs: number;
  /** No new height for this long: the chain is halted. */
  readonly stallMs: number;
  /** A node whose RPC has not answered since its start for this long is unreachable (else starting). */
  readonly startGraceMs: number;
}

export const DEFAULT_VIEW_OPTIONS: ViewOptions = Object.freeze({
  lagBlocks: 3,
  lagMs: 2000,
  windowMs: 60_000,
  stallMs: 5_000,
  startGraceMs: 20_000,
});

const STEP_NAMES: Readonly<Record<number, string>> = {
  1: 'new-height',
  2: 'new-round',
  3: 'propose',
  4: 'prevote',
  5: 'prevote-wait',
  6: 'precommit',
  7: 'precommit-wait',
  8: 'commit',
};

export const stepName = (n: number | undefined): string | undefined =>
  n === undefined ? undefined : (STEP_NAMES[n] ?? String(n));

interface NodeTrack {
  last?: Extract<Observation, { kind: 'node' }>;
  lastRpc?: RpcSample;
  /** When the process was last seen starting (first running sample after not running). */
  runningSince?: number;
  /** Distinct heights with their block times, most recent last (at most 3). */
  heights: { height: number; timeMs: number }[];
  /** Since when this node has been lagBlocks or more behind the highest height seen (undefined: it is not). */
  behindSince?: number;
}

/** Observations folded into per-node and chain state. */
export class ViewState {
  readonly #options: ViewOptions;
  readonly #order: string[] = [];
  readonly #nodes = new Map<string, NodeTrack>();
  /** Blocks by height (only the last window's are kept). */
  readonly #blocks = new Map<number, { timeMs: number; txs: number }>();
  #events: { t: number; text: string }[] = [];
  #maxHeight = 0;
  #maxHeightSince: number | undefined;

  constructor(nodes: readonly string[] = [], options: Partial<ViewOptions> = {}) {
    this.#options = { ...DEFAULT_VIEW_OPTIONS, ...options };
    for (const n of nodes) this.#track(n);
  }

  #track(name: string): NodeTrack {
    let t = this.#nodes.get(name);
    if (t === undefined) {
      t = { heights: [] };
      this.#nodes.set(name, t);
      this.#order.push(name);
    }
    return t;
  }

  /** The highest block height recorded (for the collector: where to continue). */
  lastBlockHeight(): number {
    let h = 0;
    for (const k of this.#blocks.keys()) if (k > h) h = k;
    return h;
  }

  add(o: Observation): void {
    if (o.kind === 'event') {
      this.#events.push({ t: o.t, text: o.text });
      if (this.#events.length > 5) this.#events = this.#events.slice(-5);
      return;
    }
    if (o.kind === 'block') {
      this.#blocks.set(o.height, { timeMs: o.timeMs, txs: o.txs });
      // keep the window (by block time) plus a margin
      const newest = Math.max(...[...this.#blocks.values()].map((b) => b.timeMs));
      for (const [h, b] of this.#blocks)
        if (b.timeMs < newest - 2 * this.#options.windowMs) this.#blocks.delete(h);
      return;
    }
    const t = this.#track(o.node);
    const wasRunning = t.last?.process === 'running';
    if (o.process === 'running' && !wasRunning) t.runningSince = o.t;
    t.last = o;
    if (o.rpc !== undefined) {
      t.lastRpc = o.rpc;
      const top = t.heights.at(-1);
      if (top === undefined || o.rpc.height > top.height) {
        t.heights.push({ height: o.rpc.height, timeMs: o.rpc.blockTimeMs });
        if (t.heights.length > 3) t.heights.shift();
      }
      if (o.rpc.height > this.#maxHeight) {
        this.#maxHeight = o.rpc.height;
        this.#maxHeightSince = o.t;
      }
      if (this.#maxHeight - o.rpc.height >= this.#options.lagBlocks) t.behindSince ??= o.t;
      else delete t.behindSince;
    }
  }

  view(now: number): View {
    const opt = this.#options;
    const live = [...this.#nodes.values()].filter((n) => n.last?.rpc !== undefined);
    const top = Math.max(0, ...live.map((n) => n.last?.rpc?.height ?? 0));
    const nodes: NodeRow[] = this.#order.map((name) => {
      const t = this.#nodes.get(name) as NodeTrack;
      const rpc = t.last?.rpc;
      const known = rpc ?? t.lastRpc;
      const behind = rpc === undefined ? 0 : Math.max(0, top - rpc.height);
      let state: NodeState;
      if (t.last === undefined || t.last.process === 'exited') state = 'stopped';
      else if (rpc === undefined)
        state =
          t.last.process === 'running' && now - (t.runningSince ?? now) < opt.startGraceMs
            ? 'starting'
            : 'unreachable';
      else if (rpc.catchingUp) state = 'syncing';
      else if (behind >= opt.lagBlocks && t.behindSince !== undefined && now - t.behindSince >= opt.lagMs)
        state = 'lagging';
      else state = 'ok';
      const [a, b] = t.heights.slice(-2);
      const intervalMs =
        a !== undefined && b !== undefined && b.height > a.height
          ? (b.timeMs - a.timeMs) / (b.height - a.height)
          : undefined;
      const up = rpc !== undefined;
      return {
        name,
        role: known === undefined ? '?' : known.votingPower > 0 ? 'validator' : 'follower',
        state,
        behind,
        ...(known === undefined ? {} : { height: known.height }),
        // height 0: no block yet (the status's time is the genesis time)
        ...(known === undefined || known.height === 0 ? {} : { lastBlockTimeMs: known.blockTimeMs }),
        ...(up && rpc.round !== undefined ? { round: rpc.round } : {}),
        ...(up && rpc.step !== undefined ? { step: stepName(rpc.step) } : {}),
        ...(up && rpc.peers !== undefined ? { peers: rpc.peers } : {}),
        ...(up && rpc.mempool !== undefined ? { mempool: rpc.mempool } : {}),
        ...(intervalMs === undefined ? {} : { intervalMs }),
      };
    });
    return { now, nodes, chain: this.#chain(now, live.length > 0), events: [...this.#events] };
  }

  #chain(now: number, anyUp: boolean): ChainSummary {
    const opt = this.#options;
    const heights = [...this.#blocks.keys()].sort((x, y) => x - y);
    const newest = heights.at(-1);
    let blocks = 0;
    let txs = 0;
    let intervalMs: number | undefined;
    let txPerSec: number | undefined;
    let windowMs = 0;
    if (newest !== undefined) {
      const at = (h: number): { timeMs: number; txs: number } =>
        this.#blocks.get(h) as { timeMs: number; txs: number };
      const newestTime = at(newest).timeMs;
      const windowStart = newestTime - opt.windowMs;
      const inWindow = heights.filter((h) => at(h).timeMs > windowStart);
      const full = heights.some((h) => at(h).timeMs <= windowStart);
      const first = inWindow[0] as number;
      // A full window: every block in it, over the window. A younger one (the chain, or what the view has
      // seen of it): from its first block on, whose transactions came before the span starts.
      const counted = full ? inWindow : inWindow.slice(1);
      windowMs = full ? opt.windowMs : newestTime - at(first).timeMs;
      blocks = counted.length;
      for (const h of counted) txs += at(h).txs;
      if (blocks > 0 && windowMs > 0) {
        intervalMs = windowMs / blocks;
        txPerSec = (txs * 1000) / windowMs;
      }
    }
    const since = this.#maxHeightSince === undefined ? undefined : now - this.#maxHeightSince;
    return {
      height: this.#maxHeight,
      blocks,
      txs,
      windowMs,
      ...(intervalMs === undefined ? {} : { intervalMs }),
      ...(txPerSec === undefined ? {} : { txPerSec }),
      halted: this.#maxHeight > 0 && (!anyUp || (since !== undefined && since > opt.stallMs)),
      ...(since === undefined ? {} : { sinceLastBlockMs: since }),
    };
  }
}
