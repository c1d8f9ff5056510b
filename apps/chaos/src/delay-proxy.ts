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

/** Copies `from` to `to`, each chunk delayed; ends/destroys `to` when `from` does. */
function delayedPipe(from: Socket, to: Socket, delayMs: number, jitterMs: number): void {
  let lastAt = 0;
  let pending = 0;
  from.on('data', (chunk: Buffer) => {
    const jitter = jitterMs === 0 ? 0 : (Math.random() * 2 - 1) * jitterMs;
    const at = Math.max(Date.now() + Math.max(0, delayMs + jitter), lastAt);
    lastAt = at;
    pending++;
    // Backpressure: far behind, stop reading until the writes catch up.
    if (pending > 256) from.pause();
    setTimeout(() => {
      pending--;
      if (!to.destroyed) to.write(chunk);
      if (pending <= 64 && from.isPaused()) from.resume();
    }, at - Date.now());
  });
  from.on('end', () => {
    setTimeout(() => to.end(), Math.max(0, lastAt - Date.now()));
  });
  from.on('error', () => to.destroy());
  from.on('close', () => {
    setTimeout(() => to.destroy(), Math.max(0, lastAt - Date.now()) + 10);
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

main(process.argv.slice(2));
