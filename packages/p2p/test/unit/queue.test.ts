import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/queue/bounded-queue.js';
import {
  DEFAULT_QUEUE_OPTIONS,
  GossipScheduler,
  type QueueOptions,
} from '../../src/queue/gossip-scheduler.js';
import type { GossipTopic } from '../../src/topics.js';

describe('BoundedQueue', () => {
  it('is FIFO and wraps around its ring buffer', () => {
    const q = new BoundedQueue<number>(3, 'drop-oldest');
    for (let round = 0; round < 5; round++) {
      expect(q.push(1)).toBeUndefined();
      expect(q.push(2)).toBeUndefined();
      expect(q.shift()).toBe(1);
      expect(q.push(3)).toBeUndefined();
      expect(q.drain()).toEqual([2, 3]);
    }
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('drop-oldest: a full queue takes the new item and returns the oldest', () => {
    const q = new BoundedQueue<number>(3, 'drop-oldest');
    for (const n of [1, 2, 3]) q.push(n);
    expect(q.push(4)).toBe(1);
    expect(q.push(5)).toBe(2);
    expect(q.length).toBe(3);
    expect(q.drain()).toEqual([3, 4, 5]);
  });

  it('drop-newest: a full queue refuses the new item', () => {
    const q = new BoundedQueue<number>(2, 'drop-newest');
    q.push(1);
    q.push(2);
    expect(q.push(3)).toBe(3);
    expect(q.drain()).toEqual([1, 2]);
  });

  it('refuses a non-positive bound', () => {
    expect(() => new BoundedQueue<number>(0, 'drop-oldest')).toThrow(RangeError);
  });
});

interface Item {
  readonly topic: GossipTopic;
  readonly n: number;
}

function harness(options: Partial<QueueOptions> = {}, asyncTopics: GossipTopic[] = []) {
  const processed: string[] = [];
  const dropped: string[] = [];
  const scheduled: (() => void)[] = [];
  const resolvers: (() => void)[] = [];
  let now = 0;
  let idleScheduled = 0;
  const scheduler = new GossipScheduler<Item>(
    { ...DEFAULT_QUEUE_OPTIONS, ...options, topics: { ...DEFAULT_QUEUE_OPTIONS.topics, ...options.topics } },
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
    h.scheduler.push('txs', { topic: 'txs', n: 1 });
    h.scheduler.push('txs', { topic: 'txs', n: 2 });
    h.scheduler.push('evidence', { topic: 'evidence', n: 1 });
    h.scheduler.push('votes', { topic: 'votes', n: 1 });
    h.scheduler.push('proposals', { topic: 'proposals', n: 1 });
    h.scheduler.push('votes', { topic: 'votes', n: 2 });
    expect(h.processed).toEqual([]);
    expect(h.scheduled).toHaveLength(1);
    h.runAll();
    expect(h.processed).toEqual(['proposals:1', 'votes:1', 'votes:2', 'evidence:1', 'txs:1', 'txs:2']);
  });

  it('a full queue drops its oldest message (reported), other topics are untouched', () => {
    const h = harness({
      topics: {
        ...DEFAULT_QUEUE_OPTIONS.topics,
        txs: { maxLength: 2, dropPolicy: 'drop-oldest' },
        votes: { maxLength: 2, dropPolicy: 'drop-oldest' },
      },
    });
    for (let n = 1; n <= 4; n++) h.scheduler.push('txs', { topic: 'txs', n });
    for (let n = 1; n <= 3; n++) h.scheduler.push('votes', { topic: 'votes', n });
    expect(h.dropped).toEqual(['txs:1', 'txs:2', 'votes:1']);
    expect(h.scheduler.lengths()).toEqual({ proposals: 0, votes: 2, evidence: 0, txs: 2 });
    h.runAll();
    expect(h.processed).toEqual(['votes:2', 'votes:3', 'txs:3', 'txs:4']);
  });

  it('starts an idle scheduler at once (microtask), continues a backlog after I/O (setImmediate)', () => {
    const h = harness({ sliceBudgetMs: 3 });
    for (let n = 1; n <= 7; n++) h.scheduler.push('votes', { topic: 'votes', n });
    expect(h.idleCount()).toBe(1);
    h.scheduled.shift()?.();
    expect(h.processed).toHaveLength(3);
    expect(h.scheduled).toHaveLength(1);
    // a proposal that arrives between slices jumps the queue
    h.scheduler.push('proposals', { topic: 'proposals', n: 1 });
    h.scheduled.shift()?.();
    expect(h.processed.slice(3)).toEqual(['proposals:1', 'votes:4', 'votes:5']);
    h.runAll();
    expect(h.processed).toHaveLength(8);
    expect(h.idleCount()).toBe(1);
    // idle again: the next message starts at once
    h.scheduler.push('txs', { topic: 'txs', n: 1 });
    expect(h.idleCount()).toBe(2);
  });

  it('bounds asynchronous (precheck) work in flight, and resumes as it settles', async () => {
    const h = harness({ asyncConcurrency: 2 }, ['txs']);
    for (let n = 1; n <= 5; n++) h.scheduler.push('txs', { topic: 'txs', n });
    h.runAll();
    expect(h.processed).toEqual(['txs:1', 'txs:2']);
    expect(h.scheduler.pendingAsync).toBe(2);
    // consensus traffic is not blocked by the full async slots
    h.scheduler.push('votes', { topic: 'votes', n: 1 });
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
    h.scheduler.push('votes', { topic: 'votes', n: 1 });
    h.scheduler.push('txs', { topic: 'txs', n: 1 });
    h.scheduler.stop();
    h.scheduler.push('votes', { topic: 'votes', n: 2 });
    h.runAll();
    expect(h.processed).toEqual([]);
    expect(h.dropped).toEqual(['votes:1', 'txs:1', 'votes:2']);
  });
});
