/**
 * The simulation's single source of time: a priority queue of events ordered
 * by (time, sequence). Ties break by insertion order, so a run is fully
 * determined by the seed.
 */
export interface SimEvent {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  /** Run only after every earlier event's asynchronous work has finished (crashes, restarts, phase changes). */
  readonly barrier: boolean;
  cancelled: boolean;
}

export class EventQueue {
  #heap: SimEvent[] = [];
  #seq = 0;
  #now = 0;

  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `run` at `now + delay`; returns the event (set `cancelled` to drop it). */
  schedule(delay: number, run: () => void, barrier = false): SimEvent {
    const ev: SimEvent = {
      at: this.#now + Math.max(0, delay),
      seq: this.#seq++,
      run,
      barrier,
      cancelled: false,
    };
    this.#push(ev);
    return ev;
  }

  /** Runs the next event; returns false when the queue is empty. */
  step(): boolean {
    for (;;) {
      const ev = this.#pop();
      if (ev === undefined) return false;
      if (ev.cancelled) continue;
      this.#now = ev.at;
      ev.run();
      return true;
    }
  }

  /** Time of the next live event, or undefined. */
  peekTime(): number | undefined {
    return this.peek()?.at;
  }

  /** The next live event, or undefined. */
  peek(): SimEvent | undefined {
    while (this.#heap.length > 0 && (this.#heap[0] as SimEvent).cancelled) this.#pop();
    return this.#heap[0];
  }

  #less(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(ev: SimEvent): void {
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i] as SimEvent, h[p] as SimEvent)) break;
      [h[i], h[p]] = [h[p] as SimEvent, h[i] as SimEvent];
      i = p;
    }
  }

  #pop(): SimEvent | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0] as SimEvent;
    const last = h.pop() as SimEvent;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l] as SimEvent, h[m] as SimEvent)) m = l;
        if (r < h.length && this.#less(h[r] as SimEvent, h[m] as SimEvent)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as SimEvent, h[i] as SimEvent];
        i = m;
      }
    }
    return top;
  }
}
