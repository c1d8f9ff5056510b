import { GOSSIP_TOPICS, type GossipTopic } from '../topics.js';
import { type DropPolicy, FairQueue, type QueueItem } from './fair-queue.js';

export interface TopicQueueOptions {
  /** Most messages waiting. */
  readonly maxLength: number;
  /** Most bytes waiting (raised to fit at least one largest message per peer). */
  readonly maxBytes: number;
  /** What a peer over its share loses: its oldest message or the new one. */
  readonly dropPolicy: DropPolicy;
}

export interface QueueOptions {
  /**
   * Per-topic bounds and drop policies.
   * @default proposals 256 / 32 MiB, votes 16384 / 4 MiB, evidence 1024 / 1 MiB, txs 8192 / 8 MiB; all drop-oldest
   */
  readonly topics: Readonly<Record<GossipTopic, TopicQueueOptions>>;
  /**
   * The share of each topic's count and byte bounds one peer may hold (a
   * peer's byte share is never below the topic's largest message). @default 0.25
   */
  readonly peerShare: number;
  /** Longest run of synchronous work before yielding to the event loop, in ms. @default 10 */
  readonly sliceBudgetMs: number;
  /** Most asynchronous (transaction precheck) validations in flight. @default 64 */
  readonly asyncConcurrency: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = Object.freeze({
  topics: Object.freeze({
    proposals: Object.freeze({ maxLength: 256, maxBytes: 32 * 1024 * 1024, dropPolicy: 'drop-oldest' }),
    votes: Object.freeze({ maxLength: 16_384, maxBytes: 4 * 1024 * 1024, dropPolicy: 'drop-oldest' }),
    evidence: Object.freeze({ maxLength: 1_024, maxBytes: 1024 * 1024, dropPolicy: 'drop-oldest' }),
    txs: Object.freeze({ maxLength: 8_192, maxBytes: 8 * 1024 * 1024, dropPolicy: 'drop-oldest' }),
  }),
  peerShare: 0.25,
  sliceBudgetMs: 10,
  asyncConcurrency: 64,
} satisfies QueueOptions);

/** Why a queued message was dropped unprocessed. */
export type DropCause = 'full' | 'peer-dropped' | 'stopped';

export interface SchedulerHooks<T> {
  /** Handles one item; a returned promise counts against `asyncConcurrency` until it settles. */
  process(item: T): void | Promise<void>;
  /**
   * Called for every item dropped unprocessed: by a full queue or a peer's
   * quota ('full'), by `dropPeer` ('peer-dropped'), or by `stop` ('stopped').
   */
  dropped(item: T, topic: GossipTopic, cause: DropCause): void;
  /** Schedules a slice that continues a backlog (after I/O). @default setImmediate */
  schedule?(fn: () => void): void;
  /** Schedules the slice that starts work on an idle scheduler. @default queueMicrotask */
  scheduleIdle?(fn: () => void): void;
  /** Monotonic milliseconds for the slice budget. @default performance.now */
  nowMs?(): number;
}

/**
 * Bounded per-topic queues between gossip delivery and validation, drained in
 * strict priority: proposals, then votes, then evidence, then transactions. A
 * transaction is only looked at when no consensus message is waiting, so a
 * flood of transactions cannot delay consensus; a flood of anything fills its
 * own queue and drops from it, never from another topic's.
 *
 * Within a topic the queue is fair between peers (`FairQueue`): peers are
 * served round-robin, each holds at most `peerShare` of the topic's count and
 * bytes, a full topic evicts from the peer holding the most bytes, and
 * `dropPeer` forgets a banned peer's messages at once. A flooding peer delays
 * only itself.
 *
 * Work runs in slices of at most `sliceBudgetMs`. A message that finds the
 * scheduler idle is handled at once (a microtask: no added latency); a
 * backlog continues in slices scheduled with setImmediate, so network I/O
 * keeps flowing between slices and whatever arrived meanwhile is taken in
 * priority order.
 */
export class GossipScheduler<T extends QueueItem> {
  private readonly queues: ReadonlyMap<GossipTopic, FairQueue<T>>;
  private scheduled = false;
  private inFlight = 0;
  private stopped = false;
  private readonly schedule: (fn: () => void) => void;
  private readonly scheduleIdle: (fn: () => void) => void;
  /** True while a slice runs or a backlog slice waits for the event loop. */
  private busy = false;
  private readonly nowMs: () => number;

