/**
 * The interfaces library packages accept for logging, metrics and time.
 * Implementations (pino, prom-client, the wall clock) live in the apps; the
 * simulator provides deterministic ones. Library code never reads Date.now(),
 * never logs to the console, and never creates global metrics.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Structured context attached to a log line. Values must be JSON-friendly. */
export type LogContext = Readonly<Record<string, unknown>>;

export interface Logger {
  trace(msg: string, ctx?: LogContext): void;
  debug(msg: string, ctx?: LogContext): void;
  info(msg: string, ctx?: LogContext): void;
  warn(msg: string, ctx?: LogContext): void;
  error(msg: string, ctx?: LogContext): void;
  /** A logger that adds `bindings` to every line (e.g. `{ module: 'consensus' }`). */
  child(bindings: LogContext): Logger;
}

export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  inc(labels?: Labels, value?: number): void;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface MetricOptions {
  /** Prometheus name with its unit, e.g. `synod_consensus_round_duration_seconds`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

export interface Metrics {
  counter(opts: MetricOptions): Counter;
  gauge(opts: MetricOptions): Gauge;
  histogram(opts: MetricOptions & { readonly buckets?: readonly number[] }): Histogram;
}

/** Time as an input: milliseconds since the Unix epoch, and timers. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

const noop = (): void => {};

/** A logger that drops everything (the default of every library package). */
export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};

const noopCounter: Counter = { inc: noop };
const noopGauge: Gauge = { set: noop, inc: noop, dec: noop };
const noopHistogram: Histogram = { observe: noop };

/** Metrics that record nothing (the default of every library package). */
export const noopMetrics: Metrics = {
  counter: () => noopCounter,
  gauge: () => noopGauge,
  histogram: () => noopHistogram,
};
