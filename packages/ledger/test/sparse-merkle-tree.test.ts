import { sha256 } from '@synod/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_TREE_ROOT, SparseMerkleTree, smtRootOf } from '../src/index.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('sparse Merkle tree (app hash)', () => {
  it('has a zero root when empty and a leaf hash with one leaf', () => {
    const t = new SparseMerkleTree();
    expect(t.rootHash()).toEqual(EMPTY_TREE_ROOT);
    t.set(bytes(1), bytes(2));
    const path = sha256(bytes(1));
    const leaf = sha256(Uint8Array.from([0, ...path, ...sha256(bytes(2))]));
    expect(t.rootHash()).toEqual(leaf);
    t.delete(bytes(1));
    expect(t.rootHash()).toEqual(EMPTY_TREE_ROOT);
  });

  it('changes the root when any value changes, and restores it when the change is undone', () => {
    const t = new SparseMerkleTree();
    for (let i = 0; i < 50; i++) t.set(bytes(i), bytes(i, i));
    const r0 = t.rootHash();
    t.set(bytes(7), bytes(0));
    const r1 = t.rootHash();
    expect(r1).not.toEqual(r0);
    t.set(bytes(7), bytes(7, 7));
    expect(t.rootHash()).toEqual(r0);
    t.set(bytes(200), bytes(1));
    expect(t.rootHash()).not.toEqual(r0);
    t.delete(bytes(200));
    expect(t.rootHash()).toEqual(r0);
  });

  it('matches the from-scratch definition after any sequence of sets and deletes, in any order', () => {
    const op = fc.record({
      del: fc.boolean(),
      key: fc.uint8Array({ minLength: 1, maxLength: 3 }),
      value: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const t = new SparseMerkleTree();
        const model = new Map<string, [Uint8Array, Uint8Array]>();
        ops.forEach((o, i) => {
          const id = Buffer.from(o.key).toString('hex');
          if (o.del) {
            t.delete(o.key);
            model.delete(id);
          } else {
            t.set(o.key, o.value);
            model.set(id, [o.key, o.value]);
          }
          // Ask for the root at irregular points (lazy rehashing must not matter).
          if (i % 7 === 3) t.rootHash();
        });
        const entries = [...model.values()];
        expect(t.rootHash()).toEqual(smtRootOf(entries));
        // Building the same set in reverse order gives the same root.
        const r = new SparseMerkleTree();
        for (const [k, v] of [...entries].reverse()) r.set(k, v);
        expect(r.rootHash()).toEqual(t.rootHash());
      }),
      { numRuns: 200 },
    );
  });
});
