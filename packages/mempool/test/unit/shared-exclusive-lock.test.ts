import { describe, expect, it } from 'vitest';
import { SharedExclusiveLock } from '../../src/shared-exclusive-lock.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SharedExclusiveLock', () => {
  it('lets shared holders overlap, and an exclusive holder wait for them and run alone', async () => {
    const lock = new SharedExclusiveLock();
    const log: string[] = [];
    const r1 = await lock.shared();
    const r2 = await lock.shared();
    const ex = lock.exclusive().then((release) => {
      log.push('exclusive');
      return release;
    });
    const late = lock.shared().then((release) => {
      log.push('late shared');
      return release;
    });
    await tick();
    expect(log).toEqual([]);
    r1();
    await tick();
    expect(log).toEqual([]);
    r2();
    const releaseEx = await ex;
    await tick();
    expect(log).toEqual(['exclusive']); // the later shared request queues behind the exclusive one (FIFO)
    releaseEx();
    (await late)();
    expect(log).toEqual(['exclusive', 'late shared']);
  });

  it('grants consecutive shared waiters together; releasing twice is harmless', async () => {
    const lock = new SharedExclusiveLock();
    const ex = await lock.exclusive();
    const waiters = [lock.shared(), lock.shared(), lock.shared()];
    ex();
    ex();
    const releases = await Promise.all(waiters);
    const next = lock.exclusive();
    let granted = false;
    void next.then(() => {
      granted = true;
    });
    for (const r of releases.slice(0, 2)) r();
    await tick();
    expect(granted).toBe(false);
    releases[2]?.();
    (await next)();
    expect(granted).toBe(true);
  });

  it('tryShared succeeds only when nobody holds or waits for the lock exclusively', async () => {
    const lock = new SharedExclusiveLock();
    const s1 = lock.tryShared();
    expect(s1).toBeDefined();
    const ex = lock.exclusive();
    expect(lock.tryShared()).toBeUndefined(); // an exclusive waiter is queued
    s1?.();
    const release = await ex;
    expect(lock.tryShared()).toBeUndefined();
    release();
    expect(lock.tryShared()).toBeDefined();
  });

  it('handles long queues in order', async () => {
    const lock = new SharedExclusiveLock();
    const first = await lock.exclusive();
    const order: number[] = [];
    const all = Array.from({ length: 3000 }, (_, i) =>
      lock.exclusive().then((release) => {
        order.push(i);
        release();
      }),
    );
    first();
    await Promise.all(all);
    expect(order).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });
});
