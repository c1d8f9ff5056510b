/**
 * What a peer over its quota loses:
 * - 'drop-oldest': its oldest queued message (fresh consensus messages and
 *   transactions matter more than stale ones);
 * - 'drop-newest': the new message.
 */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

/** What a fair queue needs to know about an item: who sent it and what it weighs. */
export interface QueueItem {
  /** The peer that sent it (the unit of fairness). */
  readonly from: string;
  /** Its size in bytes (counted against the byte budgets). */
  readonly bytes: number;
}

export interface FairQueueLimits {
  /** Most items in the queue. */
  readonly maxLength: number;
  /** Most bytes in the queue. */
  readonly maxBytes: number;
  /** Most items of one peer. */
  readonly peerMaxLength: number;
  /** Most bytes of one peer. */
  readonly peerMaxBytes: number;
  /** What a peer over its own quota loses: its oldest item ('drop-oldest') or the new one ('drop-newest'). */
  readonly policy: DropPolicy;
}

/** A growable FIFO (array with a moving head, compacted as it drains). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return out;
  }
}

/**
 * One topic's queue, fair between peers and bounded in items and bytes, in
 * total and per peer:
 * - each peer has its own FIFO, and `shift()` serves the peers round-robin,
 *   one item each, so a peer that floods waits behind itself and an honest
 *   peer's message waits for at most one message of each other peer;
 * - a peer over its quota (`peerMaxLength` / `peerMaxBytes`) loses its own
 *   oldest item (or the new one, under 'drop-newest'), never another peer's;
 * - a full queue (`maxLength` / `maxBytes`) drops the oldest item of the
 *   peer holding the most bytes, so the peers that use the least keep theirs;
 * - `dropPeer(peer)` removes everything a peer has queued (when it is banned).
 * Every operation is O(1) but the eviction on a full queue, which is
 * O(peers with queued items).
 */
export class FairQueue<T extends QueueItem> {
  /** Peers with queued items, in round-robin order (Map insertion order). */
  private readonly peers = new Map<string, Fifo<T>>();
  private size = 0;
  private totalBytes = 0;

  constructor(readonly limits: FairQueueLimits) {
    for (const [k, v] of Object.entries(limits)) {
      if (k !== 'policy' && (!Number.isInteger(v) || (v as number) < 1))
        throw new RangeError(`FairQueue: ${k} must be a positive integer`);
    }
  }

  get length(): number {
    return this.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Items queued by `peer`. */
  lengthOf(peer: string): number {
    return this.peers.get(peer)?.length ?? 0;
  }

  /** Adds `item`; returns the items dropped to make room (possibly `item` itself), oldest first. */
  push(item: T): T[] {
    const l = this.limits;
    // larger than a peer may hold at all: it can never be queued
    if (item.bytes > l.peerMaxBytes || item.bytes > l.maxBytes) return [item];
    const dropped: T[] = [];
    let own = this.peers.get(item.from);
    // the peer's own quota: it pays with its own messages
    while (
      own !== undefined &&
      own.length > 0 &&
      (own.length + 1 > l.peerMaxLength || own.bytes + item.bytes > l.peerMaxBytes)
    ) {
      if (l.policy === 'drop-newest') return [item];
      const old = this.take(item.from, own);
      if (old !== undefined) dropped.push(old);
      own = this.peers.get(item.from);
    }
    // the topic's budget: the heaviest peer pays
    while (this.size + 1 > l.maxLength || this.totalBytes + item.bytes > l.maxBytes) {
      const heaviest = this.heaviest();
      if (heaviest === undefined) break;
      if (heaviest === item.from && l.policy === 'drop-newest') {
        dropped.push(item);
        return dropped;
      }
      const fifo = this.peers.get(heaviest);
      const old = fifo === undefined ? undefined : this.take(heaviest, fifo);
      if (old !== undefined) dropped.push(old);
    }
    own = this.peers.get(item.from);
    if (own === undefined) {
      own = new Fifo<T>();
      this.peers.set(item.from, own);
    }
    own.push(item);
    own.bytes += item.bytes;
    this.size++;
    this.totalBytes += item.bytes;
    return dropped;
  }

  /** The next item, round-robin over the peers with queued items. */
  shift(): T | undefined {
    const first = this.peers.entries().next();
    if (first.done === true) return undefined;
    const [peer, fifo] = first.value;
    const item = this.take(peer, fifo);
    // the peer goes to the back of the round
    if (fifo.length > 0) {
      this.peers.delete(peer);
      this.peers.set(peer, fifo);
    }
    return item;
  }

  /** Removes and returns everything `peer` has queued. */
  dropPeer(peer: string): T[] {
    const fifo = this.peers.get(peer);
    if (fifo === undefined) return [];
    this.peers.delete(peer);
    this.size -= fifo.length;
    this.totalBytes -= fifo.bytes;
    return fifo.drain();
  }

  /** Removes and returns everything. */
  drain(): T[] {
    const out: T[] = [];
    for (const peer of [...this.peers.keys()]) out.push(...this.dropPeer(peer));
    return out;
  }

  private take(peer: string, fifo: Fifo<T>): T | undefined {
    const item = fifo.shift();
    if (item === undefined) return undefined;
    fifo.bytes -= item.bytes;
    this.size--;
    this.totalBytes -= item.bytes;
    if (fifo.length === 0) this.peers.delete(peer);
    return item;
  }

  private heaviest(): string | undefined {
    let best: string | undefined;
    let bestBytes = -1;
    let bestLength = -1;
    for (const [peer, fifo] of this.peers) {
      if (fifo.bytes > bestBytes || (fifo.bytes === bestBytes && fifo.length > bestLength)) {
        best = peer;
        bestBytes = fifo.bytes;
        bestLength = fifo.length;
      }
    }
    return best;
  }
}
