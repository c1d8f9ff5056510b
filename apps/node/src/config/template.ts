/**
 * The commented config.toml that `init` and `testnet` write: every key, its
 * value and what it means. The documentation of a key lives here, once.
 */
import { stringify } from 'smol-toml';
import { CONFIG_SECTIONS, type DaemonConfig, DEFAULT_CONFIG } from './schema.js';

/** Section headers' text. */
const SECTION_DOCS: Readonly<Record<string, string>> = {
  rpc: "CometBFT 0.38's RPC (@synod/rpc): every method of CometBFT's routes with its names, parameters and result shapes, as JSON-RPC 2.0 over HTTP POST / (one request or a batch), the URI form (GET /status, GET /block?height=5) and WebSocket at /websocket (subscribe). Clients such as @cosmjs/tendermint-rpc work unmodified.",
  p2p: 'Peer-to-peer networking (libp2p over TCP, Noise, yamux, gossipsub).',
  mempool: 'The transaction pool (@synod/mempool).',
  blocksync:
    'Block sync at start: a node behind its peers fetches blocks, verifies each commit against its validator set and executes them before it joins consensus (the switch is the top-level block_sync).',
  consensus:
    "Node-local consensus settings. The round timeouts (CometBFT's timeout_propose, timeout_prevote, …) are chain parameters in Synod, agreed by every validator: genesis.json, consensus_params.timeout.",
  evidence: 'Evidence of misbehaviour (double signs) waiting to be committed.',
  storage: 'The LevelDB database and the consensus WAL under db_dir.',
  tx_index:
    "The transaction index behind the RPC's tx and tx_search, kept in the node's LevelDB (block results, for block_results, are kept either way).",
  instrumentation: 'Prometheus metrics (text format) over HTTP, at /metrics.',
};

