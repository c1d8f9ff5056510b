/**
 * The run's fingerprint and its readable log. Everything that happens is
 * mixed into a 64-bit hash (two 32-bit lanes, murmur-style mixing) as
 * numbers and bytes, never as formatted text, so the hash is the same
 * whether or not the readable lines are kept. Two runs of one seed must end
 * with the same hash: that is the determinism test.
 */
export class Trace {
  #a = 0x243f6a88;
  #b = 0x85a308d3;
  readonly lines: string[] | undefined;
  readonly #onLine: ((line: string) => void) | undefined;
  entries = 0;

  constructor(options: { keepLines?: boolean; onLine?: (line: string) => void } = {}) {
    this.lines = options.keepLines === true ? [] : undefined;
    this.#onLine = options.onLine;
  }

  /** True when readable lines are wanted (build them only then). */
  get verbose(): boolean {
    return this.lines !== undefined || this.#onLine !== undefined;
  }

  mix(n: number): void {
    const lo = n >>> 0;
    const hi = Math.floor(n / 4294967296) >>> 0;
    this.#a = Math.imul(this.#a ^ lo, 0xcc9e2d51);
    this.#a = ((this.#a << 15) | (this.#a >>> 17)) ^ hi;
    this.#b = Math.imul(this.#b ^ this.#a, 0x1b873593);
    this.#b = ((this.#b << 13) | (this.#b >>> 19)) + 0xe6546b64;
    this.entries++;
  }

  /** Mixes a record of numbers. */
  record(...fields: number[]): void {
    for (const f of fields) this.mix(f);
  }

  bytes(data: Uint8Array): void {
    let a = this.#a ^ data.length;
    let b = this.#b;
    const n = data.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const k =
        ((data[i] as number) |
          ((data[i + 1] as number) << 8) |
          ((data[i + 2] as number) << 16) |
          ((data[i + 3] as number) << 24)) >>>
        0;
      a = Math.imul(a ^ k, 0xcc9e2d51);
      a = (a << 15) | (a >>> 17);
      b = (Math.imul(b ^ a, 0x1b873593) + 0xe6546b64) | 0;
    }
    for (; i < n; i++) {
      a = Math.imul(a ^ (data[i] as number), 0xcc9e2d51);
      b = (b ^ a) | 0;
    }
    this.#a = a;
    this.#b = b;
    this.entries++;
  }

  /** A readable line (also mixed into the hash through its caller's numbers, not its text). */
  line(text: string): void {
    this.lines?.push(text);
    this.#onLine?.(text);
  }

  /** The hash so far, as 16 hex digits. */
  hash(): string {
    let a = this.#a ^ (this.entries >>> 0);
    let b = this.#b ^ a;
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
    b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
    a ^= b >>> 16;
    b ^= a >>> 15;
    return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
  }
}
