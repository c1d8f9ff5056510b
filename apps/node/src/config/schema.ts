/**
 * config.toml: CometBFT's sections and key names where the meaning is the
 * same, Synod's own where it is not. Parsed with smol-toml (a TOML 1.0
 * parser), checked with a zod schema: an unknown key, a value of the wrong
 * type or range, or a malformed address stops the node with one line that
 * names the key and what is allowed (`ConfigError`, code CONFIG_INVALID).
 *
 * Every key, its default and its meaning are in `CONFIG_DOCS`; `init` writes
 * them all, commented (`renderConfig`).
 */
import { TIMEOUT_SCALE_MAX, TIMEOUT_SCALE_MIN } from '@synod/consensus';
import { MEMPOOL_DEFAULTS } from '@synod/mempool';
import { NODE_DEFAULTS } from '@synod/node';
import { DEFAULT_PEER_MANAGER_OPTIONS } from '@synod/p2p';
import { RPC_DEFAULTS, resolveRpcInit, TX_INDEX_DEFAULTS } from '@synod/rpc';
import { SynodError } from '@synod/types';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { DEFAULT_FILES } from '../home.js';
import {
  LOG_LEVELS,
  listenMultiaddr,
  PEER_ID,
  parseDurationMs,
  parseHostPort,
  parseLogLevel,
  parseTcpAddress,
  peerMultiaddr,
  splitList,
} from './values.js';

// ----------------------------------------------------------------- value types

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error =
    max === Number.MAX_SAFE_INTEGER
      ? `expected an integer ≥ ${min}`
      : `expected an integer in [${min}, ${max}]`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const bool = () => z.boolean({ error: 'expected true or false' });

const text = (check: (s: string) => boolean, allowed: string) =>
  z.string({ error: `expected a string: ${allowed}` }).refine(check, { error: `expected ${allowed}` });

const duration = () =>
  text((s) => parseDurationMs(s) !== undefined, 'a duration such as "500ms", "5s" or "1m30s"');

const LISTEN =
  'tcp://IP:PORT (e.g. "tcp://0.0.0.0:26656") or a TCP multiaddr such as "/ip4/0.0.0.0/tcp/26656"';
const listenAddress = () => text((s) => listenMultiaddr(s) !== undefined, LISTEN);

const PEERS =
  'a comma-separated list of ID@HOST:PORT (ID a 12D3KooW… peer id) or /ip4/…/tcp/…/p2p/ID multiaddrs';
const peerList = () => text((s) => splitList(s).every((p) => peerMultiaddr(p) !== undefined), PEERS);

// ----------------------------------------------------------------- defaults

/** Most signature-verifying worker threads `verify_workers` may ask for. */
export const VERIFY_WORKERS_MAX = 64;
/** What `verify_workers = "auto"` starts at most (one per core up to this). */
export const VERIFY_WORKERS_AUTO_MAX = 8;

