/**
 * `createRpcServer`'s init: the `[rpc]` and `[tx_index]` sections of
 * CometBFT 0.38's config.toml, with its key names and defaults, as plain
 * values (the daemon passes what it parsed).
 */
import { SynodError } from '@synod/types';

/** The `[rpc]` keys this server implements (CometBFT 0.38 names and defaults). */
export interface RpcConfig {
  /** Where to listen: `tcp://IP:PORT` (`tcp://127.0.0.1:0` picks a free port). */
  readonly laddr: string;
  /** Origins a cross-domain request may come from; `[]` disables CORS, `["*"]` allows any; one `*` wildcard per origin. */
  readonly cors_allowed_origins: readonly string[];
  readonly cors_allowed_methods: readonly string[];
  readonly cors_allowed_headers: readonly string[];
  /** Enables `dial_seeds`, `dial_peers` and `unsafe_flush_mempool`. */
  readonly unsafe: boolean;
  /** Most simultaneous connections, WebSocket included; 0: unlimited. */
  readonly max_open_connections: number;
  /** Most clients with subscriptions (a WebSocket connection, or a `broadcast_tx_commit` in progress). */
  readonly max_subscription_clients: number;
  /** Most subscriptions (distinct queries) per client. */
  readonly max_subscriptions_per_client: number;
  /** Most responses queued on a WebSocket for a client that does not read; beyond it events are dropped (or the connection closed). */
  readonly experimental_websocket_write_buffer_size: number;
  /** Close a WebSocket whose client cannot keep up instead of dropping its events. */
  readonly experimental_close_on_slow_client: boolean;
  /** How long `broadcast_tx_commit` waits for the transaction's block: a Go duration (`"10s"`) or milliseconds. */
  readonly timeout_broadcast_tx_commit: string | number;
  /** Most requests in one JSON-RPC batch; 0: unlimited. */
  readonly max_request_batch_size: number;
  /** Largest request body (HTTP) or message (WebSocket), in bytes. */
  readonly max_body_bytes: number;
  /** Largest request header block, in bytes. */
  readonly max_header_bytes: number;
}

/** `[tx_index]`: `kv` indexes transactions (`tx`, `tx_search`), `null` does not. */
export interface TxIndexConfig {
  readonly indexer: 'kv' | 'null';
}

export interface RpcInit {
  readonly rpc?: Partial<RpcConfig>;
  readonly tx_index?: Partial<TxIndexConfig>;
}

export const RPC_DEFAULTS: RpcConfig = Object.freeze({
  laddr: 'tcp://127.0.0.1:26657',
  cors_allowed_origins: Object.freeze([]) as readonly string[],
  cors_allowed_methods: Object.freeze(['HEAD', 'GET', 'POST']),
  cors_allowed_headers: Object.freeze([
    'Origin',
    'Accept',
    'Content-Type',
    'X-Requested-With',
    'X-Server-Time',
  ]),
  unsafe: false,
  max_open_connections: 900,
  max_subscription_clients: 100,
  max_subscriptions_per_client: 5,
  experimental_websocket_write_buffer_size: 200,
  experimental_close_on_slow_client: false,
  timeout_broadcast_tx_commit: '10s',
  max_request_batch_size: 10,
  max_body_bytes: 1_000_000,
  max_header_bytes: 1_048_576,
});

export const TX_INDEX_DEFAULTS: TxIndexConfig = Object.freeze({ indexer: 'kv' });

/** The init with defaults applied and every value checked. */
export interface ResolvedRpcInit {
  readonly rpc: RpcConfig;
  readonly host: string;
  readonly port: number;
  readonly timeoutBroadcastTxCommitMs: number;
  readonly indexer: 'kv' | 'null';
}

/**
 * A bad value: the message names the key (`[rpc] max_body_bytes must be …, got 10`); `details` has the
 * key path (`['rpc', 'max_body_bytes']`) and the rule alone (`must be …`), for a host that words its own line.
 */
const NONE = Symbol('none');

