/**
 * The in-memory state: committed key/value pairs grouped by table (the first
 * byte of every key), and overlays that buffer the writes of a block or of a
 * single transaction until they are merged or dropped. Keys are latin1
 * strings (see keyString), so sorting them sorts the bytes.
 */

export interface StateReader {
  get(key: string): Uint8Array | undefined;
  /** The keys of one table (unsorted; callers sort when order matters). */
  keysOf(tag: number): Iterable<string>;
}

/** The committed state: every key of the last committed block. */
export class CommittedState implements StateReader {
  private readonly tables = new Map<number, Map<string, Uint8Array>>();

  get(key: string): Uint8Array | undefined {
    return this.tables.get(key.charCodeAt(0))?.get(key);
  }

  keysOf(tag: number): Iterable<string> {
    return this.tables.get(tag)?.keys() ?? [];
  }

  set(key: string, value: Uint8Array): void {
    const tag = key.charCodeAt(0);
    let t = this.tables.get(tag);
    if (t === undefined) {
      t = new Map();
      this.tables.set(tag, t);
    }
    t.set(key, value);
  }

  delete(key: string): void {
    this.tables.get(key.charCodeAt(0))?.delete(key);
  }

  get size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }
}

/** A write buffer over a parent reader: `null` marks a deletion. */
export class Overlay implements StateReader {
  private readonly writes = new Map<number, Map<string, Uint8Array | null>>();

  constructor(private readonly parent: StateReader) {}

  get(key: string): Uint8Array | undefined {
    const w = this.writes.get(key.charCodeAt(0))?.get(key);
    if (w !== undefined) return w ?? undefined;
    return this.parent.get(key);
  }

  keysOf(tag: number): Iterable<string> {
    const own = this.writes.get(tag);
    if (own === undefined) return this.parent.keysOf(tag);
    const out = new Set<string>();
    for (const k of this.parent.keysOf(tag)) if (own.get(k) !== null) out.add(k);
    for (const [k, v] of own) if (v !== null) out.add(k);
    return out;
  }

  set(key: string, value: Uint8Array): void {
    this.table(key.charCodeAt(0)).set(key, value);
  }

  delete(key: string): void {
    this.table(key.charCodeAt(0)).set(key, null);
  }

  private table(tag: number): Map<string, Uint8Array | null> {
    let t = this.writes.get(tag);
    if (t === undefined) {
      t = new Map();
      this.writes.set(tag, t);
    }
    return t;
  }

  /** True when this overlay holds a write to table `tag`. */
  touches(tag: number): boolean {
    return (this.writes.get(tag)?.size ?? 0) > 0;
  }

  /** Moves every buffered write into `target` (normally the parent overlay). */
  mergeInto(target: Overlay): void {
    for (const t of this.writes.values()) {
      for (const [k, v] of t) {
        if (v === null) target.delete(k);
        else target.set(k, v);
      }
    }
    this.writes.clear();
  }

  /** The buffered writes, sorted by key. */
  changes(): [string, Uint8Array | null][] {
    const out: [string, Uint8Array | null][] = [];
    for (const t of this.writes.values()) for (const e of t) out.push(e);
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }
}
