import { availableParallelism } from 'node:os';
import { isSynodError } from '@synod/types';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { CONFIG_SECTIONS, DEFAULT_CONFIG, parseConfig } from '../../src/config/schema.js';
import { CONFIG_DOCS, defaultConfig, renderConfig } from '../../src/config/template.js';
import { verifyWorkers } from '../../src/daemon.js';

function problem(text: string, overrides: Parameters<typeof parseConfig>[2] = []): string {
  try {
    parseConfig(text, 'config.toml', overrides);
  } catch (err) {
    if (!isSynodError(err, 'CONFIG_INVALID')) throw err;
    expect(err.message).not.toContain('\n');
    return err.message;
  }
  throw new Error('parsed');
}

describe('config.toml', () => {
  it('the file init writes documents every key and parses back to the same config', () => {
    const config = defaultConfig('node-a');
    const text = renderConfig(config);
    expect(parseConfig(text)).toEqual(config);
    const raw = parse(text) as Record<string, unknown>;
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
      if (typeof value !== 'object') {
        expect(raw[key], key).toBeDefined();
        expect(CONFIG_DOCS[key], key).toBeTruthy();
        continue;
      }
      expect(CONFIG_SECTIONS).toContain(key);
      for (const sub of Object.keys(value)) {
        expect((raw[key] as Record<string, unknown>)[sub], `${key}.${sub}`).toBeDefined();
        expect(CONFIG_DOCS[`${key}.${sub}`], `${key}.${sub}`).toBeTruthy();
      }
    }
    // and nothing is documented that does not exist
    const keys = new Set(
      Object.entries(DEFAULT_CONFIG).flatMap(([k, v]) =>
        typeof v === 'object' ? Object.keys(v).map((s) => `${k}.${s}`) : [k],
      ),
    );
    for (const documented of Object.keys(CONFIG_DOCS)) expect(keys.has(documented), documented).toBe(true);
  });

  it('every key is optional (defaults); RPC and metrics default to 127.0.0.1, p2p to every interface', () => {
    const c = parseConfig('');
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.rpc.laddr).toBe('tcp://127.0.0.1:26657');
    expect(c.instrumentation.prometheus_listen_addr).toBe('127.0.0.1:26660');
    expect(c.p2p.laddr).toBe('tcp://0.0.0.0:26656');
  });

  it('an unknown key is named with the keys its section allows; a CometBFT key Synod moved says where', () => {
    expect(problem('[rpc]\nlistn = "x"')).toBe(
      'config.toml: [rpc] listn: unknown key; allowed in [rpc]: laddr, cors_allowed_origins, cors_allowed_methods, cors_allowed_headers, unsafe, max_open_connections, max_subscription_clients, max_subscriptions_per_client, experimental_websocket_write_buffer_size, experimental_close_on_slow_client, timeout_broadcast_tx_commit, max_request_batch_size, max_body_bytes, max_header_bytes',
    );
    expect(problem('fast_sync = true')).toMatch(
      /^config\.toml: fast_sync: unknown key; allowed at the top level: moniker, .*\[rpc\]/,
    );
    expect(problem('[consensus]\ntimeout_commit = "1s"')).toMatch(
      /\[consensus\] timeout_commit: not a Synod key: .*genesis\.json, consensus_params\.timeout$/,
    );
    expect(problem('[statesync]\nenable = true')).toMatch(/^config\.toml: statesync: unknown key/);
    expect(problem('[rpc]\ntls_cert_file = "c.pem"')).toBe(
      "config.toml: [rpc] tls_cert_file: not a Synod key: Synod's RPC has no TLS: put a TLS proxy in front of the RPC to expose it",
    );
    expect(problem('[tx_index]\nindexr = "kv"')).toBe(
      'config.toml: [tx_index] indexr: unknown key; allowed in [tx_index]: indexer',
    );
  });

  it("[rpc] and [tx_index]: CometBFT's keys and defaults, checked by @synod/rpc's rules", () => {
    const c = parseConfig('');
    expect(c.rpc).toEqual({
      laddr: 'tcp://127.0.0.1:26657',
      cors_allowed_origins: [],
      cors_allowed_methods: ['HEAD', 'GET', 'POST'],
      cors_allowed_headers: ['Origin', 'Accept', 'Content-Type', 'X-Requested-With', 'X-Server-Time'],
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
    expect(c.tx_index).toEqual({ indexer: 'kv' });
    const set = parseConfig(
      '[rpc]\ncors_allowed_origins = ["https://*.example.com"]\nunsafe = true\ntimeout_broadcast_tx_commit = "30s"\n[tx_index]\nindexer = "null"',
    );
    expect(set.rpc.cors_allowed_origins).toEqual(['https://*.example.com']);
    expect(set.rpc.unsafe).toBe(true);
    expect(set.rpc.timeout_broadcast_tx_commit).toBe('30s');
    expect(set.tx_index.indexer).toBe('null');
    expect(problem('[rpc]\nmax_body_bytes = 10')).toBe(
      'config.toml: [rpc] max_body_bytes: expected an integer in [1024, 1073741824], got 10',
    );
    expect(problem('[rpc]\ncors_allowed_origins = ["http://*.*.com"]')).toBe(
      'config.toml: [rpc] cors_allowed_origins: http://*.*.com: at most one * per origin, got ["http://*.*.com"]',
    );
    expect(problem('[rpc]\ncors_allowed_origins = "*"')).toBe(
      'config.toml: [rpc] cors_allowed_origins: expected a list of strings, e.g. ["*"], got "*"',
    );
    expect(problem('[rpc]\ntimeout_broadcast_tx_commit = "2h"')).toBe(
      'config.toml: [rpc] timeout_broadcast_tx_commit: expected a duration such as "10s" (at most 1h), got "2h"',
    );
    expect(problem('[rpc]\nunsafe = 1')).toBe('config.toml: [rpc] unsafe: expected true or false, got 1');
    expect(problem('[tx_index]\nindexer = "psql"')).toBe(
      'config.toml: [tx_index] indexer: expected "kv" (index transactions for tx and tx_search) or "null" (no index), got "psql"',
    );
  });

  it('a bad value names the key, what is allowed and what was given', () => {
    expect(problem('[mempool]\nsize = 0')).toBe(
      'config.toml: [mempool] size: expected an integer ≥ 1, got 0',
    );
    expect(problem('[mempool]\nsize = 1.5')).toBe(
      'config.toml: [mempool] size: expected an integer ≥ 1, got 1.5',
    );
    expect(problem('[p2p]\naddr_book_strict = "yes"')).toBe(
      'config.toml: [p2p] addr_book_strict: expected true or false, got "yes"',
    );
    expect(problem('[p2p]\ndial_timeout = "5"')).toMatch(
      /\[p2p\] dial_timeout: expected a duration .*, got "5"$/,
    );
    expect(problem('[p2p]\nladdr = "tcp://0.0.0.0:70000"')).toMatch(
      /\[p2p\] laddr: expected tcp:\/\/IP:PORT/,
    );
    expect(problem('[rpc]\nladdr = "/ip4/127.0.0.1/tcp/1"')).toMatch(
      /\[rpc\] laddr: expected tcp:\/\/IP:PORT/,
    );
    expect(problem('[instrumentation]\nprometheus_listen_addr = "localhost:1"')).toMatch(
      /prometheus_listen_addr: expected IP:PORT/,
    );
    expect(problem('[p2p]\npersistent_peers = "127.0.0.1:26656"')).toMatch(
      /persistent_peers: expected a comma-separated list/,
    );
    expect(problem('log_format = "xml"')).toMatch(/^config\.toml: log_format: expected "auto"/);
    expect(problem('rpc = 5')).toBe('config.toml: rpc: expected a [rpc] table, got 5');
    expect(problem('moniker = "a\\u0000b"')).toMatch(/moniker: expected 1 to 64 printable ASCII characters/);
  });

  it('a TOML syntax error gives its line', () => {
    expect(problem('[p2p\nladdr = 1')).toMatch(/^config\.toml: not valid TOML \(line 1, column \d+\): /);
  });

  it('flags override keys, are checked like them, and an error names the flag', () => {
    const c = parseConfig('[p2p]\nladdr = "tcp://0.0.0.0:1"', 'config.toml', [
      { path: ['p2p', 'laddr'], value: 'tcp://127.0.0.1:2' },
      { path: ['mempool', 'size'], value: '7' },
      { path: ['p2p', 'addr_book_strict'], value: 'false' },
      { path: ['log_level'], value: 'p2p:debug' },
    ]);
    expect(c.p2p.laddr).toBe('tcp://127.0.0.1:2');
    expect(c.mempool.size).toBe(7);
    expect(c.p2p.addr_book_strict).toBe(false);
    expect(c.log_level).toBe('p2p:debug');
    const lists = parseConfig('', 'config.toml', [
      { path: ['rpc', 'cors_allowed_origins'], value: 'http://a.com, http://b.com' },
      { path: ['rpc', 'cors_allowed_methods'], value: '["GET"]' },
      { path: ['rpc', 'unsafe'], value: 'true' },
      { path: ['tx_index', 'indexer'], value: 'null' },
    ]);
    expect(lists.rpc.cors_allowed_origins).toEqual(['http://a.com', 'http://b.com']);
    expect(lists.rpc.cors_allowed_methods).toEqual(['GET']);
    expect(lists.rpc.unsafe).toBe(true);
    expect(lists.tx_index.indexer).toBe('null');
    expect(problem('', [{ path: ['rpc', 'max_request_batch_size'], value: '-1' }])).toBe(
      '--rpc.max_request_batch_size: expected an integer ≥ 0, got -1',
    );
    expect(problem('', [{ path: ['rpc', 'laddr'], value: 'nope' }])).toMatch(
      /^--rpc\.laddr: expected tcp:\/\/IP:PORT .*, got "nope"$/,
    );
    expect(problem('', [{ path: ['mempool', 'size'], value: 'x' }])).toBe(
      '--mempool.size: expected an integer ≥ 1, got "x"',
    );
  });

  it('verify_workers: "auto" by default, a count in [0, 64], nothing else', () => {
    expect(parseConfig('', 'config.toml').verify_workers).toBe('auto');
    expect(parseConfig('verify_workers = 0', 'config.toml').verify_workers).toBe(0);
    expect(parseConfig('verify_workers = "auto"', 'config.toml').verify_workers).toBe('auto');
    expect(parseConfig('', 'config.toml', [{ path: ['verify_workers'], value: '3' }]).verify_workers).toBe(3);
    expect(parseConfig('', 'config.toml', [{ path: ['verify_workers'], value: 'auto' }]).verify_workers).toBe(
      'auto',
    );
    for (const bad of [
      'verify_workers = -1',
      'verify_workers = 65',
      'verify_workers = "all"',
      'verify_workers = 1.5',
    ])
      expect(problem(bad)).toMatch(
        /^config\.toml: verify_workers: expected "auto" or an integer in \[0, 64\], got /,
      );
    expect(problem('', [{ path: ['verify_workers'], value: 'many' }])).toBe(
      '--verify_workers: expected "auto" or an integer in [0, 64], got "many"',
    );
    expect(verifyWorkers(0)).toBe(0);
    expect(verifyWorkers(5)).toBe(5);
    expect(verifyWorkers('auto')).toBe(Math.min(availableParallelism(), 8));
  });
});