function fail(key: string, reason: string, got: unknown = NONE): never {
  const shown = got === NONE ? '' : `, got ${JSON.stringify(got)}`;
  throw new SynodError('CONFIG_INVALID', `[${key.replace('.', '] ')} ${reason}${shown}`, {
    details: { path: key.split('.'), reason },
  });
}

function integer(key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    fail(key, `must be an integer in [${min}, ${max}]`, v);
  return v;
}

function stringList(key: string, v: unknown): readonly string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(key, 'must be a list of strings');
  return v as string[];
}

const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go duration (`"0s"`, `"500ms"`, `"10s"`, `"1m30s"`, `"1.5h"`) in whole milliseconds, or undefined
 * when it is not one. The daemon's config.toml durations use it too.
 */
export function parseDurationMs(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (s.length === 0 || !Number.isFinite(total)) return undefined;
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Parses `tcp://host:port` (IPv4, `[IPv6]` or a name); undefined when it is not one. */
export function parseTcpAddress(laddr: string): { host: string; port: number } | undefined {
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(laddr);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  return { host, port };
}

/** Applies the defaults and checks every value; throws SynodError('CONFIG_INVALID') naming the key. */
export function resolveRpcInit(init: RpcInit = {}): ResolvedRpcInit {
  const given = init.rpc ?? {};
  for (const key of Object.keys(given))
    if (!(key in RPC_DEFAULTS)) fail(`rpc.${key}`, 'is not a key this RPC server knows');
  const rpc: RpcConfig = { ...RPC_DEFAULTS, ...given };
  const address = typeof rpc.laddr === 'string' ? parseTcpAddress(rpc.laddr) : undefined;
  if (address === undefined) fail('rpc.laddr', 'must be tcp://IP:PORT', rpc.laddr);
  stringList('rpc.cors_allowed_origins', rpc.cors_allowed_origins);
  for (const o of rpc.cors_allowed_origins)
    if ((o.match(/\*/g) ?? []).length > 1) fail('rpc.cors_allowed_origins', `${o}: at most one * per origin`);
  stringList('rpc.cors_allowed_methods', rpc.cors_allowed_methods);
  stringList('rpc.cors_allowed_headers', rpc.cors_allowed_headers);
  if (typeof rpc.unsafe !== 'boolean') fail('rpc.unsafe', 'must be true or false');
  if (typeof rpc.experimental_close_on_slow_client !== 'boolean')
    fail('rpc.experimental_close_on_slow_client', 'must be true or false');
  integer('rpc.max_open_connections', rpc.max_open_connections, 0, 1_000_000);
  integer('rpc.max_subscription_clients', rpc.max_subscription_clients, 0, 1_000_000);
  integer('rpc.max_subscriptions_per_client', rpc.max_subscriptions_per_client, 0, 10_000);
  integer(
    'rpc.experimental_websocket_write_buffer_size',
    rpc.experimental_websocket_write_buffer_size,
    1,
    1_000_000,
  );
  integer('rpc.max_request_batch_size', rpc.max_request_batch_size, 0, 100_000);
  integer('rpc.max_body_bytes', rpc.max_body_bytes, 1024, 1 << 30);
  integer('rpc.max_header_bytes', rpc.max_header_bytes, 1024, 64 << 20);
  const t = rpc.timeout_broadcast_tx_commit;
  const timeout = typeof t === 'number' ? t : typeof t === 'string' ? parseDurationMs(t) : undefined;
  if (timeout === undefined || !Number.isSafeInteger(timeout) || timeout < 0 || timeout > 3_600_000)
    fail('rpc.timeout_broadcast_tx_commit', 'must be a duration such as "10s" (at most 1h)', t);
  const indexer = init.tx_index?.indexer ?? TX_INDEX_DEFAULTS.indexer;
  if (indexer !== 'kv' && indexer !== 'null') fail('tx_index.indexer', 'must be "kv" or "null"', indexer);
  return { rpc, host: address.host, port: address.port, timeoutBroadcastTxCommitMs: timeout, indexer };
}
