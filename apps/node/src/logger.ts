/**
 * The daemon's Logger (@synod/types' port) over pino: JSON lines by default,
 * pretty lines on a terminal (`log_format`), a level per module
 * (`log_level = "consensus:debug,p2p:warn,*:info"`).
 *
 * A library's `logger.child({ module })` picks that module's level (a module
 * not listed inherits its parent's); nested modules keep one `module` field
 * (the innermost) instead of pino's repeated keys.
 */
import type { LogContext, Logger } from '@synod/types';
import pino from 'pino';
import pretty from 'pino-pretty';
import type { LogLevelName, LogLevelSpec } from './config/values.js';

export type LogFormat = 'auto' | 'json' | 'plain';

function pinoLevel(level: LogLevelName): pino.LevelWithSilent {
  return level === 'none' ? 'silent' : level;
}

class PinoLogger implements Logger {
  readonly #root: pino.Logger;
  readonly #log: pino.Logger;
  readonly #bindings: Record<string, unknown>;
  readonly #spec: LogLevelSpec;

  constructor(root: pino.Logger, bindings: Record<string, unknown>, level: LogLevelName, spec: LogLevelSpec) {
    this.#root = root;
    this.#bindings = bindings;
    this.#spec = spec;
    this.#log = Object.keys(bindings).length === 0 ? root : root.child(bindings, { level: pinoLevel(level) });
    if (Object.keys(bindings).length === 0) root.level = pinoLevel(level);
    this.level = level;
  }

  readonly level: LogLevelName;

  trace(msg: string, ctx?: LogContext): void {
    this.#log.trace(ctx ?? {}, msg);
  }
  debug(msg: string, ctx?: LogContext): void {
    this.#log.debug(ctx ?? {}, msg);
  }
  info(msg: string, ctx?: LogContext): void {
    this.#log.info(ctx ?? {}, msg);
  }
  warn(msg: string, ctx?: LogContext): void {
    this.#log.warn(ctx ?? {}, msg);
  }
  error(msg: string, ctx?: LogContext): void {
    this.#log.error(ctx ?? {}, msg);
  }

  child(bindings: LogContext): Logger {
    const module = typeof bindings.module === 'string' ? bindings.module : undefined;
    const level = module === undefined ? this.level : (this.#spec.modules[module] ?? this.level);
    return new PinoLogger(this.#root, { ...this.#bindings, ...bindings }, level, this.#spec);
  }
}

export interface DaemonLogger {
  readonly logger: Logger;
  /** Writes out anything buffered (before the process exits). */
  flush(): void;
}

/** A logger writing to stdout (`destination` for tests). */
export function createLogger(
  spec: LogLevelSpec,
  format: LogFormat,
  destination: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): DaemonLogger {
  const tty = destination.isTTY === true;
  const prettyLines = format === 'plain' || (format === 'auto' && tty);
  const options: pino.LoggerOptions = {
    level: 'trace',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const stream = prettyLines
    ? pretty({
        colorize: format === 'auto' && tty,
        sync: true,
        destination,
        ignore: 'module',
        messageFormat: '{if module}{module}: {end}{msg}',
      })
    : destination === process.stdout
      ? pino.destination({ dest: 1, sync: true })
      : destination;
  const root = pino(options, stream);
  return { logger: new PinoLogger(root, {}, spec.default, spec), flush: () => root.flush() };
}
