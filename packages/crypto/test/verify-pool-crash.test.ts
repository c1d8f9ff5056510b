/**
 * A verify pool's worker that dies: its batches are answered on the calling
 * thread, it is replaced up to `maxRestarts` times, and then the pool
 * verifies inline. The test records the pool's Worker objects (a subclass
 * of node's, mocked in for this file only) to stop one from outside.
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';

const recorded = vi.hoisted(() => ({ workers: [] as NodeWorker[] }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class RecordedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      recorded.workers.push(this);
    }
  }
  return { ...real, Worker: RecordedWorker };
});

const { createVerifyPool, keyPairFromSeed, sign } = await import('../src/index.js');

const key = keyPairFromSeed(new Uint8Array(32).fill(3));
const other = keyPairFromSeed(new Uint8Array(32).fill(4));
const items = (n: number) =>
  Array.from({ length: n }, (_, i) => {
    const message = new TextEncoder().encode(`m ${i}`);
    return { publicKey: key.publicKey, message, signature: sign(i % 7 === 3 ? other : key, message) };
  });
const expected = (n: number) => Array.from({ length: n }, (_, i) => i % 7 !== 3);
const exited = (w: NodeWorker) => new Promise((resolve) => w.once('exit', resolve));

describe('createVerifyPool when a worker dies', () => {
  it('answers its batches inline, replaces it (maxRestarts), then verifies inline', async () => {
    const pool = createVerifyPool({ workers: 1, maxRestarts: 1 });
    try {
      expect(recorded.workers).toHaveLength(1);
      const first = recorded.workers[0] as NodeWorker;
      // a batch in flight when the worker stops: every answer still right
      const answers = pool.verifyMany(items(200));
      await new Promise((r) => setImmediate(r)); // the batch is posted
      const gone = exited(first);
      await first.terminate();
      await gone;
      expect(await answers).toEqual(expected(200));
      const afterCrash = pool.stats();
      expect(afterCrash.offloaded + afterCrash.inline).toBe(200);
      expect(afterCrash.restarts).toBe(1);
      expect(afterCrash.workers).toBe(1);
      expect(afterCrash.inFlight).toBe(0);
      // the replacement works
      expect(recorded.workers).toHaveLength(2);
      expect(await pool.verifyMany(items(50))).toEqual(expected(50));
      expect(pool.stats().offloaded).toBe(afterCrash.offloaded + 50);
      // a second death: no restarts left, the pool has no worker and verifies inline
      const second = recorded.workers[1] as NodeWorker;
      const gone2 = exited(second);
      await second.terminate();
      await gone2;
      expect(pool.stats()).toMatchObject({ workers: 0, restarts: 1 });
      const inlineBefore = pool.stats().inline;
      expect(await pool.verifyMany(items(20))).toEqual(expected(20));
      expect(pool.stats().inline).toBe(inlineBefore + 20);
      expect(recorded.workers).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });
});
