/**
 * `synodd start`: the node over LevelDB, libp2p, the wall clock and the
 * file signer, with logs, metrics and CometBFT 0.38's RPC (@synod/rpc).
 *
 * Start order (each step needs the ones before; the first failure stops
 * the start, undoes what was started and exits with one line):
 *   1. config, genesis (checked, application dry run) and keys: read only;
 *   2. storage: LevelDB, WAL, signer state. LevelDB's lock makes a second
 *      process on the same home fail here (STORAGE_LOCKED);
 *   3. the application (@synod/ledger over the state store), the node
 *      (@synod/node, not started) and the RPC server, which follows the
 *      node's blocks from now on (so blocks executed by the handshake's
 *      replay or block sync are indexed too);
 *   4. the RPC and metrics listeners are bound (a port in use stops the
 *      start before the network listens or anything is signed);
 *   5. the p2p network (libp2p listens, dials the configured peers);
 *   6. the node starts: handshake and replay, mempool, evidence pool,
 *      gossip validation, block sync, consensus, gossip.
 * `stop()` runs the reverse: node stopped (engine finished), network
 * stopped, metrics and RPC closed (the last blocks indexed), storage closed
 * (WAL flushed, then LevelDB).
 * A stop asked during the start (`signal` aborted: SIGINT/SIGTERM) ends it
 * at its next step — within step 6 at the next block of the handshake's
 * replay or of block sync (the blocks executed so far stay stored; the next
 * start resumes after them) — undoes what was started in the same reverse
 * order, logs `synodd stopped` and rejects with `StartStopped`.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { createVerifyCache, createVerifyPool, type KeyPair, toHex } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createNode, type SynodNode } from '@synod/node';
import {
  agentVersion,
  createNetwork,
  type Network,
  nodeTransport,
  peerIdOfNodeKey,
  protocolIds,
  wallClock,
} from '@synod/p2p';
import { createRpcServer, type RpcPeer } from '@synod/rpc';
import {
  createSigner,
  FileSignerStateStore,
  KEY_PREFIX,
  type NodeStorage,
  openNodeStorage,
  prefixedKvStore,
} from '@synod/storage';
import { type Genesis, type Logger, SynodError } from '@synod/types';
import { testModes, type UnsafeTestOptions } from './byzantine/index.js';
import { ChainView } from './chain-view.js';
import { type DaemonConfig, VERIFY_WORKERS_AUTO_MAX } from './config/schema.js';
import {
  hostPortMultiaddr,
  listenMultiaddr,
  parseDurationMs,
  parseHostPort,
  parseLogLevel,
  peerMultiaddr,
  splitList,
} from './config/values.js';
import { loadGenesisDocument } from './genesis.js';
import { inHome } from './home.js';
import { readNodeKey, readValidatorKey } from './home-files.js';
import { formatHostPort, listen } from './listen.js';
import { createLogger, type DaemonLogger, type LogFormat } from './logger.js';
import { PromMetrics, registerVerifyPoolMetrics } from './metrics.js';
import { type NodeObserver, observeNode } from './node-observer.js';

export const DAEMON_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/**
 * After committing `[consensus] halt_height`, the node keeps serving its
 * peers this long before it stops (a node one height behind fetches the
 * last block from it and halts too).
 */
export const HALT_GRACE_MS = 3000;

export interface Daemon {
  readonly node: SynodNode;
  readonly peerId: string;
  readonly rpcAddress: string;
  readonly metricsAddress: string | undefined;
  readonly logger: Logger;
  /**
   * Resolves with the height HALT_GRACE_MS after the node committed
   * `[consensus] halt_height` (it starts no next height): the caller stops
   * the daemon.
   */
  readonly haltHeightReached: Promise<number>;
  /** Stops everything in reverse start order. Idempotent. */
  stop(): Promise<void>;
}

/** What must be closed, pushed as each step succeeds. */
type Undo = (() => Promise<void> | void)[];

async function undoAll(undo: Undo, logger: Logger): Promise<void> {
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (err) {
      logger.warn('stop step failed', { error: (err as Error).message });
    }
  }
}

