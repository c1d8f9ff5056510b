/**
 * CometBFT's event query language (libs/pubsub/query, 0.38): conditions
 * joined by `AND`, each `tag op argument` or `tag EXISTS`:
 *
 *   tm.event = 'Tx' AND tx.height >= 5 AND transfer.from = 'ab12…'
 *
 * Operators `=`, `<`, `<=`, `>`, `>=`, `CONTAINS`, `EXISTS`; arguments are
 * 'single-quoted strings', numbers (`5`, `1.5`), `TIME 2026-01-02T03:04:05Z`
 * and `DATE 2026-01-02`. The comparison operators take numbers, times and
 * dates; `CONTAINS` takes a string; `=` takes any. A value compared with a
 * number is read from its leading decimal number (`'100stake'` is 100), as
 * CometBFT does. Numbers are compared exactly (no floating point).
 *
 * An event matches when every condition matches one of the values of its
 * tag (events are `{ "transfer.from": ["…"], "tm.event": ["Tx"], … }`).
 */

export type QueryOp = '=' | '<' | '<=' | '>' | '>=' | 'CONTAINS' | 'EXISTS';

export type QueryArg =
  | { readonly type: 'string'; readonly text: string }
  | { readonly type: 'number'; readonly text: string }
  | { readonly type: 'time' | 'date'; readonly text: string; readonly ms: number };

export interface QueryCondition {
  readonly tag: string;
  readonly op: QueryOp;
  /** Undefined for EXISTS. */
  readonly arg: QueryArg | undefined;
  /** Whether one value of the tag satisfies the condition. */
  readonly test: (value: string) => boolean;
}

/** A query's events: composite key (`type.attribute`) → values. */
export type EventMap = Readonly<Record<string, readonly string[]>>;

/** Longest query accepted (CometBFT's maxQueryLength). */
export const MAX_QUERY_LENGTH = 512;

/** A query that does not parse; its message says where and why (offsets as CometBFT's). */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

type Token =
  | { kind: 'tag'; text: string; pos: number }
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'time' | 'date'; text: string; pos: number }
  | { kind: 'and' | 'contains' | 'exists'; text: string; pos: number }
  | { kind: 'op'; text: '=' | '<' | '<=' | '>' | '>='; pos: number };

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isLetter = (c: string): boolean => /\p{L}/u.test(c);
const isTagChar = (c: string): boolean =>
  c === '.' || c === '_' || c === '-' || isLetter(c) || /\p{Nd}/u.test(c);
