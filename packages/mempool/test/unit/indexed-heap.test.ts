import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexedHeap } from '../../src/indexed-heap.js';

interface Item {
  key: number;
  readonly id: number;
  pos: number;
}

function heap(): IndexedHeap<Item> {
  return new IndexedHeap<Item>(
    (a, b) => a.key < b.key || (a.key === b.key && a.id < b.id),
    (i) => i.pos,
    (i, p) => {
      i.pos = p;
    },
  );
}

describe('IndexedHeap', () => {
  it('pops in order after arbitrary pushes, removals and re-keys (model check)', () => {
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('rekey' as const), pick: fc.nat(), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const h = heap();
        const model: Item[] = [];
        let id = 0;
        const order = (a: Item, b: Item) => a.key - b.key || a.id - b.id;
        for (const o of ops) {
          if (o.op === 'push') {
            const item = { key: o.key, id: id++, pos: -1 };
            h.push(item);
            model.push(item);
          } else if (o.op === 'pop') {
            model.sort(order);
            expect(h.pop()).toBe(model.shift());
          } else if (model.length > 0) {
            const item = model[o.pick % model.length] as Item;
            if (o.op === 'remove') {
              h.remove(item);
              model.splice(model.indexOf(item), 1);
              expect(item.pos).toBe(-1);
            } else {
              item.key = o.key;
              h.update(item);
            }
          }
          expect(h.size).toBe(model.length);
          model.sort(order);
          expect(h.peek()).toBe(model[0]);
          for (let i = 0; i < h.size; i++) expect(h.at(i)?.pos).toBe(i);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('ignores removal or update of an item it does not hold; clear resets positions', () => {
    const h = heap();
    const a = { key: 1, id: 1, pos: -1 };
    const stranger = { key: 0, id: 2, pos: 0 };
    h.push(a);
    h.remove(stranger);
    h.update(stranger);
    expect(h.size).toBe(1);
    h.clear();
    expect(h.size).toBe(0);
    expect(a.pos).toBe(-1);
    expect(h.pop()).toBeUndefined();
  });
});
