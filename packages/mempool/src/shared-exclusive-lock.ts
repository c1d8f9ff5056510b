/**
 * A FIFO shared/exclusive lock for async sections. `add` holds it shared
 * (several checkTx calls may be in flight; each one's insertion after the
 * await is synchronous, hence atomic), `update` and `flush` hold it
 * exclusively (they wait for in-flight adds and block new ones). Waiters are
 * granted in arrival order, so a stream of adds cannot starve an update.
 */
export type Release = () => void;

interface Waiter {
  readonly exclusive: boolean;
  readonly grant: () => void;
}

export class SharedExclusiveLock {
  /** Holders: > 0 shared holders, −1 one exclusive holder, 0 free. */
  #holders = 0;
  /** FIFO of waiters; `#head` is the first live one (amortised O(1) dequeue). */
  #waiting: Waiter[] = [];
  #head = 0;

  /** Takes the lock shared without waiting when that is possible now, else undefined. */
  tryShared(): Release | undefined {
    if (this.#head !== this.#waiting.length || this.#holders < 0) return undefined;
    this.#holders += 1;
    return this.#releaser(false);
  }

  shared(): Promise<Release> {
    return this.#acquire(false);
  }

  exclusive(): Promise<Release> {
    return this.#acquire(true);
  }

  #acquire(exclusive: boolean): Promise<Release> {
    const free = exclusive ? this.#holders === 0 : this.#holders >= 0;
    if (this.#head === this.#waiting.length && free) {
      this.#holders = exclusive ? -1 : this.#holders + 1;
      return Promise.resolve(this.#releaser(exclusive));
    }
    return new Promise<Release>((resolve) => {
      this.#waiting.push({ exclusive, grant: () => resolve(this.#releaser(exclusive)) });
    });
  }

  #releaser(exclusive: boolean): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders = exclusive ? 0 : this.#holders - 1;
      this.#drain();
    };
  }

  #drain(): void {
    for (;;) {
      const next = this.#waiting[this.#head];
      if (next === undefined) return;
      if (next.exclusive ? this.#holders !== 0 : this.#holders < 0) return;
      this.#holders = next.exclusive ? -1 : this.#holders + 1;
      this.#dequeue();
      next.grant();
      if (next.exclusive) return;
    }
  }

  #dequeue(): void {
    this.#head += 1;
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }
}