const isFirstTagChar = (c: string): boolean => c === '_' || isLetter(c);

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseTimeText(text: string, kind: 'time' | 'date', pos: number): number {
  const ok = kind === 'time' ? TIME_RE.test(text) : DATE_RE.test(text);
  const ms = ok ? Date.parse(kind === 'time' ? text : `${text}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms))
    throw new QueryError(`offset ${pos}: invalid ${kind === 'time' ? 'TIME' : 'DATE'} value`);
  const year = new Date(ms).getUTCFullYear();
  if (year < 1900 || year > 2999)
    throw new QueryError(
      `offset ${pos}: ${kind === 'time' ? 'timestamp' : 'datestamp'} year ${year} out of range`,
    );
  return ms;
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (isDigit(c)) {
      let j = i + 1;
      while (j < s.length && isDigit(s[j] as string)) j++;
      if (s[j] === '.') {
        j++;
        while (j < s.length && isDigit(s[j] as string)) j++;
      }
      out.push({ kind: 'number', text: s.slice(i, j), pos });
      i = j;
    } else if (isFirstTagChar(c)) {
      let j = i + 1;
      while (j < s.length && isTagChar(s[j] as string)) j++;
      const word = s.slice(i, j);
      if ((word === 'TIME' || word === 'DATE') && s[j] === ' ') {
        const kind = word === 'TIME' ? 'time' : 'date';
        let k = j + 1;
        const allowed = kind === 'time' ? /[-T:+Z0-9]/ : /[-0-9]/;
        while (k < s.length && allowed.test(s[k] as string)) k++;
        const text = s.slice(j + 1, k);
        parseTimeText(text, kind, pos);
        out.push({ kind, text, pos });
        i = k;
        continue;
      }
      if (word === 'AND') out.push({ kind: 'and', text: word, pos });
      else if (word === 'CONTAINS') out.push({ kind: 'contains', text: word, pos });
      else if (word === 'EXISTS') out.push({ kind: 'exists', text: word, pos });
      else out.push({ kind: 'tag', text: word, pos });
      i = j;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new QueryError(`offset ${pos}: unterminated string`);
      out.push({ kind: 'string', text: s.slice(i + 1, end), pos });
      i = end + 1;
    } else if (c === '=' || c === '<' || c === '>') {
      if (c !== '=' && s[i + 1] === '=') {
        out.push({ kind: 'op', text: c === '<' ? '<=' : '>=', pos });
        i += 2;
      } else {
        out.push({ kind: 'op', text: c, pos });
        i++;
      }
    } else {
      throw new QueryError(`offset ${pos}: invalid input ${JSON.stringify(c)}`);
    }
  }
  return out;
}

/** The leading decimal number of `s` (`'100stake'` → `'100'`), or undefined. */
function leadingNumber(s: string): string | undefined {
  const m = /^\d+(\.\d+)?/.exec(s);
  return m === null ? undefined : m[0];
}

/** Compares two non-negative decimals given as text ("007.50" vs "7.5" → 0). */
export function compareDecimal(a: string, b: string): number {
  const split = (x: string): [string, string] => {
    const [i = '', f = ''] = x.split('.');
    return [i.replace(/^0+/, ''), f.replace(/0+$/, '')];
  };
  const [ai, af] = split(a);
  const [bi, bf] = split(b);
  if (ai.length !== bi.length) return ai.length - bi.length;
  if (ai !== bi) return ai < bi ? -1 : 1;
  if (af === bf) return 0;
  return af < bf ? -1 : 1;
}

function parseValueTime(s: string, kind: 'time' | 'date'): number {
  if (kind === 'date') return DATE_RE.test(s) ? Date.parse(`${s}T00:00:00Z`) : Number.NaN;
  return Date.parse(s);
}

function makeTest(op: QueryOp, arg: QueryArg | undefined): (value: string) => boolean {
  if (op === 'EXISTS' || arg === undefined) return () => true;
  if (arg.type === 'string') {
    const want = arg.text;
    return op === 'CONTAINS' ? (v) => v.includes(want) : (v) => v === want;
  }
  const cmpOk = (c: number): boolean =>
    op === '=' ? c === 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
  if (arg.type === 'number') {
    const want = arg.text;
    return (v) => {
      const n = leadingNumber(v);
      return n !== undefined && cmpOk(compareDecimal(n, want));
    };
  }
  const kind = arg.type;
  const want = arg.ms;
  return (v) => {
    const t = parseValueTime(v, kind);
    return !Number.isNaN(t) && cmpOk(t === want ? 0 : t < want ? -1 : 1);
  };
}

/** A parsed query. */
export class Query {
  readonly text: string;
  readonly conditions: readonly QueryCondition[];

  private constructor(text: string, conditions: readonly QueryCondition[]) {
    this.text = text;
    this.conditions = conditions;
  }

  /** Parses `text`; throws QueryError with CometBFT's kind of message. */
  static parse(text: string): Query {
    if (text.length > MAX_QUERY_LENGTH) throw new QueryError('maximum query length exceeded');
    const tokens = tokenize(text);
    const conditions: QueryCondition[] = [];
    let i = 0;
    const next = (): Token | undefined => tokens[i++];
    const at = (t: Token | undefined): number => t?.pos ?? text.length;
    for (;;) {
      const tag = next();
      if (tag === undefined || tag.kind !== 'tag')
        throw new QueryError(
          `offset ${at(tag)}: got ${tag === undefined ? 'end of input' : tag.kind}, want tag`,
        );
      const opTok = next();
      if (
        opTok === undefined ||
        (opTok.kind !== 'op' && opTok.kind !== 'contains' && opTok.kind !== 'exists')
      )
        throw new QueryError(
          `offset ${at(opTok)}: got ${opTok === undefined ? 'end of input' : opTok.kind}, want an operator`,
        );
      const op: QueryOp =
        opTok.kind === 'op' ? opTok.text : opTok.kind === 'contains' ? 'CONTAINS' : 'EXISTS';
      let arg: QueryArg | undefined;
      if (op !== 'EXISTS') {
        const a = next();
        const allowed =
          op === 'CONTAINS'
            ? ['string']
            : op === '='
              ? ['number', 'time', 'date', 'string']
              : ['number', 'time', 'date'];
        if (a === undefined || !allowed.includes(a.kind))
          throw new QueryError(
            `offset ${at(a)}: got ${a === undefined ? 'end of input' : a.kind}, want ${allowed.join(' or ')}`,
          );
        arg =
          a.kind === 'time' || a.kind === 'date'
            ? { type: a.kind, text: a.text, ms: parseTimeText(a.text, a.kind, a.pos) }
            : { type: a.kind as 'string' | 'number', text: a.text };
      }
      conditions.push({ tag: tag.text, op, arg, test: makeTest(op, arg) });
      const sep = next();
      if (sep === undefined) break;
      if (sep.kind !== 'and') throw new QueryError(`offset ${sep.pos}: got ${sep.kind}, want AND`);
    }
    return new Query(text, conditions);
  }

  /** Whether `events` satisfy every condition (and there is at least one event). */
  /**
   * Whether no event of type `eventType` (its `tm.event`) can match: the
   * query has a condition on `tm.event` that the type fails. Lets the server
   * skip building events nobody can want (a Tx event per transaction).
   */
  rejectsEventType(eventType: string): boolean {
    return this.conditions.some((c) => c.tag === 'tm.event' && !c.test(eventType));
  }

  matches(events: EventMap): boolean {
    let any = false;
    for (const _ in events) {
      any = true;
      break;
    }
    if (!any) return false;
    return this.conditions.every((c) => {
      const values = events[c.tag];
      if (values !== undefined) return values.some((v) => c.test(v));
      // `type EXISTS` matches an event of that type (CometBFT: the tag equals the event type).
      return c.op === 'EXISTS' && Object.keys(events).some((k) => k.startsWith(`${c.tag}.`));
    });
  }

  /** The value a condition `tag = '…'` requires, if the query has one. */
  equals(tag: string): string | undefined {
    for (const c of this.conditions)
      if (c.tag === tag && c.op === '=' && c.arg !== undefined) return c.arg.text;
    return undefined;
  }

  toString(): string {
    return this.conditions
      .map((c) => {
        const a = c.arg;
        const arg =
          a === undefined
            ? ''
            : a.type === 'string'
              ? ` '${a.text}'`
              : a.type === 'number'
                ? ` ${a.text}`
                : ` ${a.type.toUpperCase()} ${a.text}`;
        return `${c.tag} ${c.op}${arg}`;
      })
      .join(' AND ');
  }
}