export const DEFAULT_CONFIG = Object.freeze({
  moniker: 'synod-node',
  log_level: 'info',
  log_format: 'auto' as 'auto' | 'json' | 'plain',
  block_sync: true,
  verify_workers: 'auto' as 'auto' | number,
  genesis_file: DEFAULT_FILES.genesis_file,
  priv_validator_key_file: DEFAULT_FILES.priv_validator_key_file,
  priv_validator_state_file: DEFAULT_FILES.priv_validator_state_file,
  node_key_file: DEFAULT_FILES.node_key_file,
  db_dir: DEFAULT_FILES.db_dir,
  // CometBFT's [rpc] keys that @synod/rpc takes, with its defaults (CometBFT's).
  rpc: {
    laddr: RPC_DEFAULTS.laddr,
    cors_allowed_origins: [...RPC_DEFAULTS.cors_allowed_origins],
    cors_allowed_methods: [...RPC_DEFAULTS.cors_allowed_methods],
    cors_allowed_headers: [...RPC_DEFAULTS.cors_allowed_headers],
    unsafe: RPC_DEFAULTS.unsafe,
    max_open_connections: RPC_DEFAULTS.max_open_connections,
    max_subscription_clients: RPC_DEFAULTS.max_subscription_clients,
    max_subscriptions_per_client: RPC_DEFAULTS.max_subscriptions_per_client,
    experimental_websocket_write_buffer_size: RPC_DEFAULTS.experimental_websocket_write_buffer_size,
    experimental_close_on_slow_client: RPC_DEFAULTS.experimental_close_on_slow_client,
    timeout_broadcast_tx_commit: String(RPC_DEFAULTS.timeout_broadcast_tx_commit),
    max_request_batch_size: RPC_DEFAULTS.max_request_batch_size,
    max_body_bytes: RPC_DEFAULTS.max_body_bytes,
    max_header_bytes: RPC_DEFAULTS.max_header_bytes,
  },
  p2p: {
    laddr: 'tcp://0.0.0.0:26656',
    external_address: '',
    seeds: '',
    persistent_peers: '',
    max_peers: DEFAULT_PEER_MANAGER_OPTIONS.maxPeers,
    addr_book_strict: true,
    private_peer_ids: '',
    dial_timeout: `${DEFAULT_PEER_MANAGER_OPTIONS.dialTimeoutMs / 1000}s`,
  },
  mempool: {
    size: MEMPOOL_DEFAULTS.maxTxs,
    max_txs_bytes: MEMPOOL_DEFAULTS.maxBytes,
    max_tx_bytes: MEMPOOL_DEFAULTS.maxTxBytes,
    cache_size: MEMPOOL_DEFAULTS.cacheSize,
    'keep-invalid-txs-in-cache': MEMPOOL_DEFAULTS.keepInvalidTxsInCache,
    recheck: MEMPOOL_DEFAULTS.recheck,
    'ttl-duration': '0s',
    'ttl-num-blocks': MEMPOOL_DEFAULTS.ttlBlocks,
  },
  blocksync: {
    lag_heights: NODE_DEFAULTS.syncLagHeights,
    batch_blocks: NODE_DEFAULTS.syncBatchBlocks,
    peer_wait: '5s',
  },
  consensus: {
    commit_monitor_heights: NODE_DEFAULTS.commitMonitorHeights,
    recent_blocks_max: NODE_DEFAULTS.recentBlocksMax,
    block_times_cache_heights: NODE_DEFAULTS.blockTimesCacheHeights,
    timeout_scale: NODE_DEFAULTS.timeoutScale,
    halt_height: NODE_DEFAULTS.haltHeight,
  },
  evidence: {
    pending_max: NODE_DEFAULTS.evidencePendingMax,
  },
  storage: {
    sync_writes: true,
  },
  tx_index: {
    indexer: TX_INDEX_DEFAULTS.indexer as 'kv' | 'null',
  },
  instrumentation: {
    prometheus: true,
    prometheus_listen_addr: '127.0.0.1:26660',
  },
});

// ----------------------------------------------------------------- schema

const D = DEFAULT_CONFIG;

const strings = () =>
  z.array(z.string({ error: 'expected a string' }), { error: 'expected a list of strings, e.g. ["*"]' });

/**
 * The [rpc] section: each key's type here, its range and rules in @synod/rpc's `resolveRpcInit`
 * (one place), whose first complaint is reported on the key it names.
 */
const rpcSchema = z
  .strictObject({
    laddr: text(
      (s) => parseTcpAddress(s) !== undefined,
      'tcp://IP:PORT (e.g. "tcp://127.0.0.1:26657")',
    ).default(D.rpc.laddr),
    cors_allowed_origins: strings().default(D.rpc.cors_allowed_origins),
    cors_allowed_methods: strings().default(D.rpc.cors_allowed_methods),
    cors_allowed_headers: strings().default(D.rpc.cors_allowed_headers),
    unsafe: bool().default(D.rpc.unsafe),
    max_open_connections: int(0).default(D.rpc.max_open_connections),
    max_subscription_clients: int(0).default(D.rpc.max_subscription_clients),
    max_subscriptions_per_client: int(0).default(D.rpc.max_subscriptions_per_client),
    experimental_websocket_write_buffer_size: int(1).default(D.rpc.experimental_websocket_write_buffer_size),
    experimental_close_on_slow_client: bool().default(D.rpc.experimental_close_on_slow_client),
    timeout_broadcast_tx_commit: duration().default(D.rpc.timeout_broadcast_tx_commit),
    max_request_batch_size: int(0).default(D.rpc.max_request_batch_size),
    max_body_bytes: int(1).default(D.rpc.max_body_bytes),
    max_header_bytes: int(1).default(D.rpc.max_header_bytes),
  })
  .superRefine((rpc, ctx) => {
    try {
      resolveRpcInit({ rpc });
    } catch (err) {
      const details = err instanceof SynodError ? err.details : undefined;
      const path = details?.path as string[] | undefined;
      if (path === undefined) throw err;
      ctx.addIssue({
        code: 'custom',
        path: path.slice(1),
        message: String(details?.reason).replace(/^must be /, 'expected '),
      });
    }
  });

