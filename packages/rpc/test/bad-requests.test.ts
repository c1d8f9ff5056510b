/**
 * Bad requests get the right JSON-RPC error (CometBFT's codes, a readable
 * `data`) or a clean close, and the server keeps serving everyone else.
 */
import { connect, createServer, type Socket } from 'node:net';
import { toHex } from '@synod/crypto';
import { type SynodError, txHash } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RPC_ERROR_CODES } from '../src/index.js';
import { ACCOUNTS, call, eventually, post, startChain, type TestChain, transfer } from './harness.js';

type RpcResponse = {
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: string };
};

/** A WebSocket client that collects every message. */
async function wsClient(url: string): Promise<{
  ws: WebSocket;
  request(body: unknown): Promise<RpcResponse>;
  raw(text: string): Promise<RpcResponse>;
  messages: RpcResponse[];
  closed: Promise<{ code: number; reason: string }>;
}> {
  const ws = new WebSocket(`${url}/websocket`);
  const messages: RpcResponse[] = [];
  const waiting: ((m: RpcResponse) => void)[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as RpcResponse;
    messages.push(m);
    // An event of a subscription (result { query, data, events }) can arrive between a request and its
    // reply: it is not the reply.
    const r = m.result as Record<string, unknown> | undefined;
    if (r !== undefined && r !== null && 'query' in r && 'data' in r) return;
    waiting.shift()?.(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const raw = (text: string): Promise<RpcResponse> =>
    new Promise((resolve) => {
      waiting.push(resolve);
      ws.send(text);
    });
  return { ws, messages, closed, raw, request: (body) => raw(JSON.stringify(body)) };
}

describe('bad requests', () => {
  let chain: TestChain;

  beforeAll(async () => {
    chain = await startChain({
      init: {
        rpc: {
          max_body_bytes: 4096,
          max_header_bytes: 2048,
          max_request_batch_size: 3,
          max_subscription_clients: 2,
          max_subscriptions_per_client: 2,
          max_open_connections: 20,
          timeout_broadcast_tx_commit: '300ms',
          cors_allowed_origins: ['https://*.example.com'],
        },
      },
    });
    await chain.waitForHeight(2);
  });

  afterAll(async () => {
    await chain?.stop();
  });

  /** The server still answers a good request. */
  const stillServing = async (): Promise<void> => {
    const r = await call(chain.url, 'status');
    expect(r.error).toBeUndefined();
    const sync = r.result?.sync_info as { latest_block_height: string } | undefined;
    expect(sync?.latest_block_height).toMatch(/^\d+$/);
  };

  it('malformed JSON: -32700 Parse error', async () => {
    const r = await post(chain.url, '{"jsonrpc":"2.0","id":1,"method":');
    expect(r.status).toBe(400);
    expect((r.json as RpcResponse).error?.code).toBe(RPC_ERROR_CODES.parse);
    expect((r.json as RpcResponse).error?.message).toBe('Parse error. Invalid JSON');
    expect((r.json as RpcResponse).error?.data).toMatch(/error unmarshaling request/);
    await stillServing();
  });

  it('not a request: -32600 Invalid Request', async () => {
    for (const body of ['42', '"status"', '{"id":1}', '{"id":{"a":1},"method":"status"}', '[]']) {
      const r = await post(chain.url, body);
      const e = (Array.isArray(r.json) ? r.json[0] : r.json) as RpcResponse;
      expect(e.error?.code, body).toBe(RPC_ERROR_CODES.invalidRequest);
      expect(e.error?.data, body).toBeTruthy();
    }
    await stillServing();
  });

  it('unknown method: -32601 Method not found', async () => {
    const r = await call(chain.url, 'no_such_method');
    expect(r.id).toBe(1);
    expect(r.error?.code).toBe(RPC_ERROR_CODES.methodNotFound);
    expect(r.error?.data).toBe("method 'no_such_method' does not exist");
    // subscribe is WebSocket-only (as CometBFT's).
    const sub = await call(chain.url, 'subscribe', { query: "tm.event='NewBlock'" });
    expect(sub.error).toMatchObject({
      code: RPC_ERROR_CODES.methodNotFound,
      data: "method 'subscribe' works over WebSocket only",
    });
    // Unsafe methods exist only with [rpc] unsafe = true, and the answer says so (both forms).
    expect((await call(chain.url, 'unsafe_flush_mempool')).error).toMatchObject({
      code: RPC_ERROR_CODES.methodNotFound,
      data: "method 'unsafe_flush_mempool' needs [rpc] unsafe = true",
    });
    const uri = await fetch(`${chain.url}/dial_peers?peers=["a"]`);
    expect(uri.status).toBe(404);
    expect(((await uri.json()) as RpcResponse).error?.data).toBe(
      "method 'dial_peers' needs [rpc] unsafe = true",
    );
    await stillServing();
  });

  it('wrong param types: -32602 Invalid params naming the parameter', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['block', { height: 'abc' }, /height: expected an integer/],
      ['block', { height: true }, /height: expected an integer/],
      ['block', { height: 1.5 }, /height: expected an integer/],
      ['tx_search', { query: 5 }, /query: expected a string/],
      ['tx', { hash: 'zz' }, /hash: expected base64/],
      ['abci_query', { path: 'account', data: 'xyz' }, /data: expected hex/],
      ['tx', { hash: 'AA==', prove: 'yes' }, /prove: expected true or false/],
      ['block', [1, 2], /expected at most 1 parameters/],
      ['block', 'height=1', /expected an object or an array/],
    ];
    for (const [method, params, data] of cases) {
      const r = await call(chain.url, method, params);
      expect(r.error?.code, `${method} ${JSON.stringify(params)}`).toBe(RPC_ERROR_CODES.invalidParams);
      expect(r.error?.message).toBe('Invalid params');
      expect(r.error?.data).toMatch(data);
    }
    await stillServing();
  });

  it("a height above the tip: -32603 with CometBFT's reason", async () => {
    for (const method of ['block', 'commit', 'header', 'block_results']) {
      const r = await call(chain.url, method, { height: '999999' });
      expect(r.error?.code).toBe(RPC_ERROR_CODES.internal);
      expect(r.error?.data).toMatch(
        /^height 999999 must be less than or equal to the current blockchain height \d+$/,
      );
    }
    const zero = await call(chain.url, 'block', { height: '0' });
    expect(zero.error?.data).toBe('height must be greater than 0, but got 0');
    const v = await call(chain.url, 'validators', { height: '999999' });
    expect(v.error?.data).toMatch(/must be less than or equal/);
    const page = await call(chain.url, 'validators', { page: '7' });
    expect(page.error?.data).toBe('page should be within [1, 1] range, given 7');
    await stillServing();
  });

  it('an oversize body: HTTP 413 with -32600, the connection closed, others served', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'status',
      params: { pad: 'x'.repeat(10_000) },
    });
    const r = await post(chain.url, big);
    expect(r.status).toBe(413);
    expect((r.json as RpcResponse).error?.code).toBe(RPC_ERROR_CODES.invalidRequest);
    expect((r.json as RpcResponse).error?.data).toMatch(/request body too large/);
    // Without a content-length (chunked): cut off after max_body_bytes.
    const chunked = await fetch(chain.url, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    await stillServing();
  });

  it('a non-base64 or empty tx', async () => {
    for (const method of ['broadcast_tx_sync', 'broadcast_tx_async', 'broadcast_tx_commit', 'check_tx']) {
      const r = await call(chain.url, method, { tx: 'not base64!' });
      expect(r.error?.code, method).toBe(RPC_ERROR_CODES.invalidParams);
      expect(r.error?.data).toMatch(/tx: expected base64 bytes/);
      const empty = await call(chain.url, method, { tx: '' });
      expect(empty.error?.data, method).toBe('tx is empty');
    }
    // Base64 of bytes that are no transaction: a result code, not an error.
    const junk = await call(chain.url, 'broadcast_tx_sync', { tx: Buffer.from('junk').toString('base64') });
    expect(junk.result?.code).not.toBe(0);
    expect(junk.result?.codespace).toBe('TX_MALFORMED');
    await stillServing();
  });

  it('batches: bounded, each entry answered on its own', async () => {
    const ok = await post(
      chain.url,
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'health' },
        { jsonrpc: '2.0', id: 2, method: 'nope' },
        { jsonrpc: '2.0', method: 'health' },
      ]),
    );
    expect(ok.status).toBe(200);
    const list = ok.json as RpcResponse[];
    expect(list.map((x) => x.id)).toEqual([1, 2]);
    expect(list[0]?.result).toEqual({});
    expect(list[1]?.error?.code).toBe(RPC_ERROR_CODES.methodNotFound);
    const tooMany = await post(
      chain.url,
      JSON.stringify([1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', id, method: 'health' }))),
    );
    expect((tooMany.json as RpcResponse).error?.data).toBe(
      'batch request exceeds maximum (3) allowed number of requests',
    );
    await stillServing();
  });

  it('the URI form: parameters converted, errors answered with id -1', async () => {
    const ok = await fetch(`${chain.url}/block?height=1`);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as RpcResponse;
    expect(body.id).toBe(-1);
    const block = body.result?.block as { header: { height: string } } | undefined;
    expect(block?.header.height).toBe('1');
    const bad = await fetch(`${chain.url}/block?height=abc`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as RpcResponse).error?.code).toBe(RPC_ERROR_CODES.invalidParams);
    const search = await fetch(`${chain.url}/tx_search?query=${encodeURIComponent('"tx.height>0"')}`);
    expect(((await search.json()) as RpcResponse).result?.total_count).toMatch(/^\d+$/);
    const missing = await fetch(`${chain.url}/tx?hash=0x${'00'.repeat(32)}`);
    expect(missing.status).toBe(500);
    expect(((await missing.json()) as RpcResponse).error?.data).toBe(`tx (${'00'.repeat(32)}) not found`);
    expect((await fetch(`${chain.url}/nope`)).status).toBe(404);
    await stillServing();
  });

  it('a bad query: a readable error', async () => {
    const r = await call(chain.url, 'tx_search', { query: "tx.height >= 'x'" });
    expect(r.error?.code).toBe(RPC_ERROR_CODES.internal);
    expect(r.error?.data).toMatch(/^failed to parse query: offset \d+/);
    const long = await call(chain.url, 'tx_search', { query: `a.b='${'x'.repeat(600)}'` });
    expect(long.error?.data).toBe('maximum query length exceeded');
    await stillServing();
  });

  it('a header block too large: HTTP 431, others served', async () => {
    const res = await fetch(`${chain.url}/health`, { headers: { 'x-pad': 'y'.repeat(4000) } });
    expect(res.status).toBe(431);
    await stillServing();
  });

  it('CORS: an allowed origin gets the headers, another does not', async () => {
    const yes = await fetch(`${chain.url}/health`, { headers: { origin: 'https://app.example.com' } });
    expect(yes.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const no = await fetch(`${chain.url}/health`, { headers: { origin: 'https://evil.test' } });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('broadcast_tx_commit: a transaction never included times out', async () => {
    // A nonce ahead of the account's: checkTx keeps it pending until the gap closes (it never does here).
    const tx = transfer(ACCOUNTS[2]!, 5, ACCOUNTS[3]!);
    const r = await call(chain.url, 'broadcast_tx_commit', { tx: Buffer.from(tx).toString('base64') });
    expect(r.error?.code).toBe(RPC_ERROR_CODES.internal);
    expect(r.error?.data).toBe('timed out waiting for tx to be included in a block');
    expect(chain.rpc.stats().subscriptions).toBe(0);
    await stillServing();
  });

  it('broadcast_tx_commit: the client goes away, the wait ends', async () => {
    const tx = transfer(ACCOUNTS[2]!, 6, ACCOUNTS[3]!);
    const abort = new AbortController();
    const pending = fetch(chain.url, {
      method: 'POST',
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'broadcast_tx_commit',
        params: { tx: Buffer.from(tx).toString('base64') },
      }),
      signal: abort.signal,
    }).catch(() => 'aborted');
    await eventually(() => chain.rpc.stats().subscriptions === 1);
    abort.abort();
    expect(await pending).toBe('aborted');
    await eventually(() => chain.rpc.stats().subscriptions === 0);
    // The transaction went in the mempool all the same: its hash is what a client would look for later.
    expect(toHex(txHash(tx))).toHaveLength(64);
    await stillServing();
  });

  describe('WebSocket', () => {
    it('malformed messages get errors and the connection stays open', async () => {
      const c = await wsClient(chain.wsUrl);
      const parse = await c.raw('{not json');
      expect(parse.error?.code).toBe(RPC_ERROR_CODES.parse);
      const unknown = await c.request({ jsonrpc: '2.0', id: 'a', method: 'nope' });
      expect(unknown.id).toBe('a');
      expect(unknown.error?.code).toBe(RPC_ERROR_CODES.methodNotFound);
      const badQuery = await c.request({
        jsonrpc: '2.0',
        id: 2,
        method: 'subscribe',
        params: { query: 'tm.event=' },
      });
      expect(badQuery.error?.data).toMatch(/failed to parse query/);
      const status = await c.request({ jsonrpc: '2.0', id: 3, method: 'status' });
      expect(status.result?.node_info).toBeDefined();
      c.ws.close();
      await c.closed;
    });

    it('too many subscriptions: per client, then clients', async () => {
      const a = await wsClient(chain.wsUrl);
      const sub = (c: typeof a, id: number, query: string) =>
        c.request({ jsonrpc: '2.0', id, method: 'subscribe', params: { query } });
      expect((await sub(a, 1, "tm.event='NewBlock'")).result).toEqual({});
      expect((await sub(a, 2, "tm.event='NewBlock'")).error?.data).toBe('already subscribed');
      expect((await sub(a, 3, "tm.event='Tx'")).result).toEqual({});
      const third = await sub(a, 4, "tm.event='NewBlockHeader'");
      expect(third.error?.code).toBe(RPC_ERROR_CODES.internal);
      expect(third.error?.data).toBe('max_subscriptions_per_client 2 reached');
      const b = await wsClient(chain.wsUrl);
      expect((await sub(b, 1, "tm.event='Tx'")).result).toEqual({});
      const c = await wsClient(chain.wsUrl);
      expect((await sub(c, 1, "tm.event='Tx'")).error?.data).toBe('max_subscription_clients 2 reached');
      // Unsubscribing frees the slot.
      expect((await b.request({ jsonrpc: '2.0', id: 9, method: 'unsubscribe_all' })).result).toEqual({});
      expect((await b.request({ jsonrpc: '2.0', id: 10, method: 'unsubscribe_all' })).error?.data).toBe(
        'subscription not found',
      );
      expect((await sub(c, 2, "tm.event='Tx'")).result).toEqual({});
      for (const x of [a, b, c]) x.ws.close();
      await Promise.all([a.closed, b.closed, c.closed]);
      await eventually(() => chain.rpc.stats().subscriptions === 0);
    });

    it('a client that disconnects mid-subscription: its subscriptions go, others keep their events', async () => {
      const leaver = await wsClient(chain.wsUrl);
      const stayer = await wsClient(chain.wsUrl);
      await leaver.request({
        jsonrpc: '2.0',
        id: 1,
        method: 'subscribe',
        params: { query: "tm.event='NewBlock'" },
      });
      await stayer.request({
        jsonrpc: '2.0',
        id: 7,
        method: 'subscribe',
        params: { query: "tm.event='NewBlockHeader'" },
      });
      expect(chain.rpc.stats().subscriptions).toBe(2);
      // Gone without a close frame.
      leaver.ws.terminate();
      await leaver.closed;
      await eventually(() => chain.rpc.stats().subscriptions === 1);
      expect(chain.rpc.stats().websockets).toBe(1);
      const before = stayer.messages.length;
      const height = chain.node.status().height;
      await chain.waitForHeight(height + 2);
      const events = (): RpcResponse[] =>
        stayer.messages.slice(before).filter((m) => m.id === 7 && m.result?.query !== undefined);
      await eventually(() => events().length >= 1);
      const data = events()[0]?.result?.data as { type: string };
      expect(data.type).toBe('tendermint/event/NewBlockHeader');
      stayer.ws.close();
      await stayer.closed;
      await stillServing();
    });

    it('an oversize message closes that connection only', async () => {
      const c = await wsClient(chain.wsUrl);
      c.ws.send(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'status', params: { pad: 'x'.repeat(10_000) } }),
      );
      const { code } = await c.closed;
      expect(code).toBe(1009);
      await stillServing();
    });
  });

  it('max_open_connections: connections beyond it are closed', async () => {
    const limited = await startChain({ init: { rpc: { max_open_connections: 2 } } });
    try {
      const { port } = limited.rpc.address();
      const open = (): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', reject);
        });
      const held = [await open(), await open()];
      const third = await open();
      const closed = await new Promise<boolean>((resolve) => {
        third.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 5000);
      });
      expect(closed).toBe(true);
      for (const s of held) s.destroy();
      // Once the server has seen them go, a new client is served.
      let served: unknown;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        try {
          served = (await call(limited.url, 'health')).result;
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      expect(served).toEqual({});
    } finally {
      await limited.stop();
    }
  });
});

describe('listening', () => {
  it('a port in use is one CONFIG_INVALID line naming [rpc] laddr', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const failed = await startChain({ init: { rpc: { laddr: `tcp://127.0.0.1:${port}` } } }).then(
        () => undefined,
        (err: unknown) => err as SynodError,
      );
      expect(failed?.code).toBe('CONFIG_INVALID');
      expect(failed?.message).toBe(
        `[rpc] laddr tcp://127.0.0.1:${port}: cannot listen: the address is in use (another synodd or program listens there)`,
      );
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