function storageError(err: unknown, home: string, dbDir: string): unknown {
  if (err instanceof SynodError && err.code === 'STORAGE_LOCKED')
    return new SynodError(
      'STORAGE_LOCKED',
      `home ${home} is in use by another synodd process (its database ${dbDir}/db is locked); stop that process, or use another --home`,
      { cause: err },
    );
  return err;
}

async function metricsServer(metrics: PromMetrics, address: string): Promise<Server> {
  const hp = parseHostPort(address.startsWith(':') ? `0.0.0.0${address}` : address, false);
  if (hp === undefined)
    throw new SynodError(
      'CONFIG_INVALID',
      `[instrumentation] prometheus_listen_addr ${address}: not IP:PORT`,
    );
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('metrics are at /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await listen(server, hp.host, hp.port, '[instrumentation] prometheus_listen_addr');
  return server;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** `startDaemon` was stopped by its `signal` before the node ran: everything started was undone. */
export class StartStopped extends Error {
  constructor() {
    super('synodd: stopped during start');
    this.name = 'StartStopped';
  }
}

/** Overrides of config keys from the command line (`--p2p.laddr`, …), applied to a parsed config. */
export interface StartOptions {
  readonly home: string;
  readonly config: DaemonConfig;
  /** Where logs go (default stdout). */
  readonly logStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Test-only misbehaviour (`--unsafe-byzantine`, `--unsafe-clock-skew-ms`; test- chains only). */
  readonly unsafe?: UnsafeTestOptions;
  /** Aborted to stop during the start (see StartStopped); after the start, the daemon's `stop()`. */
  readonly signal?: AbortSignal;
}

/** Starts a node from its home; resolves once it runs (RPC answering). */
export async function startDaemon(options: StartOptions): Promise<Daemon> {
  const { home, config } = options;
  const levels = parseLogLevel(config.log_level);
  if (levels === undefined)
    throw new SynodError('CONFIG_INVALID', `log_level ${config.log_level}: malformed`);
  const daemonLogger: DaemonLogger = createLogger(levels, config.log_format as LogFormat, options.logStream);
  const logger = daemonLogger.logger;
  const log = logger.child({ module: 'daemon' });
  const undo: Undo = [];
  const signal = options.signal;
  /** Between the steps: a stop asked ends the start here. */
  const stopPoint = (): void => {
    if (signal?.aborted === true) throw new StartStopped();
  };
  let node: SynodNode | undefined;
  /** Where the stores were before the start, and whether the node's start began (its status is then where it stopped). */
  let stored: { readonly height: number; readonly appHash: Uint8Array } | undefined;
  let nodeStarting = false;
  try {
    stopPoint();
    // 1. Read-only inputs.
    const { genesis, document: genesisDoc } = await loadGenesisDocument(inHome(home, config.genesis_file));
    const unsafe = testModes(options.unsafe, genesis, logger);
    const validatorKey = await readValidatorKey(home, config);
    const nodeKey = await readNodeKey(home, config);
    const peerId = (await peerIdOfNodeKey(nodeKey)).toString();
    const statePath = inHome(home, config.priv_validator_state_file);
    // 2. Storage (the home's lock).
    const metrics = new PromMetrics();
    const dbDir = inHome(home, config.db_dir);
    let opened: NodeStorage;
    try {
      opened = await openNodeStorage({
        dataDir: dbDir,
        syncWrites: config.storage.sync_writes,
        logger,
        metrics,
      });
    } catch (err) {
      throw storageError(err, home, dbDir);
    }
    // The signer state lives where config.toml says (CometBFT's data/priv_validator_state.json).
    const signerState = new FileSignerStateStore(statePath);
    const storage: NodeStorage = { ...opened, signerState };
    undo.push(() => opened.close());
    undo.push(() => signerState.close());
    stopPoint();
    if ((await storage.signerState.load()) === undefined)
      throw new SynodError(
        'STORAGE_CORRUPT',
        `${statePath} is missing: the validator does not know what it last signed, and refuses to start. Restore the file from a backup; for a new chain only, \`synodd unsafe-reset-all --reset-signer\` writes a fresh one`,
      );
    // 3. Application, node and RPC (created, not started).
    // One verifier with a memory of accepted signatures for the whole node: gossip validation (the
    // node's view carries it), consensus and the ledger's transaction checks verify each signature once.
    // Transaction signatures are verified by worker threads (verify_workers), off the event loop.
    const workers = verifyWorkers(config.verify_workers);
    const pool = workers === 0 ? undefined : createVerifyPool({ workers });
    if (pool !== undefined) {
      undo.push(() => pool.close());
      registerVerifyPoolMetrics(metrics.registry, pool);
    }
    const verifier = createVerifyCache(pool === undefined ? {} : { pool });
    const application = await Ledger.open({
      kv: storage.state.appState,
      logger,
      metrics,
      verifySignature: verifier.verify,
    });
    const chainView = new ChainView(genesis.chainId, storage, logger);
    const stateInfo = await storage.state.loadStateInfo();
    stored = stateInfo;
    await chainView.executed(stateInfo?.height ?? 0);
    const network = await createNetwork(networkOptions(config, genesis, nodeKey, chainView, logger, metrics));
    const signer = await createSigner(validatorKey.seed, storage.signerState);
    node = createNode(
      {
        storage,
        application,
        transport: unsafe.transport(nodeTransport(network), network, validatorKey.seed),
        clock: unsafe.clock,
        signer,
        verifySignature: verifier.verify,
        // A gossiped batch is refused at its first bad signature: the rest need no check.
        ...(pool === undefined
          ? {}
          : { verifySignatures: (items) => verifier.verifyMany(items, { stopAtFirstFailure: true }) }),
        logger,
        metrics,
      },
      {
        genesis,
        mempool: {
          maxTxs: config.mempool.size,
          maxBytes: config.mempool.max_txs_bytes,
          maxTxBytes: config.mempool.max_tx_bytes,
          cacheSize: config.mempool.cache_size,
          keepInvalidTxsInCache: config.mempool['keep-invalid-txs-in-cache'],
          recheck: config.mempool.recheck,
          ttlBlocks: config.mempool['ttl-num-blocks'],
          ttlMs: parseDurationMs(config.mempool['ttl-duration']) ?? 0,
        },
        evidencePendingMax: config.evidence.pending_max,
        commitMonitorHeights: config.consensus.commit_monitor_heights,
        blockTimesCacheHeights: config.consensus.block_times_cache_heights,
        syncBatchBlocks: config.blocksync.batch_blocks,
        syncLagHeights: config.block_sync ? config.blocksync.lag_heights : 0,
        recentBlocksMax: config.consensus.recent_blocks_max,
        timeoutScale: config.consensus.timeout_scale,
        haltHeight: config.consensus.halt_height,
      },
    );
    const rpc = createRpcServer(
      {
        node,
        storage,
        application,
        genesis,
        genesisDoc,
        // The RPC's own store (block results, the transaction index) in the node's LevelDB.
        store: prefixedKvStore(storage.kv, Uint8Array.of(KEY_PREFIX.rpc)),
        nodeInfo: {
          nodeKey: nodeKey.publicKey,
          moniker: config.moniker,
          listenAddr: config.p2p.laddr,
          version: DAEMON_VERSION,
          p2pProtocolVersion: network.wireVersion,
          validatorPubKey: validatorKey.publicKey,
          other: {
            peer_id: peerId,
            // What peers see in the handshake (libp2p identify), and the ids this node speaks.
            software_version: DAEMON_VERSION,
            agent: agentVersion(DAEMON_VERSION, network.wireVersion),
            protocols: protocolIds(genesis.chainId, network.wireVersion).join(','),
          },
        },
        peers: () => connectedPeers(network),
        dialPeers: (peers, options) => dialPeers(network, peers, options, logger),
        logger,
        metrics,
      },
      { rpc: config.rpc, tx_index: config.tx_index },
    );
    undo.push(() => rpc.close());
    stopPoint();
    // 4. Listeners.
    await rpc.listen();
    const boundRpc = rpc.address();
    let metricsAddress: string | undefined;
    if (config.instrumentation.prometheus) {
      const server = await metricsServer(metrics, config.instrumentation.prometheus_listen_addr);
      undo.push(() => closeServer(server));
      const a = server.address() as { address: string; port: number };
      metricsAddress = formatHostPort(a.address, a.port);
    }
    stopPoint();
    // 5. Network.
    await startNetwork(network, config);
    undo.push(() => network.stop());
    undo.push(() => unsafe.stop());
    stopPoint();
    // 6. Node. Block sync decides from the peers connected when the node starts: give the configured ones a moment.
    const configured = splitList(config.p2p.persistent_peers).length + splitList(config.p2p.seeds).length;
    if (config.block_sync && configured > 0)
      await waitForPeer(network, parseDurationMs(config.blocksync.peer_wait) ?? 0, signal);
    stopPoint();
    let haltReached: (height: number) => void = () => {};
    const haltHeightReached = new Promise<number>((resolve) => {
      haltReached = resolve;
    });
    let haltTimer: NodeJS.Timeout | undefined;
    const offHalt = node.on('halt-height', (e) => {
      log.info('halt height reached: stopping', {
        event: 'halt_height',
        height: e.height,
        haltHeight: config.consensus.halt_height,
        graceMs: HALT_GRACE_MS,
      });
      // Peers still answered meanwhile: a node one height behind fetches the last block and halts too.
      haltTimer = setTimeout(() => haltReached(e.height), HALT_GRACE_MS);
    });
    undo.push(() => {
      offHalt();
      clearTimeout(haltTimer);
    });
    const observer: NodeObserver = observeNode(node, storage, metrics, logger, {
      address: signer.address,
      application,
    });
    undo.push(() => observer.close());
    const started = node;
    undo.push(() => started.stop());
    // A stop asked while the node starts ends its start at the next step or block (handshake replay, block sync).
    const stopNode = (): void => {
      // A failure of this stop shows again in the undo's (the node's stop then finishes what is left).
      started.stop().catch(() => {});
    };
    signal?.addEventListener('abort', stopNode, { once: true });
    nodeStarting = true;
    try {
      await started.start();
    } finally {
      signal?.removeEventListener('abort', stopNode);
    }
    stopPoint();
    const s = started.status();
    log.info('synodd started', {
      version: DAEMON_VERSION,
      chainId: genesis.chainId,
      height: s.height,
      appHash: s.appHash,
      peerId,
      validator: toHex(signer.address),
      p2p: network.addresses(),
      rpc: `tcp://${formatHostPort(boundRpc.address, boundRpc.port)}`,
      ...(metricsAddress === undefined ? {} : { metrics: `http://${metricsAddress}/metrics` }),
    });
    let stopping: Promise<void> | undefined;
    return {
      node: started,
      peerId,
      rpcAddress: formatHostPort(boundRpc.address, boundRpc.port),
      metricsAddress,
      logger,
      haltHeightReached,
      stop() {
        stopping ??= (async () => {
          log.info('synodd stopping');
          await undoAll(undo, logger);
          const end = started.status();
          log.info('synodd stopped', {
            height: end.height,
            lastBlockHash: end.lastBlockHash,
            appHash: end.appHash,
          });
          daemonLogger.flush();
        })();
        return stopping;
      },
    };
  } catch (err) {
    if (err instanceof StartStopped)
      log.info('synodd stopping', { during: 'start', reason: String(signal?.reason) });
    await undoAll(undo, logger);
    if (err instanceof StartStopped) {
      const end = nodeStarting ? node?.status() : undefined;
      log.info(
        'synodd stopped',
        end !== undefined
          ? { height: end.height, lastBlockHash: end.lastBlockHash, appHash: end.appHash }
          : { height: stored?.height ?? 0, appHash: toHex(stored?.appHash ?? new Uint8Array()) },
      );
    }
    daemonLogger.flush();
    throw err;
  }
}

/** Resolves when `network` has a connected peer, after `ms`, or when `signal` aborts. */
async function waitForPeer(network: Network, ms: number, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + ms;
  while (network.connectedPeers().length === 0 && Date.now() < deadline && signal?.aborted !== true)
    await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Connected peers for the RPC's `net_info`. */
function connectedPeers(network: Network): RpcPeer[] {
  return network
    .peers()
    .filter((p) => p.connected)
    .map((p) => ({ id: p.id, address: p.addresses[0] ?? '', outbound: p.kind !== 'inbound' }));
}

/**
 * The RPC's `dial_seeds` / `dial_peers` (`[rpc] unsafe`): each address
 * (`ID@HOST:PORT` or a multiaddr ending in /p2p/ID) checked, then dialled once
 * in the background (a failed dial is logged). Peers are not made persistent:
 * that list is `[p2p] persistent_peers`.
 */
async function dialPeers(
  network: Network,
  peers: readonly string[],
  options: { readonly persistent: boolean },
  logger: Logger,
): Promise<void> {
  if (options.persistent)
    throw new SynodError(
      'CONFIG_INVALID',
      'persistent peers come from [p2p] persistent_peers; dial them without persistent',
    );
  const addresses = peers.map((p) => {
    const address = peerMultiaddr(p);
    if (address === undefined)
      throw new SynodError('CONFIG_INVALID', `${p}: not ID@HOST:PORT or a multiaddr ending in /p2p/ID`);
    return address;
  });
  const log = logger.child({ module: 'p2p' });
  for (const address of addresses)
    network
      .dial(address)
      .catch((err: unknown) =>
        log.info('dial asked over RPC failed', { address, error: (err as Error).message }),
      );
}

/** The worker threads `verify_workers` asks for on this machine. */
export function verifyWorkers(setting: DaemonConfig['verify_workers']): number {
  return setting === 'auto' ? Math.min(availableParallelism(), VERIFY_WORKERS_AUTO_MAX) : setting;
}

function networkOptions(
  config: DaemonConfig,
  genesis: Genesis,
  nodeKey: KeyPair,
  validation: ChainView,
  logger: Logger,
  metrics: PromMetrics,
): Parameters<typeof createNetwork>[0] {
  const listenAddr = listenMultiaddr(config.p2p.laddr);
  if (listenAddr === undefined)
    throw new SynodError('CONFIG_INVALID', `[p2p] laddr ${config.p2p.laddr}: malformed`);
  const peers = (list: string): string[] => splitList(list).map((p) => peerMultiaddr(p) as string);
  const announce = splitList(config.p2p.external_address).map((a) => {
    const ma = listenMultiaddr(a);
    if (ma !== undefined) return ma;
    return hostPortMultiaddr(parseHostPort(a, true) as NonNullable<ReturnType<typeof parseHostPort>>);
  });
  return {
    chainId: genesis.chainId,
    softwareVersion: DAEMON_VERSION,
    nodeKey,
    listen: [listenAddr],
    ...(announce.length === 0 ? {} : { announce }),
    persistentPeers: peers(config.p2p.persistent_peers),
    bootstrapPeers: peers(config.p2p.seeds),
    validation,
    consensusParams: genesis.consensusParams,
    peerManager: {
      maxPeers: config.p2p.max_peers,
      dialTimeoutMs: parseDurationMs(config.p2p.dial_timeout) ?? 5000,
      allowPrivateAddresses: !config.p2p.addr_book_strict,
      privatePeerIds: splitList(config.p2p.private_peer_ids),
    },
    logger,
    metrics,
    clock: wallClock,
  };
}

async function startNetwork(network: Network, config: DaemonConfig): Promise<void> {
  try {
    await network.start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const text = `${(err as Error).message}`;
    const inUse = code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(text);
    throw new SynodError(
      'CONFIG_INVALID',
      `[p2p] laddr ${config.p2p.laddr}: cannot listen: ${inUse ? 'the address is in use (another synodd or program listens there)' : text}`,
      { cause: err },
    );
  }
}
