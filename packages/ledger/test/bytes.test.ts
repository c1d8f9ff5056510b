import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, keyString, MAX_U64, Reader, u64 } from '../src/bytes.js';
import { keys, TABLE } from '../src/records.js';

/** The reference encoding: DataView's big-endian u64. */
function reference(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

describe('u64 records', () => {
  it('u64 of a bigint or an integral number is the big-endian u64', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_U64 }), (v) => {
        expect(u64(v)).toEqual(reference(v));
        const asNumber = Number(v);
        // Every integral double below 2^64 encodes exactly.
        if (asNumber < 2 ** 64) expect(u64(asNumber)).toEqual(reference(BigInt(asNumber)));
      }),
    );
    for (const n of [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 60])
      expect(u64(n)).toEqual(reference(BigInt(n)));
  });

  it('refuses what is not a u64', () => {
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, -1n, MAX_U64 + 1n])
      expect(() => u64(bad), String(bad)).toThrow(RangeError);
  });

  it('Reader.u64Number reads up to 2^53 - 1 and refuses above', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_U64 }), (v) => {
        const r = new Reader(reference(v));
        if (v <= BigInt(Number.MAX_SAFE_INTEGER)) expect(r.u64Number()).toBe(Number(v));
        else expect(() => r.u64Number()).toThrow(/above 2\^53 - 1/);
      }),
    );
    expect(new Reader(reference(2n ** 53n - 1n)).u64Number()).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => new Reader(reference(2n ** 53n)).u64Number()).toThrow(RangeError);
    expect(() => new Reader(new Uint8Array(7)).u64Number()).toThrow(/too short/);
  });
});

describe('state keys', () => {
  it('a tagged key is the latin1 string of the tag byte and the parts (byte order is string order)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        (a, b) => {
          const [ka, kb] = [keys.account(a), keys.account(b)];
          expect(ka).toBe(keyString(Uint8Array.of(TABLE.account, ...a)));
          const order = ka === kb ? 0 : ka < kb ? -1 : 1;
          expect(order).toBe(Math.sign(compareBytes(a, b)));
        },
      ),
    );
    expect(keys.unbonding(7, Uint8Array.of(0xff, 0x80))).toBe(
      keyString(Uint8Array.of(TABLE.unbonding, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0x80)),
    );
  });
});
