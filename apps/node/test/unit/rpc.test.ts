import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC_ERRORS, RpcError, RpcServer } from '../../src/rpc.js';

let server: RpcServer;
let url: string;

beforeAll(async () => {
  server = await RpcServer.listen({
    host: '127.0.0.1',
    port: 0,
    maxOpenConnections: 10,
    maxBodyBytes: 1024,
    maxHeaderBytes: 8192,
    methods: {
      health: () => ({}),
      echo: (params) => params,
      fail: () => {
        throw new RpcError(RPC_ERRORS.internal, 'node halted', 'why');
      },
    },
  });
  url = `http://127.0.0.1:${server.address().port}`;
});
afterAll(() => server.close());

const post = async (body: string): Promise<{ status: number; json: unknown }> => {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
};

describe('JSON-RPC server', () => {
  it('answers POST requests, batches and GET /method (id -1) like CometBFT', async () => {
    expect((await post('{"jsonrpc":"2.0","id":7,"method":"health"}')).json).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: {},
    });
    expect(
      (
        await post(
          '[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}},{"jsonrpc":"2.0","id":2,"method":"health"}]',
        )
      ).json,
    ).toEqual([
      { jsonrpc: '2.0', id: 1, result: { a: 1 } },
      { jsonrpc: '2.0', id: 2, result: {} },
    ]);
    const res = await fetch(`${url}/health`);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: -1, result: {} });
  });

  it('errors: parse, invalid request, unknown method, method failure, body too large', async () => {
    expect((await post('{')).json).toMatchObject({ id: null, error: { code: RPC_ERRORS.parse } });
    expect((await post('{"id":1,"method":"health"}')).json).toMatchObject({
      error: { code: RPC_ERRORS.invalidRequest },
    });
    expect((await post('[]')).json).toMatchObject({ error: { code: RPC_ERRORS.invalidRequest } });
    expect((await post('{"jsonrpc":"2.0","id":1,"method":"toString"}')).json).toMatchObject({
      id: 1,
      error: { code: RPC_ERRORS.methodNotFound },
    });
    expect((await post('{"jsonrpc":"2.0","id":1,"method":"fail"}')).json).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: RPC_ERRORS.internal, message: 'node halted', data: 'why' },
    });
    const big = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: 'x'.repeat(2000) }),
    );
    expect(big.status).toBe(413);
  });
});
