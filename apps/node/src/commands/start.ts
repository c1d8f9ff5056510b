/**
 * `synodd start`: runs the node until SIGINT or SIGTERM, then stops it in
 * reverse start order and exits 0 (exit 1 when the stop takes longer than
 * STOP_DEADLINE_MS, or on a second signal).
 */
import type { ConfigOverride } from '../config/schema.js';
import { type Daemon, startDaemon } from '../daemon.js';
import { errorLine } from '../errors.js';
import { resolveHome } from '../home.js';
import { loadConfig } from '../home-files.js';

export const STOP_DEADLINE_MS = 10_000;

export async function runStart(o: { home?: string; overrides: readonly ConfigOverride[] }): Promise<void> {
  const home = resolveHome(o.home);
  const config = await loadConfig(home, o.overrides);
  let daemon: Daemon | undefined;
  let signalled: NodeJS.Signals | undefined;
  const stopAndExit = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      process.stderr.write(`synodd: ${signal} again: exiting without a clean stop\n`);
      process.exit(1);
    }
    signalled = signal;
    if (daemon === undefined) return; // still starting: stopped as soon as the start returns
    const deadline = setTimeout(() => {
      process.stderr.write(`synodd: INTERNAL: the node did not stop within ${STOP_DEADLINE_MS} ms\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
    daemon.logger.child({ module: 'daemon' }).info('signal received: stopping', { signal });
    daemon.stop().then(
      () => {
        clearTimeout(deadline);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`${errorLine(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stopAndExit);
  process.on('SIGTERM', stopAndExit);
  daemon = await startDaemon({ home, config });
  if (signalled !== undefined) {
    const s = signalled;
    signalled = undefined;
    stopAndExit(s);
  }
}
