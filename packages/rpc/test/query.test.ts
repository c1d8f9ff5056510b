import { describe, expect, it } from 'vitest';
import { EventBus, MAX_QUERY_LENGTH, Query, QueryError } from '../src/index.js';
import { compareDecimal } from '../src/query.js';

describe('query language', () => {
  it('parses conditions joined by AND, with every operator and argument kind', () => {
    const q = Query.parse(
      "tm.event = 'Tx' AND tx.height>=5 AND transfer.amount<1.5 AND a.b <= 3 AND a.c > 0 AND a.d CONTAINS 'x y' AND a.e EXISTS AND a.f = TIME 2026-01-02T03:04:05Z AND a.g < DATE 2026-01-02",
    );
    expect(q.conditions.map((c) => [c.tag, c.op, c.arg?.type])).toEqual([
      ['tm.event', '=', 'string'],
      ['tx.height', '>=', 'number'],
      ['transfer.amount', '<', 'number'],
      ['a.b', '<=', 'number'],
      ['a.c', '>', 'number'],
      ['a.d', 'CONTAINS', 'string'],
      ['a.e', 'EXISTS', undefined],
      ['a.f', '=', 'time'],
      ['a.g', '<', 'date'],
    ]);
    expect(q.equals('tm.event')).toBe('Tx');
    expect(Query.parse(q.toString()).toString()).toBe(q.toString());
  });

  it('rejects what CometBFT rejects, saying where', () => {
    const bad: [string, RegExp][] = [
      ['', /offset 0: got end of input, want tag/],
      ['tm.event', /want an operator/],
      ["tm.event = 'Tx' OR a.b = 1", /offset 16: got tag, want AND/],
      ["a.b > 'x'", /want number or time or date/],
      ['a.b CONTAINS 5', /want string/],
      ["a.b = 'open", /unterminated string/],
      ['a.b = TIME 2026-13-45T00:00:00Z', /invalid TIME value/],
      ['a.b = DATE 1800-01-01', /datestamp year 1800 out of range/],
      ['a.b = 1 AND', /got end of input, want tag/],
      ['a.b ! 1', /invalid input "!"/],
    ];
    for (const [text, err] of bad) expect(() => Query.parse(text), text).toThrow(err);
    expect(() => Query.parse(`a.b='${'x'.repeat(MAX_QUERY_LENGTH)}'`)).toThrow(QueryError);
  });

  it('matches every condition against any value of its tag', () => {
    const events = {
      'tm.event': ['Tx'],
      'transfer.from': ['aa', 'bb'],
      'transfer.amount': ['100stake'],
      'fee.amount': ['18446744073709551615'],
      'when.time': ['2026-01-02T03:04:05Z'],
      'when.date': ['2026-01-02'],
    };
    const yes = [
      "tm.event='Tx'",
      "transfer.from='bb'",
      'transfer.amount > 99',
      'transfer.amount = 100',
      'transfer.amount <= 100.0',
      'fee.amount > 18446744073709551614',
      'fee.amount >= 18446744073709551615',
      "transfer.from CONTAINS 'a'",
      'transfer.from EXISTS',
      'transfer EXISTS',
      'when.time = TIME 2026-01-02T03:04:05Z',
      'when.time > TIME 2026-01-02T03:04:04Z',
      'when.date >= DATE 2026-01-02',
      "tm.event='Tx' AND transfer.amount < 101 AND transfer.from='aa'",
    ];
    const no = [
      "tm.event='NewBlock'",
      "transfer.from='cc'",
      'transfer.amount > 100',
      'fee.amount > 18446744073709551615',
      'other.key EXISTS',
      'when.time < TIME 2026-01-02T03:04:05Z',
      "tm.event='Tx' AND transfer.from='cc'",
    ];
    for (const text of yes) expect(Query.parse(text).matches(events), text).toBe(true);
    for (const text of no) expect(Query.parse(text).matches(events), text).toBe(false);
    expect(Query.parse('a EXISTS').matches({})).toBe(false);
  });

  it('compares decimals exactly', () => {
    expect(compareDecimal('007.50', '7.5')).toBe(0);
    expect(compareDecimal('10', '9.99')).toBeGreaterThan(0);
    expect(compareDecimal('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
    expect(compareDecimal('0.1', '0.10001')).toBeLessThan(0);
  });
});

describe('events a query rules out', () => {
  it('rejectsEventType: only a tm.event condition the type fails rules it out', () => {
    expect(Query.parse("tm.event = 'NewBlockHeader'").rejectsEventType('Tx')).toBe(true);
    expect(Query.parse("tm.event = 'NewBlockHeader'").rejectsEventType('NewBlockHeader')).toBe(false);
    expect(Query.parse("tm.event = 'Tx' AND transfer.amount > 5").rejectsEventType('Tx')).toBe(false);
    expect(Query.parse("transfer.from = 'ab'").rejectsEventType('Tx')).toBe(false);
    expect(Query.parse("tm.event CONTAINS 'Block'").rejectsEventType('NewBlock')).toBe(false);
    expect(Query.parse("tm.event CONTAINS 'Block'").rejectsEventType('Tx')).toBe(true);
    expect(Query.parse('tm.event EXISTS').rejectsEventType('Tx')).toBe(false);
  });

  it('EventBus.mayWant: false with no subscription or only ones that rule the type out', () => {
    const bus = new EventBus({ maxClients: 5, maxPerClient: 5 });
    expect(bus.mayWant('Tx')).toBe(false);
    bus.subscribe('a', Query.parse("tm.event = 'NewBlock'"), () => undefined);
    bus.subscribe('a', Query.parse("tm.event = 'NewBlockHeader'"), () => undefined);
    expect(bus.mayWant('Tx')).toBe(false);
    expect(bus.mayWant('NewBlock')).toBe(true);
    bus.subscribe('b', Query.parse("transfer.to = 'cd'"), () => undefined);
    expect(bus.mayWant('Tx')).toBe(true);
    bus.unsubscribeAll('b');
    expect(bus.mayWant('Tx')).toBe(false);
  });
});
