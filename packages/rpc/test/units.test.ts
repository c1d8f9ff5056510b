/** Parameters, configuration, result codes and encodings, one function at a time. */
import { LEDGER_QUERY_CODES, LEDGER_TX_CODES } from '@synod/ledger';
import type { MempoolRejectCode } from '@synod/mempool';
import { SynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  cometCode,
  DERIVED_CODE_BASE,
  parseDurationMs,
  parseTcpAddress,
  RESULT_CODE_NUMBERS,
  RPC_DEFAULTS,
  RpcError,
  resolveRpcInit,
  resultCodeNumber,
  rfc3339,
} from '../src/index.js';
import { paramsFromJson, paramsFromUri } from '../src/params.js';

describe('parameters', () => {
  const specs = [
    { name: 'height', type: 'int' },
    { name: 'prove', type: 'bool' },
    { name: 'query', type: 'string' },
    { name: 'tx', type: 'bytes' },
    { name: 'data', type: 'hexbytes' },
    { name: 'peers', type: 'strings' },
  ] as const;

  it('JSON: by name or position; int64 as a string or a number; bytes base64, HexBytes hex', () => {
    expect(
      paramsFromJson(specs, { height: '5', prove: true, query: 'q', tx: 'AQID', data: 'ABcd', peers: ['a'] }),
    ).toEqual([5, true, 'q', Uint8Array.of(1, 2, 3), Uint8Array.of(0xab, 0xcd), ['a']]);
    expect(paramsFromJson(specs, [7])).toEqual([7, undefined, undefined, undefined, undefined, undefined]);
    expect(paramsFromJson(specs, undefined)).toEqual(specs.map(() => undefined));
    expect(paramsFromJson(specs, { height: null })[0]).toBeUndefined();
  });

  it('JSON: a wrong type is -32602 naming the parameter', () => {
    const bad: [unknown, RegExp][] = [
      [{ height: '5x' }, /height: expected an integer/],
      [{ height: 2 ** 60 }, /height: expected an integer/],
      [{ prove: 'true' }, /prove: expected true or false/],
      [{ tx: 'AQI' }, /tx: expected base64/],
      [{ data: 'abc' }, /data: expected hex/],
      [{ peers: 'a,b' }, /peers: expected a list of strings/],
      [[1, 2, 3, 4, 5, 6, 7], /expected at most 6 parameters/],
      [5, /expected an object or an array/],
    ];
    for (const [params, err] of bad) {
      let thrown: unknown;
      try {
        paramsFromJson(specs, params);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, JSON.stringify(params)).toBeInstanceOf(RpcError);
      expect((thrown as RpcError).code).toBe(-32602);
      expect((thrown as RpcError).data).toMatch(err);
    }
  });

  it('URI: digits, 0x hex, "quoted" bytes, JSON, or the bare string', () => {
    const q = new URLSearchParams({
      height: '12',
      prove: 'true',
      query: "tm.event='Tx'",
      tx: '"abc"',
      data: '0xABCD',
      peers: '["x"]',
    });
    expect(paramsFromUri(specs, q)).toEqual([
      12,
      true,
      "tm.event='Tx'",
      new TextEncoder().encode('abc'),
      Uint8Array.of(0xab, 0xcd),
      ['x'],
    ]);
    expect(paramsFromUri(specs, new URLSearchParams({ tx: '0x0102', query: '"quoted"' }))).toEqual([
      undefined,
      undefined,
      'quoted',
      Uint8Array.of(1, 2),
      undefined,
      undefined,
    ]);
    expect(() => paramsFromUri(specs, new URLSearchParams({ height: '0x10' }))).toThrow(
      /got a hex string arg, but expected 'int'/,
    );
    expect(() => paramsFromUri(specs, new URLSearchParams({ height: 'abc' }))).toThrow(/height/);
  });
});

