/**
 * `synodd start`: runs the node until SIGINT or SIGTERM, then stops it in
 * reverse start order and exits 0 (exit 1 when the stop takes longer than
 * STOP_DEADLINE_MS, or on a second signal). A signal during the start
 * (handshake replay, block sync, …) ends the start at its next step or
 * block, undone in the same order: exit 0 too.
 */
import type { UnsafeTestOptions } from '../byzantine/index.js';
import type { ConfigOverride } from '../config/schema.js';
import { type Daemon, StartStopped, startDaemon } from '../daemon.js';
import { errorLine } from '../errors.js';
import { resolveHome } from '../home.js';
import { loadConfig } from '../home-files.js';

export const STOP_DEADLINE_MS = 10_000;

export async function runStart(o: {
  home?: string;
  overrides: readonly ConfigOverride[];
  unsafe?: UnsafeTestOptions;
}): Promise<void> {
  const home = resolveHome(o.home);
  const config = await loadConfig(home, o.overrides);
  let daemon: Daemon | undefined;
  let signalled: NodeJS.Signals | 'halt_height' | undefined;
  // Aborted by a signal during the start: the start ends at its next step or block (StartStopped).
  const starting = new AbortController();
  let deadlineArmed = false;
  /** The stop's deadline, from the first signal (during the start or after it). */
  const armDeadline = (): void => {
    if (deadlineArmed) return;
    deadlineArmed = true;
    setTimeout(() => {
      process.stderr.write(`synodd: INTERNAL: the node did not stop within ${STOP_DEADLINE_MS} ms\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
  };
  const stopAndExit = (signal: NodeJS.Signals | 'halt_height'): void => {
    if (signalled !== undefined) {
      process.stderr.write(`synodd: ${signal} again: exiting without a clean stop\n`);
      process.exit(1);
    }
    signalled = signal;
    armDeadline();
    if (daemon === undefined) {
      starting.abort(signal);
      return;
    }
    if (signal !== 'halt_height')
      daemon.logger.child({ module: 'daemon' }).info('signal received: stopping', { signal });
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${errorLine(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stopAndExit);
  process.on('SIGTERM', stopAndExit);
  // A rejection nobody handled (a library's stray promise) is logged; the node goes on.
  process.on('unhandledRejection', (reason) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (daemon === undefined) process.stderr.write(`synodd: unhandled rejection: ${message}\n`);
    else
      daemon.logger
        .child({ module: 'daemon' })
        .error('unhandled rejection', { event: 'unhandled_rejection', error: message });
  });
  // An exception nobody caught leaves the process in an unknown state: stop cleanly, exit 1.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${errorLine(err)}\n`);
    if (daemon === undefined) process.exit(1);
    daemon.logger
      .child({ module: 'daemon' })
      .error('uncaught exception: stopping', { event: 'crash', error: err.message });
    const deadline = setTimeout(() => process.exit(1), STOP_DEADLINE_MS);
    void daemon.stop().finally(() => {
      clearTimeout(deadline);
      process.exit(1);
    });
  });
  try {
    daemon = await startDaemon({
      home,
      config,
      signal: starting.signal,
      ...(o.unsafe === undefined ? {} : { unsafe: o.unsafe }),
    });
  } catch (err) {
    // Stopped by a signal during the start: everything undone, `synodd stopped` logged.
    if (err instanceof StartStopped) process.exit(0);
    throw err;
  }
  // [consensus] halt_height committed: a clean stop, exit 0 (coordinated upgrades).
  void daemon.haltHeightReached.then(() => stopAndExit('halt_height'));
  // A signal the start no longer saw (it had finished): the usual stop.
  if (signalled !== undefined) {
    const s = signalled;
    signalled = undefined;
    stopAndExit(s);
  }
}
