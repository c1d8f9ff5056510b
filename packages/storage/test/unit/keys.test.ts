import { describe, expect, it } from 'vitest';
import { createMemoryNodeStorage, KEY_PREFIX, prefixedKvStore } from '../../src/index.js';

describe('KEY_PREFIX', () => {
  it('gives every namespace its own one-byte prefix; 0x40 is reserved for the RPC store', () => {
    const values = Object.values(KEY_PREFIX);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(Number.isInteger(v) && v >= 0 && v <= 0xff).toBe(true);
    expect(KEY_PREFIX.rpc).toBe(0x40);
  });

  it("a view under KEY_PREFIX.rpc neither sees nor touches the node storage's keys", async () => {
    const storage = await createMemoryNodeStorage();
    const before: string[] = [];
    for await (const { key } of storage.kv.iterate({})) before.push(Buffer.from(key).toString('hex'));
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((k) => !k.startsWith('40'))).toBe(true);
    const rpc = prefixedKvStore(storage.kv, Uint8Array.of(KEY_PREFIX.rpc));
    const seen: Uint8Array[] = [];
    for await (const { key } of rpc.iterate({})) seen.push(key);
    expect(seen).toEqual([]);
    await rpc.put(Uint8Array.of(0x00), Uint8Array.of(1));
    const after: string[] = [];
    for await (const { key } of storage.kv.iterate({})) after.push(Buffer.from(key).toString('hex'));
    expect(after).toEqual([...before, '4000'].sort());
    await storage.close();
  });
});