describe('configuration', () => {
  it('has CometBFT 0.38 names and defaults', () => {
    expect(RPC_DEFAULTS).toMatchObject({
      laddr: 'tcp://127.0.0.1:26657',
      cors_allowed_origins: [],
      cors_allowed_methods: ['HEAD', 'GET', 'POST'],
      unsafe: false,
      max_open_connections: 900,
      max_subscription_clients: 100,
      max_subscriptions_per_client: 5,
      timeout_broadcast_tx_commit: '10s',
      max_request_batch_size: 10,
      max_body_bytes: 1_000_000,
      max_header_bytes: 1_048_576,
    });
    const r = resolveRpcInit();
    expect(r).toMatchObject({
      host: '127.0.0.1',
      port: 26657,
      timeoutBroadcastTxCommitMs: 10_000,
      indexer: 'kv',
    });
  });

  it('reads durations and addresses', () => {
    expect(parseDurationMs('10s')).toBe(10_000);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs('10')).toBeUndefined();
    expect(parseDurationMs('s')).toBeUndefined();
    expect(parseTcpAddress('tcp://0.0.0.0:1')).toEqual({ host: '0.0.0.0', port: 1 });
    expect(parseTcpAddress('tcp://[::1]:26657')).toEqual({ host: '::1', port: 26657 });
    expect(parseTcpAddress('unix:///tmp/x.sock')).toBeUndefined();
    expect(parseTcpAddress('tcp://1.2.3.4:70000')).toBeUndefined();
  });

  it('a bad value stops with CONFIG_INVALID naming the key', () => {
    const bad: [Parameters<typeof resolveRpcInit>[0], RegExp][] = [
      [{ rpc: { laddr: 'localhost:1' } }, /^\[rpc\] laddr must be tcp:\/\/IP:PORT/],
      [{ rpc: { max_body_bytes: 10 } }, /^\[rpc\] max_body_bytes must be an integer in \[1024/],
      [
        { rpc: { timeout_broadcast_tx_commit: 'soon' } },
        /^\[rpc\] timeout_broadcast_tx_commit must be a duration/,
      ],
      [{ rpc: { cors_allowed_origins: ['http://*.*.com'] } }, /at most one \*/],
      [{ rpc: { unsafe: 'yes' as unknown as boolean } }, /^\[rpc\] unsafe must be true or false/],
      [{ rpc: { grpc_laddr: '' } as never }, /^\[rpc\] grpc_laddr is not a key/],
      [{ tx_index: { indexer: 'psql' as never } }, /^\[tx_index\] indexer must be "kv" or "null"/],
    ];
    for (const [init, err] of bad) {
      let thrown: unknown;
      try {
        resolveRpcInit(init);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SynodError);
      expect((thrown as SynodError).code).toBe('CONFIG_INVALID');
      expect((thrown as SynodError).message).toMatch(err);
    }
    // The key path and the reason alone, for a host that words its own line (the daemon's `config.toml: [rpc] …`).
    try {
      resolveRpcInit({ rpc: { max_body_bytes: 10 } });
    } catch (e) {
      expect((e as SynodError).details).toEqual({
        path: ['rpc', 'max_body_bytes'],
        reason: 'must be an integer in [1024, 1073741824]',
      });
    }
    expect.assertions(bad.length * 3 + 1);
  });
});

describe('result codes', () => {
  it('every code of the mempool and the ledger has a fixed, distinct number; OK is 0', () => {
    const mempool = {
      DUPLICATE: true,
      TX_TOO_LARGE: true,
      MEMPOOL_FULL: true,
      NONCE_CONFLICT: true,
      TX_INVALID: true,
    } satisfies Record<MempoolRejectCode, true>;
    const names = [...Object.keys(mempool), ...LEDGER_TX_CODES, ...LEDGER_QUERY_CODES];
    for (const name of names) expect(RESULT_CODE_NUMBERS[name], name).toBeTypeOf('number');
    const numbers = Object.values(RESULT_CODE_NUMBERS);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(cometCode('OK')).toEqual({ code: 0, codespace: '' });
    expect(cometCode('TX_BAD_NONCE')).toEqual({ code: 17, codespace: 'TX_BAD_NONCE' });
  });

  it("another application's codes get stable numbers from 1000", () => {
    const a = resultCodeNumber('MY_APP_ERROR');
    expect(a).toBeGreaterThanOrEqual(DERIVED_CODE_BASE);
    expect(a).toBeLessThan(2 ** 31);
    expect(resultCodeNumber('MY_APP_ERROR')).toBe(a);
    expect(resultCodeNumber('MY_APP_ERROR2')).not.toBe(a);
  });
});

describe('encodings', () => {
  it('times are RFC 3339 with nine fractional digits', () => {
    expect(rfc3339(0)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(rfc3339(1_700_000_000_123)).toBe('2023-11-14T22:13:20.123000000Z');
  });
});
