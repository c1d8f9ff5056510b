import { describe, expect, it } from 'vitest';
import { FairQueue, type FairQueueLimits } from '../../src/queue/fair-queue.js';
import {
  DEFAULT_QUEUE_OPTIONS,
  GossipScheduler,
  type QueueOptions,
} from '../../src/queue/gossip-scheduler.js';
import type { GossipTopic } from '../../src/topics.js';

interface Msg {
  readonly from: string;
  readonly bytes: number;
  readonly n: number;
}

const msg = (from: string, n: number, bytes = 10): Msg => ({ from, n, bytes });
const names = (items: readonly Msg[]) => items.map((m) => `${m.from}${m.n}`);

function fairQueue(limits: Partial<FairQueueLimits> = {}): FairQueue<Msg> {
  return new FairQueue<Msg>({
    maxLength: 100,
    maxBytes: 10_000,
    peerMaxLength: 100,
    peerMaxBytes: 10_000,
    policy: 'drop-oldest',
    ...limits,
  });
}

describe('FairQueue', () => {
  it('serves peers round-robin: a flooding peer waits behind itself', () => {
    const q = fairQueue();
    for (let n = 1; n <= 5; n++) q.push(msg('evil', n));
    q.push(msg('honest', 1));
    q.push(msg('honest', 2));
    const order: Msg[] = [];
    for (let m = q.shift(); m !== undefined; m = q.shift()) order.push(m);
    expect(names(order)).toEqual(['evil1', 'honest1', 'evil2', 'honest2', 'evil3', 'evil4', 'evil5']);
    expect(q.length).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it('a peer over its count or byte quota loses its own oldest message, never another peer’s', () => {
    const q = fairQueue({ peerMaxLength: 3, peerMaxBytes: 100 });
    q.push(msg('honest', 1));
    const dropped: Msg[] = [];
    for (let n = 1; n <= 5; n++) dropped.push(...q.push(msg('evil', n)));
    expect(names(dropped)).toEqual(['evil1', 'evil2']);
    // bytes: a 90-byte message pushes out the peer's older ones
    expect(names(q.push(msg('evil', 6, 90)))).toEqual(['evil3', 'evil4']);
    expect(q.lengthOf('honest')).toBe(1);
    expect(q.lengthOf('evil')).toBe(2);
    expect(q.bytes).toBe(110);
  });

  it('drop-newest: a peer over its quota loses the new message', () => {
    const q = fairQueue({ peerMaxLength: 2, policy: 'drop-newest' });
    q.push(msg('a', 1));
    q.push(msg('a', 2));
    expect(names(q.push(msg('a', 3)))).toEqual(['a3']);
    expect(q.lengthOf('a')).toBe(2);
  });

  it('a full queue (count or bytes) evicts the oldest message of the peer holding the most bytes', () => {
    const q = fairQueue({ maxLength: 4, maxBytes: 1_000 });
    q.push(msg('a', 1));
    q.push(msg('b', 1, 500));
    q.push(msg('a', 2));
    q.push(msg('a', 3));
    // count full: b holds the most bytes
    expect(names(q.push(msg('c', 1)))).toEqual(['b1']);
    // bytes: a 980-byte message needs room from the heaviest peers
    expect(names(q.push(msg('d', 1, 980)))).toEqual(['a1', 'a2']);
    expect(q.length).toBe(3);
    expect(q.bytes).toBe(1_000);
  });

  it('refuses a message larger than a peer may hold', () => {
    const q = fairQueue({ peerMaxBytes: 50 });
    expect(names(q.push(msg('a', 1, 51)))).toEqual(['a1']);
    expect(q.length).toBe(0);
  });

  it('dropPeer removes everything a peer queued at once, the others keep their turn', () => {
    const q = fairQueue();
    for (let n = 1; n <= 4; n++) q.push(msg('evil', n));
    q.push(msg('honest', 1));
    expect(names(q.dropPeer('evil'))).toEqual(['evil1', 'evil2', 'evil3', 'evil4']);
    expect(q.dropPeer('evil')).toEqual([]);
    expect(q.length).toBe(1);
    expect(q.bytes).toBe(10);
    expect(names(q.drain())).toEqual(['honest1']);
  });

  it('keeps FIFO order per peer across many pushes and shifts (compaction)', () => {
    const q = fairQueue({
      maxLength: 5_000,
      maxBytes: 1_000_000,
      peerMaxLength: 5_000,
      peerMaxBytes: 1_000_000,
    });
    let next = 0;
    for (let n = 0; n < 3_000; n++) q.push(msg('a', n));
    for (let i = 0; i < 2_500; i++) expect(q.shift()?.n).toBe(next++);
    for (let n = 3_000; n < 4_000; n++) q.push(msg('a', n));
    for (let m = q.shift(); m !== undefined; m = q.shift()) expect(m.n).toBe(next++);
    expect(next).toBe(4_000);
  });

  it('refuses a non-positive bound', () => {
    expect(() => fairQueue({ maxLength: 0 })).toThrow(RangeError);
  });
});

interface Item {
  readonly topic: GossipTopic;
  readonly n: number;
  readonly from: string;
  readonly bytes: number;
}

const it1 = (topic: GossipTopic, n: number, from = 'p', bytes = 10): Item => ({ topic, n, from, bytes });

function harness(options: Partial<QueueOptions> = {}, asyncTopics: GossipTopic[] = []) {
  const processed: string[] = [];
  const dropped: string[] = [];
  const scheduled: (() => void)[] = [];
  const resolvers: (() => void)[] = [];
  let now = 0;
  let idleScheduled = 0;
  const scheduler = new GossipScheduler<Item>(
    {
      ...DEFAULT_QUEUE_OPTIONS,
      peerShare: 1,
      ...options,
      topics: { ...DEFAULT_QUEUE_OPTIONS.topics, ...options.topics },
    },
    {
      process: (item) => {
        processed.push(`${item.topic}:${item.n}`);
        now += 1;
        if (asyncTopics.includes(item.topic)) return new Promise<void>((r) => resolvers.push(r));
        return undefined;
      },
      dropped: (item, topic) => dropped.push(`${topic}:${item.n}`),
      schedule: (fn) => scheduled.push(fn),
      scheduleIdle: (fn) => {
        idleScheduled++;
        scheduled.push(fn);
      },
      nowMs: () => now,
    },
  );
  const runAll = () => {
    while (scheduled.length > 0) scheduled.shift()?.();
  };
  return { scheduler, processed, dropped, scheduled, resolvers, runAll, idleCount: () => idleScheduled };
}

describe('GossipScheduler', () => {
  it('handles consensus messages before transactions, whatever the arrival order', () => {
    const h = harness();
    h.scheduler.push('txs', it1('txs', 1));
    h.scheduler.push('txs', it1('txs', 2));
    h.scheduler.push('evidence', it1('evidence', 1));
    h.scheduler.push('votes', it1('votes', 1));
    h.scheduler.push('proposals', it1('proposals', 1));
    h.scheduler.push('votes', it1('votes', 2));
    expect(h.processed).toEqual([]);
    expect(h.scheduled).toHaveLength(1);
    h.runAll();
    expect(h.processed).toEqual(['proposals:1', 'votes:1', 'votes:2', 'evidence:1', 'txs:1', 'txs:2']);
  });

  it('a full queue drops its oldest message (reported), other topics are untouched', () => {
    const h = harness({
      topics: {
        ...DEFAULT_QUEUE_OPTIONS.topics,
        txs: { maxLength: 2, maxBytes: 1_000, dropPolicy: 'drop-oldest' },
        votes: { maxLength: 2, maxBytes: 1_000, dropPolicy: 'drop-oldest' },
      },
    });
    for (let n = 1; n <= 4; n++) h.scheduler.push('txs', it1('txs', n));
    for (let n = 1; n <= 3; n++) h.scheduler.push('votes', it1('votes', n));
    expect(h.dropped).toEqual(['txs:1', 'txs:2', 'votes:1']);
    expect(h.scheduler.lengths()).toEqual({ proposals: 0, votes: 2, evidence: 0, txs: 2 });
    h.runAll();
    expect(h.processed).toEqual(['votes:2', 'votes:3', 'txs:3', 'txs:4']);
  });

  it('starts an idle scheduler at once (microtask), continues a backlog after I/O (setImmediate)', () => {
    const h = harness({ sliceBudgetMs: 3 });
    for (let n = 1; n <= 7; n++) h.scheduler.push('votes', it1('votes', n));
    expect(h.idleCount()).toBe(1);
    h.scheduled.shift()?.();
    expect(h.processed).toHaveLength(3);
    expect(h.scheduled).toHaveLength(1);
    // a proposal that arrives between slices jumps the queue
    h.scheduler.push('proposals', it1('proposals', 1));
    h.scheduled.shift()?.();
    expect(h.processed.slice(3)).toEqual(['proposals:1', 'votes:4', 'votes:5']);
    h.runAll();
    expect(h.processed).toHaveLength(8);
    expect(h.idleCount()).toBe(1);
    // idle again: the next message starts at once
    h.scheduler.push('txs', it1('txs', 1));
    expect(h.idleCount()).toBe(2);
  });

  it('bounds asynchronous (precheck) work in flight, and resumes as it settles', async () => {
    const h = harness({ asyncConcurrency: 2 }, ['txs']);
    for (let n = 1; n <= 5; n++) h.scheduler.push('txs', it1('txs', n));
    h.runAll();
    expect(h.processed).toEqual(['txs:1', 'txs:2']);
    expect(h.scheduler.pendingAsync).toBe(2);
    // consensus traffic is not blocked by the full async slots
    h.scheduler.push('votes', it1('votes', 1));
    h.runAll();
    expect(h.processed).toEqual(['txs:1', 'txs:2', 'votes:1']);
    h.resolvers.shift()?.();
    await Promise.resolve();
    await Promise.resolve();
    h.runAll();
    expect(h.processed).toEqual(['txs:1', 'txs:2', 'votes:1', 'txs:3']);
  });

  it('stop() reports everything still queued as dropped and refuses new items', () => {
    const h = harness();
    h.scheduler.push('votes', it1('votes', 1));
    h.scheduler.push('txs', it1('txs', 1));
    h.scheduler.stop();
    h.scheduler.push('votes', it1('votes', 2));
    h.runAll();
    expect(h.processed).toEqual([]);
    expect(h.dropped).toEqual(['votes:1', 'txs:1', 'votes:2']);
  });

  it('a flooding peer shares a topic round-robin with the others and holds at most its share', () => {
    const h = harness({ peerShare: 0.25 });
    for (let n = 1; n <= 5_000; n++) h.scheduler.push('votes', it1('votes', n, 'evil'));
    h.scheduler.push('votes', it1('votes', 1, 'honest'));
    // a quarter of 16,384 votes: the rest of the flood dropped its own oldest
    expect(h.scheduler.lengthOf('evil')).toBe(4_096);
    expect(h.dropped).toHaveLength(5_000 - 4_096);
    expect(h.dropped[0]).toBe('votes:1');
    h.scheduled.shift()?.();
    // the honest vote is the second one validated, not the 4,097th
    expect(h.processed.slice(0, 2)).toEqual(['votes:905', 'votes:1']);
  });

  it('dropPeer reports everything a peer queued as dropped, on every topic, at once', () => {
    const h = harness();
    h.scheduler.push('votes', it1('votes', 1, 'evil'));
    h.scheduler.push('txs', it1('txs', 1, 'evil'));
    h.scheduler.push('votes', it1('votes', 2, 'honest'));
    expect(h.scheduler.dropPeer('evil')).toBe(2);
    expect(h.dropped).toEqual(['votes:1', 'txs:1']);
    h.runAll();
    expect(h.processed).toEqual(['votes:2']);
  });

  it('raises a peer’s byte share to the topic’s largest message, and the topic budget with it', () => {
    const h = new GossipScheduler<Item>(
      {
        ...DEFAULT_QUEUE_OPTIONS,
        topics: {
          ...DEFAULT_QUEUE_OPTIONS.topics,
          proposals: { maxLength: 8, maxBytes: 100, dropPolicy: 'drop-oldest' },
        },
      },
      { process: () => {}, dropped: () => {}, schedule: () => {}, scheduleIdle: () => {} },
      { proposals: 1_000, votes: 129, evidence: 305, txs: 483 },
    );
    h.push('proposals', it1('proposals', 1, 'a', 1_000));
    expect(h.byteLengths().proposals).toBe(1_000);
  });
});
