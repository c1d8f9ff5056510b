/**
 * A delaying TCP proxy (the kernel here has no netem): `node
 * delay-proxy.js SOURCE DELAY_MS JITTER_MS PORT=HOST:PORT…` listens on each
 * PORT (all addresses of its namespace) and forwards every connection to
 * HOST:PORT from the local address SOURCE, holding each chunk of data, in
 * both directions, DELAY_MS ± JITTER_MS before passing it on (in order: a
 * chunk never overtakes the one before). Run by netns.ts inside a node's
 * namespace; it runs until killed.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Copies `from` to `to`, each chunk delayed; ends/destroys `to` when `from`
 * does. The chunks wait in one queue per direction, written by one timer in
 * order: a timer per chunk reordered the stream (two timers of different
 * lengths due at the same millisecond may fire in either order), which broke
 * the connections' encryption and made every proxied connection fail within
 * seconds.
 */
export function delayedPipe(from: Socket, to: Socket, delayMs: number, jitterMs: number): void {
  let lastAt = 0;
  const queue: { at: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const pump = (): void => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && (queue[0] as { at: number }).at <= now) {
      const next = queue.shift() as { chunk: Buffer };
      if (!to.destroyed) to.write(next.chunk);
    }
    // Backpressure: far behind, stop reading until the writes catch up.
    if (queue.length <= 64 && from.isPaused()) from.resume();
    if (queue.length > 0) timer = setTimeout(pump, (queue[0] as { at: number }).at - now);
    else if (ended) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    const jitter = jitterMs === 0 ? 0 : (Math.random() * 2 - 1) * jitterMs;
    const now = Date.now();
    const at = Math.max(now + Math.max(0, delayMs + jitter), lastAt);
    lastAt = at;
    queue.push({ at, chunk });
    if (queue.length > 256) from.pause();
    if (timer === undefined) timer = setTimeout(pump, at - now);
  });
  from.on('end', () => {
    ended = true;
    if (timer === undefined && queue.length === 0) to.end();
  });
  from.on('error', () => to.destroy());
  from.on('close', () => {
    setTimeout(() => to.destroy(), Math.max(0, lastAt - Date.now()) + 50);
  });
}

function main(argv: readonly string[]): void {
  const [source, delayText, jitterText, ...routes] = argv;
  const delayMs = Number(delayText);
  const jitterMs = Number(jitterText);
  if (source === undefined || !(delayMs >= 0) || !(jitterMs >= 0) || routes.length === 0) {
    process.stderr.write('usage: delay-proxy SOURCE DELAY_MS JITTER_MS PORT=HOST:PORT…\n');
    process.exit(2);
  }
  for (const route of routes) {
    const m = /^(\d+)=(.+):(\d+)$/.exec(route);
    if (m === null) throw new Error(`bad route ${route}`);
    const [, listenPort, host, port] = m as unknown as [string, string, string, string];
    const server = createServer((client) => {
      client.setNoDelay(true);
      const upstream = createConnection({ host, port: Number(port), localAddress: source });
      upstream.setNoDelay(true);
      delayedPipe(client, upstream, delayMs, jitterMs);
      delayedPipe(upstream, client, delayMs, jitterMs);
    });
    server.on('error', (err) => {
      process.stderr.write(`delay-proxy: ${listenPort}: ${err.message}\n`);
      process.exit(1);
    });
    server.listen(Number(listenPort));
  }
}

// Run as a program (not when a test imports it).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1])
  main(process.argv.slice(2));
