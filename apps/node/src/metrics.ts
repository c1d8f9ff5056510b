/**
 * The daemon's Metrics (@synod/types' port) over prom-client: one registry
 * per process, served in Prometheus' text format. A metric asked for twice
 * (a library created again at restart) is the same metric.
 */

import type { VerifyPool } from '@synod/crypto';
import type { Counter, Gauge, Histogram, Labels, MetricOptions, Metrics } from '@synod/types';
import client from 'prom-client';
import { registerTcpMetrics } from './net-metrics.js';

type Kind = 'counter' | 'gauge' | 'histogram';

/** prom-client's default gauges whose names end in `_total`. */
const NON_COUNTERS_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class PromMetrics implements Metrics {
  readonly registry = new client.Registry();
  readonly #made = new Map<string, { kind: Kind; metric: unknown }>();

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    // process_*, nodejs_* (event-loop lag, heap, GC): what an operator watches first.
    if (options.processMetrics !== false) {
      client.collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters: `promtool check metrics` rejects them (what they count is minor).
      for (const name of NON_COUNTERS_NAMED_TOTAL) this.registry.removeSingleMetric(name);
      // synod_net_tcp_*: how a lossy or congested link shows (Linux).
      registerTcpMetrics(this.registry);
    }
  }

  #get<T>(kind: Kind, name: string, make: () => T): T {
    const known = this.#made.get(name);
    if (known !== undefined) {
      if (known.kind !== kind)
        throw new TypeError(`metric ${name} is a ${known.kind}, asked for as a ${kind}`);
      return known.metric as T;
    }
    const metric = make();
    this.#made.set(name, { kind, metric });
    return metric;
  }

  counter(opts: MetricOptions): Counter {
    const c = this.#get(
      'counter',
      opts.name,
      () => new client.Counter({ ...base(opts), registers: [this.registry] }),
    );
    return {
      inc: (labels?: Labels, value = 1) => (labels === undefined ? c.inc(value) : c.inc(labels, value)),
    };
  }

  gauge(opts: MetricOptions): Gauge {
    const g = this.#get(
      'gauge',
      opts.name,
      () => new client.Gauge({ ...base(opts), registers: [this.registry] }),
    );
    return {
      set: (value: number, labels?: Labels) => (labels === undefined ? g.set(value) : g.set(labels, value)),
      inc: (labels?: Labels, value = 1) => (labels === undefined ? g.inc(value) : g.inc(labels, value)),
      dec: (labels?: Labels, value = 1) => (labels === undefined ? g.dec(value) : g.dec(labels, value)),
    };
  }

  histogram(opts: MetricOptions & { readonly buckets?: readonly number[] }): Histogram {
    const h = this.#get(
      'histogram',
      opts.name,
      () =>
        new client.Histogram({
          ...base(opts),
          ...(opts.buckets === undefined ? {} : { buckets: [...opts.buckets] }),
          registers: [this.registry],
        }),
    );
    return {
      observe: (value: number, labels?: Labels) =>
        labels === undefined ? h.observe(value) : h.observe(labels, value),
    };
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function base(opts: MetricOptions): { name: string; help: string; labelNames: string[] } {
  return { name: opts.name, help: opts.help, labelNames: [...(opts.labelNames ?? [])] };
}

/** The verify pool's counters (`verify_workers`), read from the pool at each scrape. */
export function registerVerifyPoolMetrics(registry: client.Registry, pool: VerifyPool): void {
  new client.Counter({
    name: 'synod_verify_pool_signatures_total',
    help: 'Transaction signatures checked through the verify pool (verify_workers): path="worker" by a worker thread, path="inline" on the event loop (the pool full, or a worker lost)',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      const s = pool.stats();
      this.reset();
      this.inc({ path: 'worker' }, s.offloaded);
      this.inc({ path: 'inline' }, s.inline);
    },
  });
  new client.Gauge({
    name: 'synod_verify_pool_workers',
    help: 'Worker threads verifying transaction signatures (verify_workers)',
    registers: [registry],
    collect() {
      this.set(pool.stats().workers);
    },
  });
}