/** What each key means ("section.key", or "key" at the top level). */
export const CONFIG_DOCS: Readonly<Record<string, string>> = {
  moniker: 'A name for this node, shown in `status` (node_info.moniker).',
  log_level:
    'Log level: trace, debug, info, warn, error or none; or per module, e.g. "consensus:debug,p2p:warn,*:info" ("*" is every other module).',
  log_format:
    '"auto": JSON lines, or pretty lines when stdout is a terminal; "json"; "plain" (pretty, no colours).',
  block_sync:
    'Catch up from peers with block sync at start when they are [blocksync] lag_heights or more ahead.',
  verify_workers:
    'Worker threads that verify transaction signatures off the event loop, so consensus messages never wait behind a backlog of transactions: "auto" (one per core, at most 8), a number, or 0 (verify on the event loop).',
  genesis_file: 'The genesis file (relative paths are relative to the home folder).',
  priv_validator_key_file:
    'The validator key (mode 0600). A node whose key is not in the validator set follows the chain without signing.',
  priv_validator_state_file:
    "The signer's last-sign state: the node never signs at or below it, so it must never be deleted while this key validates on this chain.",
  node_key_file: 'The node key: its peer id (12D3KooW…) identifies this node on the network.',
  db_dir:
    'The data folder: db/ (LevelDB: blocks, chain and application state, evidence) and wal/ (consensus WAL).',
  'rpc.laddr':
    'Where the RPC server listens (tcp://IP:PORT). Keep it on 127.0.0.1 unless a proxy guards it: anyone who reaches it can submit transactions.',
  'rpc.cors_allowed_origins':
    'Origins a browser may call the RPC from (cross-domain requests): [] disables CORS, ["*"] allows any, one * wildcard per origin ("https://*.example.com").',
  'rpc.cors_allowed_methods': 'Access-Control-Allow-Methods of a CORS answer.',
  'rpc.cors_allowed_headers': 'Access-Control-Allow-Headers of a CORS answer.',
  'rpc.unsafe':
    'Enable the methods that change the node beyond submitting a transaction: dial_seeds, dial_peers, unsafe_flush_mempool.',
  'rpc.max_open_connections':
    'Most simultaneous RPC connections, WebSockets included; more are closed at once (0: no limit).',
  'rpc.max_subscription_clients':
    'Most clients holding event subscriptions (a WebSocket with subscriptions, or a broadcast_tx_commit waiting).',
  'rpc.max_subscriptions_per_client': 'Most subscriptions (distinct queries) of one client.',
  'rpc.experimental_websocket_write_buffer_size':
    'Messages queued on a WebSocket whose client does not read; beyond it its events are dropped (counted in synod_rpc_events_dropped_total).',
  'rpc.experimental_close_on_slow_client':
    'Close a WebSocket whose client does not keep up instead of dropping its events.',
  'rpc.timeout_broadcast_tx_commit':
    'How long broadcast_tx_commit waits for the transaction to be in a block (at most 1h).',
  'rpc.max_request_batch_size': 'Most requests in one JSON-RPC batch (0: no limit).',
  'rpc.max_body_bytes':
    'Largest request body (HTTP, answered 413) or WebSocket message (the socket is closed), in bytes.',
  'rpc.max_header_bytes': 'Largest request header block, in bytes (answered 431).',
  'p2p.laddr': 'Where to listen for peers: tcp://IP:PORT or a multiaddr (/ip4/0.0.0.0/tcp/26656).',
  'p2p.external_address':
    'Addresses to advertise to peers instead of the listen address (public IP behind NAT): HOST:PORT or multiaddrs, comma-separated; empty: the listen address.',
  'p2p.seeds':
    'Peers dialled at start to join the network (ID@HOST:PORT, comma-separated); not kept connected.',
  'p2p.persistent_peers':
    'Peers to stay connected to, redialled with backoff (ID@HOST:PORT, comma-separated).',
  'p2p.max_peers':
    "Most connected peers, inbound and outbound together (CometBFT's max_num_inbound_peers + max_num_outbound_peers); persistent peers always get a slot.",
  'p2p.addr_book_strict':
    'true: never dial or share private, loopback or link-local addresses learnt from peers (configured peers are always dialled). Set false for a local network.',
  'p2p.private_peer_ids':
    'Peer ids never shared with other peers (e.g. a validator behind sentries), comma-separated.',
  'p2p.dial_timeout': 'How long one dial may take.',
  'mempool.size': 'Most transactions in the mempool.',
  'mempool.max_txs_bytes': 'Most bytes of transactions in the mempool.',
  'mempool.max_tx_bytes': 'Largest transaction accepted, in bytes.',
  'mempool.cache_size':
    'Size of the seen-transactions cache (a transaction seen recently is not checked again).',
  'mempool.keep-invalid-txs-in-cache':
    'Keep transactions that failed checkTx in the cache, so they are never checked again.',
  'mempool.recheck': 'Check the remaining transactions again after each block.',
  'mempool.ttl-duration': 'Drop a transaction that waited this long ("0s": never).',
  'mempool.ttl-num-blocks': 'Drop a transaction that waited this many blocks (0: never).',
  'blocksync.lag_heights': 'Block sync at start when a peer is at least this many heights ahead.',
  'blocksync.batch_blocks': 'Blocks asked for (and served) per block-range request.',
  'blocksync.peer_wait':
    'With peers configured, how long the start waits for a first connected peer before it decides whether to block sync ("0s": no wait).',
  'consensus.commit_monitor_heights':
    'Heights the conflicting-commit monitor remembers (two valid commits for one height halt the node).',
  'consensus.recent_blocks_max': 'Blocks of undecided heights kept to answer peers asking for them by hash.',
  'consensus.block_times_cache_heights': 'Recent block times kept in memory to judge the age of evidence.',
  'consensus.timeout_scale':
    "A speed modifier for this node only: the chain's round and commit timeouts (genesis consensus_params.timeout) multiplied by this, in [0.1, 10]. Above 1 for slow links: fewer rounds lost to votes that arrive late, but a silent proposer costs this node longer to skip. Below 1 for fast links: quicker recovery, but more rounds when messages are slower than the timeouts.",
  'consensus.halt_height':
    'Coordinated upgrades: stop cleanly (exit 0) after committing this height; 0 never. A node that already holds it refuses to start until the key is removed or raised (also --halt-height on start).',
  'evidence.pending_max': 'Most pending evidence items kept (and reloaded at start).',
  'storage.sync_writes':
    'fsync block, state and evidence writes (false is faster but a power loss may lose the last blocks; a process crash loses nothing either way).',
  'tx_index.indexer':
    '"kv": index every transaction by hash, height and event attribute (tx, tx_search); "null": no index (those methods say so).',
  'instrumentation.prometheus': 'Serve Prometheus metrics.',
  'instrumentation.prometheus_listen_addr': 'Where the metrics server listens (IP:PORT).',
};

function comment(text: string, indent = ''): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '#';
  for (const w of words) {
    if (line.length + 1 + w.length > 100 && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}

function keyLine(key: string, value: unknown): string {
  return stringify({ [key]: value }).trimEnd();
}

/** config.toml's text for `config`, every key documented. */
export function renderConfig(config: DaemonConfig): string {
  const out: string[] = [
    '# Synod node configuration (synodd). Sections and key names follow CometBFT where the meaning',
    '# is the same. Every key is optional; the value written here is the default unless init or',
    '# testnet chose another. Durations: "500ms", "5s", "1m30s". Unknown keys are refused.',
    '',
  ];
  for (const section of CONFIG_SECTIONS) {
    const table =
      section === ''
        ? Object.fromEntries(Object.entries(config).filter(([, v]) => typeof v !== 'object'))
        : (config[section] as Record<string, unknown>);
    if (section !== '') {
      out.push('', `#${'#'.repeat(98)}`, comment(SECTION_DOCS[section] ?? ''), `#${'#'.repeat(98)}`, '');
      out.push(`[${section}]`, '');
    }
    for (const [key, value] of Object.entries(table)) {
      const doc = CONFIG_DOCS[section === '' ? key : `${section}.${key}`] ?? '';
      out.push(comment(doc), keyLine(key, value), '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The default config with a moniker. */
export function defaultConfig(moniker: string): DaemonConfig {
  return structuredClone({ ...DEFAULT_CONFIG, moniker }) as DaemonConfig;
}
