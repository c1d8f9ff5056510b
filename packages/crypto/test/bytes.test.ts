import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, concatBytes, toHex } from '../src/index.js';

describe('byte helpers', () => {
  it('concatBytes joins in order into a fresh array', () => {
    const a = Uint8Array.of(1, 2);
    const out = concatBytes(a, new Uint8Array(0), Uint8Array.of(3));
    expect([...out]).toEqual([1, 2, 3]);
    out[0] = 9;
    expect(a[0]).toBe(1);
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it('compareBytes is the lexicographic byte order (the order of the hex strings for equal lengths, prefix first)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        const c = Math.sign(compareBytes(a, b));
        expect(Math.sign(compareBytes(b, a)) + c).toBe(0);
        const ha = toHex(a);
        const hb = toHex(b);
        expect(c).toBe(ha === hb ? 0 : ha < hb ? -1 : 1);
      }),
      { numRuns: 500 },
    );
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
  });
});
