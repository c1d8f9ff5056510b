import { createMemoryKvStore, type KvBatchOp, type KvRange, type KvStore } from '@synod/storage';
import { isSynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { SortedMemoryKvStore } from '../src/memory-kv.js';
import { Rng } from '../src/rng.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const dump = async (kv: KvStore, range?: KvRange): Promise<string[]> =>
  (await kv.entries(range)).map((e) => `${hex(e.key)}=${hex(e.value)}`);

describe('SortedMemoryKvStore against memory-level (differential)', () => {
  it('gives the same answers to thousands of random writes, reads and range queries', async () => {
    const rng = new Rng(7);
    const ours = new SortedMemoryKvStore();
    const theirs = await createMemoryKvStore();
    // Short keys over a small alphabet: many collisions, prefixes and empty keys; enough of them
    // that the sorted order splits into many chunks and merges them back as keys go.
    const key = (): Uint8Array => {
      const n = rng.int(0, 4);
      const k = new Uint8Array(n);
      for (let i = 0; i < n; i++) k[i] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]);
      return k;
    };
    const range = (): KvRange => {
      const r: { -readonly [K in keyof KvRange]: KvRange[K] } = {};
      if (rng.chance(0.5)) r[rng.chance(0.5) ? 'gt' : 'gte'] = key();
      if (rng.chance(0.5)) r[rng.chance(0.5) ? 'lt' : 'lte'] = key();
      if (rng.chance(0.5)) r.reverse = true;
      if (rng.chance(0.9)) r.limit = rng.int(-1, 20);
      return r;
    };
    let compared = 0;
    for (let step = 0; step < 3000; step++) {
      const roll = rng.float();
      if (roll < 0.45) {
        const ops: KvBatchOp[] = [];
        for (let i = rng.int(1, 40); i > 0; i--)
          ops.push(
            rng.chance(0.7)
              ? { type: 'put', key: key(), value: rng.bytes(rng.int(0, 6)) }
              : { type: 'del', key: key() },
          );
        await ours.batch(ops);
        await theirs.batch(ops);
      } else if (roll < 0.6) {
        const k = key();
        expect(await ours.get(k)).toEqual(await theirs.get(k));
        expect(await ours.has(k)).toBe(await theirs.has(k));
      } else {
        const r = range();
        expect(
          await dump(ours, r),
          JSON.stringify(r, (_, v) => (v instanceof Uint8Array ? hex(v) : v)),
        ).toEqual(await dump(theirs, r));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
    expect(await dump(ours)).toEqual(await dump(theirs));
    expect((await ours.entries()).length).toBeGreaterThan(300);
    expect(await ours.approximateSize()).toBe(await theirs.approximateSize());
  });
});

// What the differential test cannot see (@synod/storage's compliance suite states the same contract).
describe('SortedMemoryKvStore: the rest of the KvStore contract', () => {
  it('stores copies: mutating written or returned arrays changes nothing', async () => {
    const kv = new SortedMemoryKvStore();
    const key = b(1, 2);
    const value = b(3, 4);
    await kv.put(key, value);
    key[0] = 9;
    value[0] = 9;
    const got = (await kv.get(b(1, 2))) as Uint8Array;
    expect(got).toEqual(b(3, 4));
    got[0] = 7;
    const [e] = await kv.entries();
    expect(e?.key).toEqual(b(1, 2));
    expect(e?.value).toEqual(b(3, 4));
    (e as { key: Uint8Array }).key[0] = 7;
    expect(await kv.get(b(1, 2))).toEqual(b(3, 4));
  });

  it('an iteration reads the store as it was when it started', async () => {
    const kv = new SortedMemoryKvStore();
    await kv.batch([1, 2, 3].map((i) => ({ type: 'put' as const, key: b(i), value: b(i) })));
    const seen: number[] = [];
    for await (const { key } of kv.iterate()) {
      seen.push(key[0] as number);
      if (key[0] === 1) {
        await kv.del(b(2));
        await kv.put(b(4), b(4));
      }
    }
    expect(seen).toEqual([1, 2, 3]);
    expect((await kv.entries()).map((e) => e.key[0])).toEqual([1, 3, 4]);
  });

  it('a batch with an invalid operation rejects with a SynodError and applies nothing', async () => {
    const kv = new SortedMemoryKvStore();
    const bad = [
      { type: 'put', key: b(1), value: b(1) },
      { type: 'put', key: b(2), value: 'x' },
    ] as unknown as KvBatchOp[];
    const err = await kv.batch(bad).catch((e: unknown) => e);
    expect(isSynodError(err, 'ENCODE_INVALID_VALUE')).toBe(true);
    expect(await kv.has(b(1))).toBe(false);
  });

  it('after close every operation rejects with STORAGE_CLOSED', async () => {
    const kv = new SortedMemoryKvStore();
    await kv.put(b(1), b(1));
    await kv.close();
    await kv.close();
    for (const p of [
      kv.get(b(1)),
      kv.has(b(1)),
      kv.put(b(2), b(2)),
      kv.del(b(1)),
      kv.batch([]),
      kv.entries(),
    ])
      expect(
        isSynodError(
          await p.then(
            () => undefined,
            (e: unknown) => e,
          ),
          'STORAGE_CLOSED',
        ),
      ).toBe(true);
    const it = kv.iterate();
    expect(
      isSynodError(
        await it.next().then(
          () => undefined,
          (e: unknown) => e,
        ),
        'STORAGE_CLOSED',
      ),
    ).toBe(true);
  });
});