const txIndexSchema = z.strictObject({
  indexer: z
    .enum(['kv', 'null'], {
      error: 'expected "kv" (index transactions for tx and tx_search) or "null" (no index)',
    })
    .default(D.tx_index.indexer),
});

const p2pSchema = z.strictObject({
  laddr: listenAddress().default(D.p2p.laddr),
  external_address: text(
    (s) =>
      s === '' ||
      splitList(s).every((a) => listenMultiaddr(a) !== undefined || parseHostPort(a, true) !== undefined),
    'empty, or HOST:PORT / tcp://IP:PORT / a TCP multiaddr (comma-separated)',
  ).default(D.p2p.external_address),
  seeds: peerList().default(D.p2p.seeds),
  persistent_peers: peerList().default(D.p2p.persistent_peers),
  max_peers: int(1, 10_000).default(D.p2p.max_peers),
  addr_book_strict: bool().default(D.p2p.addr_book_strict),
  private_peer_ids: text(
    (s) => splitList(s).every((id) => PEER_ID.test(id)),
    'a comma-separated list of 12D3KooW… peer ids',
  ).default(D.p2p.private_peer_ids),
  dial_timeout: duration().default(D.p2p.dial_timeout),
});

const mempoolSchema = z.strictObject({
  size: int(1).default(D.mempool.size),
  max_txs_bytes: int(1).default(D.mempool.max_txs_bytes),
  max_tx_bytes: int(1, D.mempool.max_tx_bytes).default(D.mempool.max_tx_bytes),
  cache_size: int(1).default(D.mempool.cache_size),
  'keep-invalid-txs-in-cache': bool().default(D.mempool['keep-invalid-txs-in-cache']),
  recheck: bool().default(D.mempool.recheck),
  'ttl-duration': duration().default(D.mempool['ttl-duration']),
  'ttl-num-blocks': int(0).default(D.mempool['ttl-num-blocks']),
});

const blocksyncSchema = z.strictObject({
  lag_heights: int(1, 1_000_000).default(D.blocksync.lag_heights),
  batch_blocks: int(1, 1000).default(D.blocksync.batch_blocks),
  peer_wait: duration().default(D.blocksync.peer_wait),
});

const TIMEOUT_SCALE_ERROR = `expected a number in [${TIMEOUT_SCALE_MIN}, ${TIMEOUT_SCALE_MAX}] (1: the chain's timeouts as they are)`;

const consensusSchema = z.strictObject({
  commit_monitor_heights: int(1, 10_000_000).default(D.consensus.commit_monitor_heights),
  recent_blocks_max: int(1, 100_000).default(D.consensus.recent_blocks_max),
  block_times_cache_heights: int(1, 10_000_000).default(D.consensus.block_times_cache_heights),
  timeout_scale: z
    .number({ error: TIMEOUT_SCALE_ERROR })
    .min(TIMEOUT_SCALE_MIN, { error: TIMEOUT_SCALE_ERROR })
    .max(TIMEOUT_SCALE_MAX, { error: TIMEOUT_SCALE_ERROR })
    .default(D.consensus.timeout_scale),
  halt_height: int(0).default(D.consensus.halt_height),
});

const evidenceSchema = z.strictObject({
  pending_max: int(1, 10_000_000).default(D.evidence.pending_max),
});

const storageSchema = z.strictObject({
  sync_writes: bool().default(D.storage.sync_writes),
});

const instrumentationSchema = z.strictObject({
  prometheus: bool().default(D.instrumentation.prometheus),
  prometheus_listen_addr: text(
    (s) => parseHostPort(s.startsWith(':') ? `0.0.0.0${s}` : s, false) !== undefined,
    'IP:PORT (e.g. "127.0.0.1:26660"; ":26660" listens on every interface)',
  ).default(D.instrumentation.prometheus_listen_addr),
});

const path = () => text((s) => s.length > 0 && !s.includes('\0'), 'a non-empty file path');

