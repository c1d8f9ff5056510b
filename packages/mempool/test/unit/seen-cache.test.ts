import { describe, expect, it } from 'vitest';
import { SeenCache } from '../../src/seen-cache.js';

describe('SeenCache', () => {
  it('evicts the least recently seen key past capacity; add refreshes; delete forgets', () => {
    const c = new SeenCache(2);
    c.add('a');
    c.add('b');
    c.add('a');
    c.add('c');
    expect(c.has('a')).toBe(true);
    expect(c.has('b')).toBe(false);
    expect(c.has('c')).toBe(true);
    c.delete('a');
    expect(c.has('a')).toBe(false);
    expect(c.size).toBe(1);
    c.add('d'); // {c, d}
    c.touch('x'); // absent: stays absent
    expect(c.has('x')).toBe(false);
    c.touch('c'); // {d, c}: c is now the most recent
    c.add('e'); // evicts d
    expect(c.has('d')).toBe(false);
    expect(c.has('c')).toBe(true);
    expect(c.has('e')).toBe(true);
    c.clear();
    expect(c.size).toBe(0);
  });
});
