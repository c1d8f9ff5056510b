import { isSynodError } from '@synod/types';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareBytes,
  GroupedKvStore,
  type KvBatchOp,
  type KvRange,
  type KvStore,
  openLevelKvStore,
  prefixedKvStore,
} from '../../src/index.js';
import { runKvComplianceSuite } from '../kv-compliance.js';
import { tempDir } from '../temp-dir.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const hex = (u: Uint8Array | undefined): string | undefined =>
  u === undefined ? undefined : Buffer.from(u).toString('hex');

// Outside any group the grouped store is the store under it: the same behaviour suite.
runKvComplianceSuite('grouped store over level, outside groups', async () => {
  const dir = await tempDir('kv-grouped');
  const inner = await openLevelKvStore(dir.path);
  const store = new GroupedKvStore(inner);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dir.remove();
    },
  };
});

describe('GroupedKvStore on LevelDB', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let inner: KvStore;
  let kv: GroupedKvStore;

  beforeEach(async () => {
    dir = await tempDir('kv-grouped-unit');
    inner = await openLevelKvStore(dir.path);
    kv = new GroupedKvStore(inner);
  });

  afterEach(async () => {
    await kv.close();
    await dir.remove();
  });

  /** What LevelDB itself holds, read through the store under the group. */
  const onDisk = async (key: Uint8Array): Promise<string | undefined> => hex(await inner.get(key));

  it('writes of a group reach the store in one batch when it returns, and are read back before', async () => {
    const view = prefixedKvStore(kv, b(0x20));
    await kv.put(b(1), b(0xa0));
    await kv.put(b(2), b(0xa1));
    await kv.group(async () => {
      await kv.put(b(3), b(0xb3), { sync: true });
      await view.batch([
        { type: 'put', key: b(1), value: b(0xc1) },
        { type: 'put', key: b(2), value: b(0xc2) },
      ]);
      await kv.del(b(1));
      await kv.put(b(2), b(0xb2));
      // Nothing is on disk yet ...
      expect(await onDisk(b(3))).toBeUndefined();
      expect(await onDisk(b(0x20, 1))).toBeUndefined();
      expect(await onDisk(b(1))).toBe('a0');
      // ... but every read through the grouped store (or a view over it) sees the group's writes.
      expect(hex(await kv.get(b(3)))).toBe('b3');
      expect(await kv.get(b(1))).toBeUndefined();
      expect(await kv.has(b(1))).toBe(false);
      expect(await kv.has(b(2))).toBe(true);
      expect(hex(await view.get(b(2)))).toBe('c2');
      const all = await kv.entries();
      expect(all.map((e) => [hex(e.key), hex(e.value)])).toEqual([
        ['02', 'b2'],
        ['03', 'b3'],
        ['2001', 'c1'],
        ['2002', 'c2'],
      ]);
      expect((await view.entries({ reverse: true, limit: 1 })).map((e) => hex(e.key))).toEqual(['02']);
      expect(kv.inGroup()).toBe(true);
    });
    expect(kv.inGroup()).toBe(false);
    expect(kv.stats()).toMatchObject({ groups: 1, groupBatches: 1, groupedWrites: 4, groupedOps: 5 });
    expect(await onDisk(b(1))).toBeUndefined();
    expect(await onDisk(b(2))).toBe('b2');
    expect(await onDisk(b(3))).toBe('b3');
    expect(await onDisk(b(0x20, 2))).toBe('c2');
    // And it survives closing and reopening the database.
    await kv.close();
    inner = await openLevelKvStore(dir.path);
    kv = new GroupedKvStore(inner);
    expect((await kv.entries()).map((e) => hex(e.key))).toEqual(['02', '03', '2001', '2002']);
  });

  it('a write from outside an open group waits until the group is written, and lands after it', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const group = kv.group(async () => {
      await kv.put(b(1), b(1));
      await gate;
      order.push('group returns');
    });
    // Not inside the group's async context: waits.
    const outside = kv.put(b(1), b(2)).then(() => order.push('outside written'));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    expect(await onDisk(b(1))).toBeUndefined();
    release();
    await Promise.all([group, outside]);
    expect(order).toEqual(['group returns', 'outside written']);
    expect(await onDisk(b(1))).toBe('02');
  });

  it('a group inside a group joins it; a second group waits for the first', async () => {
    const second = { started: false };
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = kv.group(async () => {
      await kv.put(b(1), b(1));
      await kv.group(async () => {
        await kv.put(b(2), b(2));
      });
      expect(await onDisk(b(2))).toBeUndefined();
      await gate;
    });
    const other = kv.group(async () => {
      second.started = true;
      await kv.put(b(3), b(3));
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(second.started).toBe(false);
    release();
    await Promise.all([first, other]);
    expect(kv.stats()).toMatchObject({ groups: 2, groupBatches: 2 });
    expect([await onDisk(b(1)), await onDisk(b(2)), await onDisk(b(3))]).toEqual(['01', '02', '03']);
  });

  it('when the function throws, the writes it made are written and the error comes back', async () => {
    const err = await kv
      .group(async () => {
        await kv.put(b(1), b(1));
        throw new Error('boom');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('boom');
    expect(await onDisk(b(1))).toBe('01');
    // The store goes on working.
    await kv.group(async () => kv.put(b(2), b(2)));
    expect(await onDisk(b(2))).toBe('02');
  });

  it('after a failed group write, every later write is refused with STORAGE_IO', async () => {
    await inner.close(); // the batch of the next group fails
    const failed = await kv.group(async () => kv.put(b(1), b(1))).catch((e: unknown) => e);
    expect(isSynodError(failed, 'STORAGE_CLOSED')).toBe(true);
    const later = await kv.put(b(2), b(2)).catch((e: unknown) => e);
    expect(isSynodError(later, 'STORAGE_IO')).toBe(true);
    const group = await kv.group(async () => undefined).catch((e: unknown) => e);
    expect(isSynodError(group, 'STORAGE_IO')).toBe(true);
    inner = await openLevelKvStore(dir.path);
    kv = new GroupedKvStore(inner);
    expect(await kv.get(b(1))).toBeUndefined();
  });

  it('iteration inside a group equals a model of the store with the group applied (random ops)', async () => {
    const key = fc.uint8Array({ minLength: 1, maxLength: 3, max: 7 });
    const op = fc.oneof(
      fc.record({
        type: fc.constant('put' as const),
        key,
        value: fc.uint8Array({ minLength: 1, maxLength: 2 }),
      }),
      fc.record({ type: fc.constant('del' as const), key }),
    );
    // At most one lower and one upper bound (LevelDB leaves both of a side undefined behaviour).
    const range = fc
      .record(
        {
          lower: fc.option(fc.record({ inclusive: fc.boolean(), key })),
          upper: fc.option(fc.record({ inclusive: fc.boolean(), key })),
          reverse: fc.option(fc.boolean()),
          limit: fc.option(fc.integer({ min: -1, max: 6 })),
        },
        { requiredKeys: [] },
      )
      .map(
        ({ lower, upper, reverse, limit }): KvRange => ({
          ...(lower == null ? {} : lower.inclusive ? { gte: lower.key } : { gt: lower.key }),
          ...(upper == null ? {} : upper.inclusive ? { lte: upper.key } : { lt: upper.key }),
          ...(reverse == null ? {} : { reverse }),
          ...(limit == null ? {} : { limit }),
        }),
      );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 12 }),
        fc.array(op, { maxLength: 12 }),
        range,
        async (before, during, r) => {
          // A fresh key space per run: everything under a run prefix.
          const view = prefixedKvStore(kv, b(0xf0, run++ & 0xff, run >> 8));
          const model = new Map<string, Uint8Array>();
          const apply = (ops: readonly KvBatchOp[]): void => {
            for (const o of ops) {
              const id = hex(o.key) as string;
              if (o.type === 'put') model.set(id, o.value);
              else model.delete(id);
            }
          };
          await view.batch(before);
          apply(before);
          const seen = await kv.group(async () => {
            await view.batch(during);
            apply(during);
            return view.entries(r);
          });
          let expected = [...model.entries()]
            .map(([k, v]) => ({ key: Buffer.from(k, 'hex'), value: v }))
            .filter(
              (e) =>
                (r.gt === undefined || compareBytes(e.key, r.gt) > 0) &&
                (r.gte === undefined || compareBytes(e.key, r.gte) >= 0) &&
                (r.lt === undefined || compareBytes(e.key, r.lt) < 0) &&
                (r.lte === undefined || compareBytes(e.key, r.lte) <= 0),
            )
            .sort((x, y) => compareBytes(x.key, y.key));
          if (r.reverse === true) expected.reverse();
          if (r.limit !== undefined && r.limit >= 0) expected = expected.slice(0, r.limit);
          expect(seen.map((e) => [hex(e.key), hex(e.value)])).toEqual(
            expected.map((e) => [hex(e.key), hex(e.value)]),
          );
          // And what the group wrote is what the store now holds.
          const after = await view.entries(r);
          expect(after.map((e) => [hex(e.key), hex(e.value)])).toEqual(
            expected.map((e) => [hex(e.key), hex(e.value)]),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});
