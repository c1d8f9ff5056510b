import { GOSSIP_TOPICS, type GossipTopic } from '../topics.js';
import { BoundedQueue, type DropPolicy } from './bounded-queue.js';

export interface TopicQueueOptions {
  readonly maxLength: number;
  readonly dropPolicy: DropPolicy;
}

export interface QueueOptions {
  /** Per-topic bounds and drop policies. @default proposals 256, votes 16384, evidence 1024, txs 8192; all drop-oldest */
  readonly topics: Readonly<Record<GossipTopic, TopicQueueOptions>>;
  /** Longest run of synchronous work before yielding to the event loop, in ms. @default 10 */
  readonly sliceBudgetMs: number;
  /** Most asynchronous (transaction precheck) validations in flight. @default 64 */
  readonly asyncConcurrency: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = Object.freeze({
  topics: Object.freeze({
    proposals: Object.freeze({ maxLength: 256, dropPolicy: 'drop-oldest' }),
    votes: Object.freeze({ maxLength: 16_384, dropPolicy: 'drop-oldest' }),
    evidence: Object.freeze({ maxLength: 1_024, dropPolicy: 'drop-oldest' }),
    txs: Object.freeze({ maxLength: 8_192, dropPolicy: 'drop-oldest' }),
  }),
  sliceBudgetMs: 10,
  asyncConcurrency: 64,
} satisfies QueueOptions);

export interface SchedulerHooks<T> {
  /** Handles one item; a returned promise counts against `asyncConcurrency` until it settles. */
  process(item: T): void | Promise<void>;
  /** Called for every item a full queue drops (it was never processed). */
  dropped(item: T, topic: GossipTopic): void;
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
 * Work runs in slices of at most `sliceBudgetMs`. A message that finds the
 * scheduler idle is handled at once (a microtask: no added latency); a
 * backlog continues in slices scheduled with setImmediate, so network I/O
 * keeps flowing between slices and whatever arrived meanwhile is taken in
 * priority order.
 */
export class GossipScheduler<T> {
  private readonly queues: ReadonlyMap<GossipTopic, BoundedQueue<T>>;
  private scheduled = false;
  private inFlight = 0;
  private stopped = false;
  private readonly schedule: (fn: () => void) => void;
  private readonly scheduleIdle: (fn: () => void) => void;
  /** True while a slice runs or a backlog slice waits for the event loop. */
  private busy = false;
  private readonly nowMs: () => number;

  constructor(
    private readonly options: QueueOptions,
    private readonly hooks: SchedulerHooks<T>,
  ) {
    const queues = new Map<GossipTopic, BoundedQueue<T>>();
    for (const t of GOSSIP_TOPICS) {
      const o = options.topics[t];
      queues.set(t, new BoundedQueue<T>(o.maxLength, o.dropPolicy));
    }
    this.queues = queues;
    this.schedule = hooks.schedule ?? ((fn) => setImmediate(fn));
    this.scheduleIdle = hooks.scheduleIdle ?? ((fn) => queueMicrotask(fn));
    this.nowMs = hooks.nowMs ?? (() => performance.now());
  }

  /** Queues `item` under `topic`; a full queue drops per its policy (reported through `dropped`). */
  push(topic: GossipTopic, item: T): void {
    if (this.stopped) {
      this.hooks.dropped(item, topic);
      return;
    }
    const dropped = this.queue(topic).push(item);
    if (dropped !== undefined) this.hooks.dropped(dropped, topic);
    this.ensureScheduled();
  }

  /** Items waiting per topic. */
  lengths(): Record<GossipTopic, number> {
    const out = {} as Record<GossipTopic, number>;
    for (const [t, q] of this.queues) out[t] = q.length;
    return out;
  }

  /** Asynchronous validations in flight. */
  get pendingAsync(): number {
    return this.inFlight;
  }

  /** Stops processing; everything still queued is reported as dropped. */
  stop(): void {
    this.stopped = true;
    for (const [t, q] of this.queues) for (const item of q.drain()) this.hooks.dropped(item, t);
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

  private queue(topic: GossipTopic): BoundedQueue<T> {
    const q = this.queues.get(topic);
    if (q === undefined) throw new Error(`unknown topic ${topic}`);
    return q;
  }
}