export const configSchema = z.strictObject({
  moniker: text((s) => /^[\x20-\x7e]{1,64}$/.test(s), '1 to 64 printable ASCII characters').default(
    D.moniker,
  ),
  log_level: text(
    (s) => parseLogLevel(s) !== undefined,
    `a level (${LOG_LEVELS.join(', ')}) or per module, e.g. "consensus:debug,p2p:warn,*:info"`,
  ).default(D.log_level),
  log_format: z
    .enum(['auto', 'json', 'plain'], {
      error: 'expected "auto" (JSON, or pretty on a terminal), "json" or "plain"',
    })
    .default(D.log_format),
  block_sync: bool().default(D.block_sync),
  verify_workers: z
    .custom<'auto' | number>(
      (v) =>
        v === 'auto' || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= VERIFY_WORKERS_MAX),
      { error: `expected "auto" or an integer in [0, ${VERIFY_WORKERS_MAX}]` },
    )
    .default(D.verify_workers),
  genesis_file: path().default(D.genesis_file),
  priv_validator_key_file: path().default(D.priv_validator_key_file),
  priv_validator_state_file: path().default(D.priv_validator_state_file),
  node_key_file: path().default(D.node_key_file),
  db_dir: path().default(D.db_dir),
  rpc: rpcSchema.prefault({}),
  p2p: p2pSchema.prefault({}),
  mempool: mempoolSchema.prefault({}),
  blocksync: blocksyncSchema.prefault({}),
  consensus: consensusSchema.prefault({}),
  evidence: evidenceSchema.prefault({}),
  storage: storageSchema.prefault({}),
  tx_index: txIndexSchema.prefault({}),
  instrumentation: instrumentationSchema.prefault({}),
});

export type DaemonConfig = z.output<typeof configSchema>;

/** The sections of config.toml, in the order `init` writes them ('' is the top level). */
export const CONFIG_SECTIONS = [
  '',
  'rpc',
  'p2p',
  'mempool',
  'blocksync',
  'consensus',
  'evidence',
  'storage',
  'tx_index',
  'instrumentation',
] as const;

/**
 * CometBFT keys Synod does not take, and where the concept lives instead
 * (said in the error, so an operator who knows CometBFT finds it).
 */
const MOVED_KEYS: Readonly<Record<string, string>> = {
  'consensus.timeout_propose': TIMEOUTS_MOVED(),
  'consensus.timeout_propose_delta': TIMEOUTS_MOVED(),
  'consensus.timeout_prevote': TIMEOUTS_MOVED(),
  'consensus.timeout_prevote_delta': TIMEOUTS_MOVED(),
  'consensus.timeout_precommit': TIMEOUTS_MOVED(),
  'consensus.timeout_precommit_delta': TIMEOUTS_MOVED(),
  'consensus.timeout_commit': TIMEOUTS_MOVED(),
  'p2p.max_num_inbound_peers': 'Synod has one peer limit for both directions: [p2p] max_peers',
  'p2p.max_num_outbound_peers': 'Synod has one peer limit for both directions: [p2p] max_peers',
  'rpc.grpc_laddr': RPC_NOT_IMPLEMENTED('gRPC'),
  'rpc.grpc_max_open_connections': RPC_NOT_IMPLEMENTED('gRPC'),
  'rpc.tls_cert_file': RPC_NOT_IMPLEMENTED('TLS: put a TLS proxy in front of the RPC to expose it'),
  'rpc.tls_key_file': RPC_NOT_IMPLEMENTED('TLS: put a TLS proxy in front of the RPC to expose it'),
  'rpc.pprof_laddr': RPC_NOT_IMPLEMENTED('pprof (Go profiling)'),
  'rpc.experimental_subscription_buffer_size': RPC_NOT_IMPLEMENTED(
    'a subscription buffer: events queue per WebSocket, bounded by experimental_websocket_write_buffer_size',
  ),
  'tx_index.psql-conn': 'the only indexers are "kv" (in the node\'s LevelDB) and "null"',
  proxy_app: 'the application (@synod/ledger) runs inside the node process',
  abci: 'the application (@synod/ledger) runs inside the node process',
};

function RPC_NOT_IMPLEMENTED(what: string): string {
  return `Synod's RPC has no ${what}`;
}

function TIMEOUTS_MOVED(): string {
  return "Synod's round timeouts are chain parameters that every validator must agree on: set them in genesis.json, consensus_params.timeout";
}

// ----------------------------------------------------------------- errors

