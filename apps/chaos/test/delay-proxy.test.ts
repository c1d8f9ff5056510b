import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { delayedPipe } from '../src/delay-proxy.js';

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A listening server on 127.0.0.1 whose connections go to `onConnection`; its port. */
async function listen(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

it('delays each chunk and keeps the stream in order, jitter or not (a timer per chunk reordered it)', async () => {
  const echoPort = await listen((s) => s.pipe(s));
  const proxyPort = await listen((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: echoPort });
    delayedPipe(client, upstream, 30, 30);
    delayedPipe(upstream, client, 30, 30);
  });
  const c = createConnection({ host: '127.0.0.1', port: proxyPort });
  c.setNoDelay(true);
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i);
    c.write(b);
    if (i % 40 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  const deadline = Date.now() + 20_000;
  while (Buffer.concat(chunks).length < 4 * n && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  c.destroy();
  const got = Buffer.concat(chunks);
  expect(got.length).toBe(4 * n);
  const outOfOrder = Array.from({ length: n }, (_, i) => got.readUInt32BE(4 * i) !== i).filter(
    Boolean,
  ).length;
  expect(outOfOrder).toBe(0);
}, 60_000);
