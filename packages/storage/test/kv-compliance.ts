import { isSynodError } from '@synod/types';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareBytes, type KvBatchOp, type KvStore } from '../src/index.js';

export interface KvFixture {
  readonly store: KvStore;
  /** Closes (if needed) and removes everything the fixture created. */
  cleanup(): Promise<void>;
}

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (u: Uint8Array | undefined): string | undefined =>
  u === undefined ? undefined : new TextDecoder().decode(u);
const keysOf = (entries: readonly { key: Uint8Array }[]): number[][] => entries.map((e) => Array.from(e.key));

function randomBytes(n: number, seed: number): Uint8Array {
  // xorshift32: incompressible enough for LevelDB's snappy, and deterministic.
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function expectClosed(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSynodError(err, 'STORAGE_CLOSED')).toBe(true);
}

/**
 * The one behaviour suite every `KvStore` implementation must pass. `factory`
 * returns a fresh, empty, open store for each test.
 */
export function runKvComplianceSuite(name: string, factory: () => Promise<KvFixture>): void {
  describe(`KvStore compliance: ${name}`, () => {
    let fixture: KvFixture;
    let kv: KvStore;

    beforeEach(async () => {
      fixture = await factory();
      kv = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('get of a missing key is undefined; put then get returns the value', async () => {
      expect(await kv.get(text('missing'))).toBeUndefined();
      expect(await kv.has(text('missing'))).toBe(false);
      await kv.put(text('a'), text('alpha'));
      expect(str(await kv.get(text('a')))).toBe('alpha');
      expect(await kv.has(text('a'))).toBe(true);
    });

    it('values come back as Uint8Array', async () => {
      await kv.put(b(1), b(2, 3));
      const v = await kv.get(b(1));
      expect(v).toBeInstanceOf(Uint8Array);
      expect(Array.from(v ?? [])).toEqual([2, 3]);
    });

    it('put overwrites; del removes; del of a missing key is a no-op', async () => {
      await kv.put(text('k'), text('1'));
      await kv.put(text('k'), text('2'));
      expect(str(await kv.get(text('k')))).toBe('2');
      await kv.del(text('k'));
      expect(await kv.get(text('k'))).toBeUndefined();
      await kv.del(text('never-written'));
      expect(await kv.entries()).toEqual([]);
    });

    it('stores empty values, an empty key and keys with 0x00 / 0xff bytes', async () => {
      await kv.put(b(), text('empty-key'));
      await kv.put(b(0), b());
      await kv.put(b(0xff, 0xff), b(0, 0xff));
      expect(str(await kv.get(b()))).toBe('empty-key');
      const empty = await kv.get(b(0));
      expect(empty).toBeInstanceOf(Uint8Array);
      expect(empty?.length).toBe(0);
      expect(Array.from((await kv.get(b(0xff, 0xff))) ?? [])).toEqual([0, 0xff]);
      expect(keysOf(await kv.entries())).toEqual([[], [0], [0xff, 0xff]]);
    });

    it('stores a copy: mutating the written or returned arrays does not change the store', async () => {
      const key = b(7);
      const value = b(1, 2, 3);
      await kv.put(key, value);
      value[0] = 99;
      key[0] = 8;
      const read = await kv.get(b(7));
      expect(Array.from(read ?? [])).toEqual([1, 2, 3]);
      if (read !== undefined) read[1] = 77;
      expect(Array.from((await kv.get(b(7))) ?? [])).toEqual([1, 2, 3]);
      expect(await kv.get(b(8))).toBeUndefined();
    });

    it('round-trips a 1 MiB value', async () => {
      const big = randomBytes(1024 * 1024, 42);
      await kv.put(text('big'), big, { sync: true });
      const back = await kv.get(text('big'));
      expect(back?.length).toBe(big.length);
      expect(Buffer.from(back ?? b()).equals(Buffer.from(big))).toBe(true);
    });

    it('batch writes exactly the bytes of keys and values that are views into larger buffers', async () => {
      const backing = Uint8Array.from({ length: 64 }, (_, i) => i);
      const key = backing.subarray(10, 14);
      const value = backing.subarray(20, 52);
      await kv.batch([{ type: 'put', key, value }], { sync: true });
      backing.fill(0xee); // the store must not keep the caller's memory
      expect(Array.from((await kv.get(Uint8Array.of(10, 11, 12, 13))) ?? [])).toEqual(
        Array.from({ length: 32 }, (_, i) => 20 + i),
      );
      expect((await kv.entries()).map((e) => Array.from(e.key))).toEqual([[10, 11, 12, 13]]);
      await kv.batch([{ type: 'del', key: Uint8Array.of(0, 10, 11, 12, 13).subarray(1) }]);
      expect(await kv.get(Uint8Array.of(10, 11, 12, 13))).toBeUndefined();
    });

    it('batch applies puts and deletes in order; a later op on the same key wins', async () => {
      await kv.put(text('x'), text('old'));
      await kv.batch(
        [
          { type: 'put', key: text('a'), value: text('1') },
          { type: 'del', key: text('x') },
          { type: 'put', key: text('b'), value: text('2') },
          { type: 'put', key: text('a'), value: text('3') },
          { type: 'put', key: text('c'), value: text('4') },
          { type: 'del', key: text('c') },
        ],
        { sync: true },
      );
      expect(str(await kv.get(text('a')))).toBe('3');
      expect(str(await kv.get(text('b')))).toBe('2');
      expect(await kv.get(text('c'))).toBeUndefined();
      expect(await kv.get(text('x'))).toBeUndefined();
      await kv.batch([]);
      expect((await kv.entries()).length).toBe(2);
    });

    it('a batch with an invalid operation rejects with a SynodError and applies nothing', async () => {
      const ops = [
        { type: 'put', key: text('first'), value: text('1') },
        { type: 'put', key: undefined, value: text('2') },
      ] as unknown as KvBatchOp[];
      const err = await kv.batch(ops).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSynodError(err)).toBe(true);
      expect(await kv.get(text('first'))).toBeUndefined();
    });

    it('iterates in bytewise key order, forwards and in reverse', async () => {
      const keys = [b(2), b(1, 0), b(0xff), b(1), b(1, 0xff), b(0, 0, 1), b(0x80)];
      for (const [i, k] of keys.entries()) await kv.put(k, b(i));
      const sorted = [...keys].sort(compareBytes).map((k) => Array.from(k));
      expect(keysOf(await kv.entries())).toEqual(sorted);
      expect(keysOf(await kv.entries({ reverse: true }))).toEqual([...sorted].reverse());
      const all = await kv.entries();
      expect(Array.from(all[0]?.value ?? [])).toEqual([5]);
    });

    it('honours gt / gte / lt / lte bounds, reverse and limit', async () => {
      for (let i = 0; i < 10; i++) await kv.put(b(i), b(i * 10));
      const ks = async (range: Parameters<KvStore['entries']>[0]): Promise<number[]> =>
        (await kv.entries(range)).map((e) => e.key[0]!);
      expect(await ks({ gte: b(3), lt: b(6) })).toEqual([3, 4, 5]);
      expect(await ks({ gt: b(3), lte: b(6) })).toEqual([4, 5, 6]);
      expect(await ks({ gte: b(3), lt: b(6), reverse: true })).toEqual([5, 4, 3]);
      expect(await ks({ gte: b(2), limit: 3 })).toEqual([2, 3, 4]);
      expect(await ks({ lt: b(8), reverse: true, limit: 2 })).toEqual([7, 6]);
      expect(await ks({ limit: 0 })).toEqual([]);
      expect(await ks({ limit: -1 })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await ks({ gte: b(5), lt: b(5) })).toEqual([]);
      expect(await ks({ gt: b(9) })).toEqual([]);
      // A bound between keys: [3, 0] sorts after [3] and before [4].
      expect(await ks({ gt: b(3, 0), lt: b(4, 0) })).toEqual([4]);
    });

    it('iteration reads a snapshot: writes made while iterating are not seen', async () => {
      const n = 600; // more than one internal read-ahead batch
      await kv.batch(
        Array.from({ length: n }, (_, i) => ({ type: 'put', key: b(i >> 8, i & 0xff), value: b(1) })),
      );
      const seen: number[][] = [];
      for await (const { key } of kv.iterate()) {
        if (seen.length === 0) {
          await kv.put(b(0xff), b(9));
          await kv.del(b((n - 1) >> 8, (n - 1) & 0xff));
        }
        seen.push(Array.from(key));
      }
      expect(seen.length).toBe(n);
      expect(seen[n - 1]).toEqual([(n - 1) >> 8, (n - 1) & 0xff]);
      const after = await kv.entries();
      expect(after.length).toBe(n);
      expect(Array.from(after[n - 1]?.key ?? [])).toEqual([0xff]);
    });

    it('breaking out of an iteration early leaves the store usable', async () => {
      for (let i = 0; i < 600; i++) await kv.put(b(i >> 8, i & 0xff), b(1));
      let n = 0;
      for await (const _ of kv.iterate()) {
        n++;
        if (n === 3) break;
      }
      expect(n).toBe(3);
      await kv.put(b(0xfe), b(2));
      expect((await kv.entries()).length).toBe(601);
    });

    it('orders any set of keys bytewise (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 6 }), {
            minLength: 1,
            maxLength: 30,
            selector: (k) => Buffer.from(k).toString('hex'),
          }),
          async (keys) => {
            const prefix = b(0x42);
            await kv.batch(
              keys.map((k) => ({ type: 'put', key: Uint8Array.from([...prefix, ...k]), value: k })),
            );
            const listed = await kv.entries({ gte: prefix, lt: b(0x43) });
            const expected = [...keys].sort(compareBytes).map((k) => Array.from(k));
            expect(listed.map((e) => Array.from(e.value))).toEqual(expected);
            await kv.batch(listed.map((e) => ({ type: 'del', key: e.key })));
            expect(await kv.entries({ gte: prefix, lt: b(0x43) })).toEqual([]);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('concurrent writes all land', async () => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => kv.put(b(i >> 8, i & 0xff), b(i & 0xff))));
      const all = await kv.entries();
      expect(all.length).toBe(200);
      expect(all.every((e, i) => e.value[0] === (i & 0xff))).toBe(true);
    });

    it('reports approximate size, and compaction reclaims deleted ranges', async () => {
      const value = (i: number) => randomBytes(4096, i + 1);
      const ops: KvBatchOp[] = [];
      for (let i = 0; i < 512; i++)
        ops.push({ type: 'put', key: b(0x10, i >> 8, i & 0xff), value: value(i) });
      await kv.batch(ops);
      await kv.put(b(0x20), b(1));
      await kv.compact();
      const span = { gte: b(0x10), lt: b(0x11) };
      const full = await kv.approximateSize(span);
      expect(full).toBeGreaterThanOrEqual(1024 * 1024);
      expect(full).toBeLessThan(8 * 1024 * 1024);
      expect(await kv.approximateSize({ gte: b(0x30), lt: b(0x40) })).toBeLessThan(64 * 1024);
      expect(await kv.approximateSize()).toBeGreaterThanOrEqual(full);
      await kv.batch(ops.map((op) => ({ type: 'del', key: op.key })));
      await kv.compact(span);
      expect(await kv.approximateSize(span)).toBeLessThan(full / 4);
      expect(str(await kv.get(b(0x20)))).toBe('\u0001');
    });

    it('after close every operation rejects with STORAGE_CLOSED; close is idempotent', async () => {
      await kv.put(b(1), b(1));
      await kv.close();
      await kv.close();
      await expectClosed(kv.get(b(1)));
      await expectClosed(kv.has(b(1)));
      await expectClosed(kv.put(b(2), b(2)));
      await expectClosed(kv.del(b(1)));
      await expectClosed(kv.batch([{ type: 'del', key: b(1) }]));
      await expectClosed(kv.entries());
      await expectClosed(kv.approximateSize());
      await expectClosed(kv.compact());
    });
  });
}