  /**
   * `itemBytesMax`: the largest message of each topic (a peer's byte share is
   * raised to hold at least one, and the topic's budget with it).
   */
  constructor(
    private readonly options: QueueOptions,
    private readonly hooks: SchedulerHooks<T>,
    itemBytesMax?: Readonly<Record<GossipTopic, number>>,
  ) {
    if (!(options.peerShare > 0 && options.peerShare <= 1))
      throw new RangeError('GossipScheduler: peerShare must be in (0, 1]');
    const queues = new Map<GossipTopic, FairQueue<T>>();
    for (const t of GOSSIP_TOPICS) {
      const o = options.topics[t];
      const peerMaxBytes = Math.max(Math.ceil(o.maxBytes * options.peerShare), itemBytesMax?.[t] ?? 1);
      queues.set(
        t,
        new FairQueue<T>({
          maxLength: o.maxLength,
          maxBytes: Math.max(o.maxBytes, peerMaxBytes),
          peerMaxLength: Math.max(1, Math.ceil(o.maxLength * options.peerShare)),
          peerMaxBytes,
          policy: o.dropPolicy,
        }),
      );
    }
    this.queues = queues;
    this.schedule = hooks.schedule ?? ((fn) => setImmediate(fn));
    this.scheduleIdle = hooks.scheduleIdle ?? ((fn) => queueMicrotask(fn));
    this.nowMs = hooks.nowMs ?? (() => performance.now());
  }

  /** Queues `item` under `topic`; quotas and full queues drop per their policy (reported through `dropped`). */
  push(topic: GossipTopic, item: T): void {
    if (this.stopped) {
      this.hooks.dropped(item, topic, 'stopped');
      return;
    }
    for (const dropped of this.queue(topic).push(item)) this.hooks.dropped(dropped, topic, 'full');
    this.ensureScheduled();
  }

  /** Drops everything `peer` has queued, on every topic (reported through `dropped`); returns how many. */
  dropPeer(peer: string): number {
    let n = 0;
    for (const [t, q] of this.queues) {
      for (const item of q.dropPeer(peer)) {
        n++;
        this.hooks.dropped(item, t, 'peer-dropped');
      }
    }
    return n;
  }

  /** Items waiting per topic. */
  lengths(): Record<GossipTopic, number> {
    const out = {} as Record<GossipTopic, number>;
    for (const [t, q] of this.queues) out[t] = q.length;
    return out;
  }

  /** Bytes waiting per topic. */
  byteLengths(): Record<GossipTopic, number> {
    const out = {} as Record<GossipTopic, number>;
    for (const [t, q] of this.queues) out[t] = q.bytes;
    return out;
  }

  /** Items waiting from `peer`, all topics together. */
  lengthOf(peer: string): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.lengthOf(peer);
    return n;
  }

  /** Items waiting from `peer`, per topic. */
  lengthsOf(peer: string): Record<GossipTopic, number> {
    const out = {} as Record<GossipTopic, number>;
    for (const [t, q] of this.queues) out[t] = q.lengthOf(peer);
    return out;
  }

  /** Asynchronous validations in flight. */
  get pendingAsync(): number {
    return this.inFlight;
  }

  /** Stops processing; everything still queued is reported as dropped. */
  stop(): void {
    this.stopped = true;
    for (const [t, q] of this.queues) for (const item of q.drain()) this.hooks.dropped(item, t, 'stopped');
  }

  /** Runs one slice now (tests call this instead of waiting for setImmediate). */
  runSlice(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const deadline = this.nowMs() + this.options.sliceBudgetMs;
    this.busy = true;
    for (;;) {
      const next = this.next();
      if (next === undefined) {
        this.busy = false;
        return;
      }
      const result = this.hooks.process(next);
      if (result !== undefined) {
        this.inFlight++;
        result.then(
          () => this.settled(),
          () => this.settled(),
        );
      }
      if (this.nowMs() >= deadline) break;
    }
    // budget spent with work left: continue after pending I/O
    this.ensureScheduled();
  }

  private settled(): void {
    this.inFlight--;
    this.ensureScheduled();
  }

  /** The highest-priority waiting item that may run now. */
  private next(): T | undefined {
    for (const t of GOSSIP_TOPICS) {
      // asynchronous work (transaction prechecks) waits for a free slot
      if (t === 'txs' && this.inFlight >= this.options.asyncConcurrency) continue;
      const item = this.queue(t).shift();
      if (item !== undefined) return item;
    }
    return undefined;
  }

  private hasRunnable(): boolean {
    for (const [t, q] of this.queues) {
      if (q.length === 0) continue;
      if (t === 'txs' && this.inFlight >= this.options.asyncConcurrency) continue;
      return true;
    }
    return false;
  }

  private ensureScheduled(): void {
    if (this.scheduled || this.stopped) return;
    if (!this.hasRunnable()) {
      this.busy = false;
      return;
    }
    this.scheduled = true;
    if (this.busy) this.schedule(() => this.runSlice());
    else this.scheduleIdle(() => this.runSlice());
  }

  private queue(topic: GossipTopic): FairQueue<T> {
    const q = this.queues.get(topic);
    if (q === undefined) throw new Error(`unknown topic ${topic}`);
    return q;
  }
}