/** The TOML-style name of a key path: `[p2p] laddr`, `moniker`. */
export function keyName(path: readonly PropertyKey[]): string {
  const parts = path.map(String);
  if (parts.length <= 1) return parts[0] ?? '(top level)';
  return `[${parts[0]}] ${parts.slice(1).join('.')}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function shown(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function allowedKeys(section: string): string {
  if (section === '')
    return Object.entries(DEFAULT_CONFIG)
      .map(([k, v]) => (typeof v === 'object' ? `[${k}]` : k))
      .join(', ');
  const table = (DEFAULT_CONFIG as Record<string, unknown>)[section];
  return typeof table === 'object' && table !== null ? Object.keys(table).join(', ') : '';
}

/** The one line describing the first problem of a failed parse. */
function issueLine(file: string, issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const section = issue.path.map(String).join('.');
    const key = issue.keys[0] as string;
    const full = section === '' ? key : `${section}.${key}`;
    const moved = MOVED_KEYS[full];
    const where = section === '' ? 'at the top level' : `in [${section}]`;
    return moved !== undefined
      ? `${file}: ${keyName([...issue.path, key])}: not a Synod key: ${moved}`
      : `${file}: ${keyName([...issue.path, key])}: unknown key; allowed ${where}: ${allowedKeys(section)}`;
  }
  const value = valueAt(raw, issue.path);
  const got = value === undefined ? '' : `, got ${shown(value)}`;
  if (
    issue.path.length === 1 &&
    CONFIG_SECTIONS.includes(issue.path[0] as never) &&
    typeof value !== 'object'
  )
    return `${file}: ${String(issue.path[0])}: expected a [${String(issue.path[0])}] table${got}`;
  return `${file}: ${keyName(issue.path)}: ${issue.message}${got}`;
}

/** A command-line override of a config key: `--p2p.laddr tcp://…` is `{ path: ['p2p', 'laddr'], value }`. */
export interface ConfigOverride {
  readonly path: readonly [string] | readonly [string, string];
  /** The flag's text; turned into the key's type (number, boolean) before the schema checks it. */
  readonly value: string;
}

/** The value of an override in the type of the key's default (the schema still checks it). */
function overrideValue(o: ConfigOverride): unknown {
  const d =
    o.path.length === 1
      ? (DEFAULT_CONFIG as Record<string, unknown>)[o.path[0]]
      : valueAt(DEFAULT_CONFIG, o.path);
  if (typeof d === 'number' && /^-?\d+(\.\d+)?$/.test(o.value)) return Number(o.value);
  // "auto" or a count (verify_workers)
  if (d === 'auto' && /^\d+$/.test(o.value)) return Number(o.value);
  if (typeof d === 'boolean' && (o.value === 'true' || o.value === 'false')) return o.value === 'true';
  if (Array.isArray(d)) {
    // A list: TOML/JSON (`["*"]`) or comma-separated (`a,b`; empty: none).
    if (o.value.trim().startsWith('['))
      try {
        return JSON.parse(o.value) as unknown;
      } catch {
        return o.value;
      }
    return splitList(o.value);
  }
  return o.value;
}

function applyOverrides(raw: unknown, overrides: readonly ConfigOverride[]): void {
  if (typeof raw !== 'object' || raw === null) return;
  const top = raw as Record<string, unknown>;
  for (const o of overrides) {
    if (o.path.length === 1) {
      top[o.path[0]] = overrideValue(o);
      continue;
    }
    const [section, key] = o.path;
    const table = top[section];
    if (typeof table === 'object' && table !== null && !Array.isArray(table))
      (table as Record<string, unknown>)[key] = overrideValue(o);
    else if (table === undefined) top[section] = { [key]: overrideValue(o) };
  }
}

/**
 * Parses and checks config.toml's text, with command-line `overrides`
 * applied first (they are checked like the file's keys, and an error in one
 * names the flag); throws SynodError CONFIG_INVALID with one line.
 */
export function parseConfig(
  source: string,
  file = 'config.toml',
  overrides: readonly ConfigOverride[] = [],
): DaemonConfig {
  let raw: unknown;
  try {
    raw = parseToml(source);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    const first = (err as Error).message.split('\n')[0] ?? 'syntax error';
    throw new SynodError('CONFIG_INVALID', `${file}: not valid TOML${where}: ${first}`, { cause: err });
  }
  applyOverrides(raw, overrides);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const flag = overrides.find((o) => o.path.join('.') === issue.path.map(String).join('.'));
    const where = flag === undefined ? file : `--${flag.path.join('.')}`;
    const line = issueLine(where, issue, raw);
    throw new SynodError(
      'CONFIG_INVALID',
      flag === undefined ? line : line.replace(`${where}: ${keyName(issue.path)}: `, `${where}: `),
      {
        details: { issues: result.error.issues.length },
      },
    );
  }
  return result.data;
}
