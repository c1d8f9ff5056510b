/**
 * A WebSocket client that does not keep up: with
 * `experimental_websocket_write_buffer_size = 1`, an event sent while the
 * previous one is still being written is dropped (counted), or, with
 * `experimental_close_on_slow_client`, the connection is closed — memory
 * held for a client never grows past the bound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ACCOUNTS, eventually, startChain, type TestChain, transfer } from './harness.js';

/** Sends transfers from two accounts at once, a few rounds, so that blocks carry two or more. */
async function burst(chain: TestChain, rounds: number, stop: () => boolean): Promise<void> {
  for (let n = 0; n < rounds && !stop(); n++) {
    await Promise.all([0, 1, 2].map((a) => chain.node.broadcastTx(transfer(ACCOUNTS[a]!, n, ACCOUNTS[3]!))));
    await chain.waitForHeight(chain.node.status().height + 1);
  }
}

async function subscribed(
  chain: TestChain,
): Promise<{ ws: WebSocket; events: () => number; closed: Promise<number> }> {
  const ws = new WebSocket(`${chain.wsUrl}/websocket`);
  let events = 0;
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { result?: { query?: string } };
    if (m.result?.query !== undefined) events++;
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { query: "tm.event='Tx'" } }));
  await eventually(() => chain.rpc.stats().subscriptions === 1);
  return { ws, events: () => events, closed };
}

describe('a WebSocket client that does not keep up', () => {
  let chain: TestChain | undefined;

  afterEach(async () => {
    await chain?.stop();
    chain = undefined;
  });

  it('loses events beyond the write buffer, counted; the connection stays', async () => {
    chain = await startChain({ init: { rpc: { experimental_websocket_write_buffer_size: 1 } } });
    await chain.waitForHeight(1);
    const c = await subscribed(chain);
    const current = chain;
    await burst(current, 5, () => current.rpc.stats().eventsDropped > 0);
    expect(current.rpc.stats().eventsDropped).toBeGreaterThan(0);
    await chain.rpc.idle();
    await eventually(() => c.events() + current.rpc.stats().eventsDropped >= 3);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });

  it('is closed with experimental_close_on_slow_client', async () => {
    chain = await startChain({
      init: { rpc: { experimental_websocket_write_buffer_size: 1, experimental_close_on_slow_client: true } },
    });
    await chain.waitForHeight(1);
    const c = await subscribed(chain);
    let closedWith: number | undefined;
    void c.closed.then((code) => {
      closedWith = code;
    });
    await burst(chain, 5, () => closedWith !== undefined);
    expect(await c.closed).toBe(1008);
    const current = chain;
    await eventually(() => current.rpc.stats().subscriptions === 0);
    expect(current.rpc.stats().eventsDropped).toBe(0);
  });
});
