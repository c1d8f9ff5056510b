import type { EventQueue } from './event-queue.js';
import type { Rng } from './rng.js';

export interface NetworkFaults {
  /** Delivery delay range in simulated ms (reordering comes from the spread). */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability that a message is dropped. */
  readonly lossRate: number;
  /** Probability that a message is delivered twice. */
  readonly duplicateRate: number;
}

export const CALM_NETWORK: NetworkFaults = { minDelayMs: 1, maxDelayMs: 5, lossRate: 0, duplicateRate: 0 };

export type Deliver<M> = (from: number, msg: M) => void;

/**
 * An adversarial scheduler: sees every message sent (gossip, relays,
 * requests, replies) and returns what is delivered — the message, a copy
 * with parts withheld, or undefined to drop it.
 */
export type Scheduler<M> = (from: number, to: number, msg: M) => M | undefined;

/**
 * A simulated network between nodes 0..n-1: per-message random delay (hence
 * reordering), loss, duplication, and partitions. Everything is scheduled on
 * the shared event queue and drawn from the simulation's RNG.
 */
export class SimNetwork<M> {
  readonly #queue: EventQueue;
  readonly #rng: Rng;
  readonly #handlers: (Deliver<M> | undefined)[];
  #faults: NetworkFaults;
  /** group[i] = partition group of node i; nodes talk only within a group. */
  #group: number[];
  /** The adversary's say over every delivery, while it has one. */
  scheduler: Scheduler<M> | undefined;
  sent = 0;
  delivered = 0;
  dropped = 0;

  constructor(n: number, queue: EventQueue, rng: Rng, faults: NetworkFaults = CALM_NETWORK) {
    this.#queue = queue;
    this.#rng = rng;
    this.#handlers = new Array(n).fill(undefined);
    this.#faults = faults;
    this.#group = new Array(n).fill(0);
  }

  get size(): number {
    return this.#handlers.length;
  }

  setFaults(faults: NetworkFaults): void {
    this.#faults = faults;
  }

  /** Attach (or detach with undefined, e.g. while crashed) node i's receive handler. */
  attach(i: number, handler: Deliver<M> | undefined): void {
    this.#handlers[i] = handler;
  }

  /** Whether node i has a receive handler (it is up). */
  isAttached(i: number): boolean {
    return this.#handlers[i] !== undefined;
  }

  /** Split nodes into groups that cannot reach each other. */
  partition(groups: readonly (readonly number[])[]): void {
    this.#group = new Array(this.#handlers.length).fill(-1);
    groups.forEach((g, gi) => {
      for (const i of g) this.#group[i] = gi;
    });
    // Nodes not named form their own singleton groups.
    this.#group = this.#group.map((g, i) => (g === -1 ? 1000 + i : g));
  }

  heal(): void {
    this.#group = new Array(this.#handlers.length).fill(0);
  }

  get partitioned(): boolean {
    return this.#group.some((g) => g !== this.#group[0]);
  }

  canReach(from: number, to: number): boolean {
    return this.#group[from] === this.#group[to];
  }

  send(from: number, to: number, original: M): void {
    this.sent++;
    if (from === to) {
      this.#schedule(from, to, original, 0);
      return;
    }
    const msg = this.scheduler === undefined ? original : this.scheduler(from, to, original);
    if (msg === undefined) {
      this.dropped++;
      return;
    }
    const f = this.#faults;
    if (!this.canReach(from, to) || this.#rng.chance(f.lossRate)) {
      this.dropped++;
      return;
    }
    this.#schedule(from, to, msg, this.#rng.int(f.minDelayMs, f.maxDelayMs));
    if (this.#rng.chance(f.duplicateRate))
      this.#schedule(from, to, msg, this.#rng.int(f.minDelayMs, f.maxDelayMs));
  }

  /** Sends to every other node. */
  broadcast(from: number, msg: M): void {
    for (let to = 0; to < this.#handlers.length; to++) if (to !== from) this.send(from, to, msg);
  }

  #schedule(from: number, to: number, msg: M, delay: number): void {
    this.#queue.schedule(delay, () => {
      // Checked at delivery: a partition or crash that began in flight drops it.
      const h = this.#handlers[to];
      if (h === undefined || !this.canReach(from, to)) {
        this.dropped++;
        return;
      }
      this.delivered++;
      h(from, msg);
    });
  }
}
