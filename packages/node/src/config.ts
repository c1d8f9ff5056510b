/**
 * `createNode`'s two arguments: the components (the ports the node talks to)
 * and the init (plain configuration, a default for every field but the
 * genesis).
 */
import { TIMEOUT_SCALE_MAX, TIMEOUT_SCALE_MIN } from '@synod/consensus';
import type { VerifyItem } from '@synod/crypto';
import type { MempoolOptions } from '@synod/mempool';
import type { NodeStorage } from '@synod/storage';
import {
  type Application,
  type Clock,
  type Genesis,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  type Signer,
  SynodError,
} from '@synod/types';
import type { NodeTransport } from './transport.js';

/** The Ed25519 (ZIP-215) signature check; a host with a verified-signature cache passes its own. */
export type VerifySignature = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** `VerifySignature` for many signatures at once, answered later (e.g. by worker threads). */
export type VerifySignatures = (items: readonly VerifyItem[]) => Promise<readonly boolean[]>;

/** The ports: everything the node talks to, and nothing else. */
export interface NodeComponents {
  /** Block, state and evidence stores, WAL and signer state (@synod/storage; memory or LevelDB). */
  readonly storage: NodeStorage;
  /** The ABCI-style application (e.g. @synod/ledger over `storage.state.appState`). */
  readonly application: Application;
  readonly transport: NodeTransport;
  /** Time and timers: the wall clock in the daemon, the simulated clock in the simulator. */
  readonly clock: Clock;
  /** The validator's signer, or null for a node that only follows the chain. */
  readonly signer: Signer | null;
  /** Consensus signature check (votes, proposals, commits, evidence). Default: @synod/crypto's `verify`. */
  readonly verifySignature?: VerifySignature;
  /**
   * The same check for many signatures, answered later: a host with a pool of
   * verifying worker threads passes it (its answers must be
   * `verifySignature`'s, or false unchecked after a rejected one (the
   * batch is refused anyway), and what it accepts `verifySignature` must then
   * answer from memory, as @synod/crypto's `createVerifyCache({ pool })`
   * does). Gossiped transaction batches have their signatures checked with
   * it, off the event loop (the transport's gossip validation). Submitted
   * transactions (`broadcastTx`) are not: the RPC adds a batch's
   * transactions one after another, and a wait for a worker per transaction
   * cut a client's submission rate by half in the cluster bench. Default:
   * none (every signature is checked by `verifySignature` where it is
   * needed).
   */
  readonly verifySignatures?: VerifySignatures;
  /** Default: no logging. */
  readonly logger?: Logger;
  /** Default: no metrics. */
  readonly metrics?: Metrics;
}

/** Plain configuration. Every field but `genesis` has a default (`NODE_DEFAULTS`). */
export interface NodeInit {
  /** The chain's genesis (chain id, time, initial height, consensus params, validators, app state). */
  readonly genesis: Genesis;
  /** Mempool limits (@synod/mempool's `MempoolOptions`, without its ports). @default @synod/mempool's MEMPOOL_DEFAULTS */
  readonly mempool?: Omit<MempoolOptions, 'clock' | 'logger' | 'metrics' | 'height'>;
  /** Most pending evidence items kept in memory. @default 10_000 */
  readonly evidencePendingMax?: number;
  /** Heights remembered by the conflicting-commit monitor. @default 1000 */
  readonly commitMonitorHeights?: number;
  /** Block times of recent heights kept in memory for evidence checks (older ones are read from the block store). @default 10_000 */
  readonly blockTimesCacheHeights?: number;
  /** Blocks asked for in one block-range request of block sync. @default 16 */
  readonly syncBatchBlocks?: number;
  /** Block-range requests of block sync in flight at once, spread over the peers that have the blocks. @default 4 */
  readonly syncParallelRequests?: number;
  /**
   * Block sync at start: catch up from peers when one of them is at least this
   * many heights ahead; 0 disables block sync. @default 2
   */
  readonly syncLagHeights?: number;
  /** Blocks of the height being decided kept to answer block-by-hash requests. @default 64 */
  readonly recentBlocksMax?: number;
  /**
   * The liveness loop's period: every this many milliseconds a node whose
   * height has not advanced since the last tick asks one peer (in turn) what
   * it holds for its height and round (the `consensus` protocol); 0 disables
   * the loop. @default 1000
   */
  readonly livenessIntervalMs?: number;
  /**
   * Ticks without progress after which the liveness loop block-syncs from a
   * peer that decided our height, even when it is only one height ahead, once
   * a commit of that height pulled before did not make our engine decide
   * (e.g. it holds an equivocator's other vote). @default 3
   */
  readonly livenessSyncTicks?: number;
  /**
   * While running, a node fewer than this many heights behind a peer catches
   * up through its running engine: the liveness loop pulls each decided
   * height (its block and commit) one request after another, and the engine
   * decides it and goes on with the next height's buffered messages. Block
   * sync (the engine stopped, restarted at the new height) is for a node this
   * many heights behind or more (and at least `syncLagHeights`): a sync of a
   * few heights behind a chain faster than a liveness tick ends behind again,
   * without the current height's messages, and the node may never take part
   * in consensus. @default 8
   */
  readonly livenessCatchUpHeights?: number;
  /**
   * Gossip again, every this many heights, the transactions submitted to this
   * node (`broadcastTx`) that it still holds and accepted at least that many
   * heights before (only those: every holder re-gossiping would send each one
   * once per node; at most
   * `TX_REGOSSIP_MAX` per time, oldest first). Gossip
   * delivers a message once and only to the peers of that moment: a
   * transaction accepted while the node had no peer on the topic, or lost
   * on the way, would otherwise wait for ever in the mempool of a node that
   * may never propose (a non-validator's). Receivers that hold it already
   * drop it as a duplicate, without blame. On libp2p a batch whose bytes
   * this node already published (a lone transaction gossiped alone again) is
   * refused by gossipsub's seen cache until that expires (`seenTTL`, 120 s),
   * so recovery then takes up to that long; a batch of several pending
   * transactions is new bytes and goes out at once. 0: never. @default 10
   */
  readonly txRegossipHeights?: number;
  /**
   * Node-local multiplier of the chain's round and commit timeouts, in
   * [0.1, 10] (@synod/consensus's `scaleTimeouts`): above 1 for slow links
   * (fewer rounds lost to votes arriving late; a silent proposer costs more
   * time), below 1 for fast ones. @default 1
   */
  readonly timeoutScale?: number;
  /**
   * Coordinated upgrades: after committing this height the node starts no
   * next height (block sync stops there too) and emits `halt-height`; a node
   * that already holds it refuses to start (CONFIG_INVALID). 0: never. @default 0
   */
  readonly haltHeight?: number;
}

/** Most transactions gossiped again per time (`txRegossipHeights`). */
export const TX_REGOSSIP_MAX = 64;
/** Most transactions submitted to this node that it remembers for re-gossip (oldest forgotten first). */
export const TX_LOCAL_TRACKED_MAX = 10_000;

export const NODE_DEFAULTS = Object.freeze({
  evidencePendingMax: 10_000,
  commitMonitorHeights: 1000,
  blockTimesCacheHeights: 10_000,
  syncBatchBlocks: 16,
  syncParallelRequests: 4,
  syncLagHeights: 2,
  recentBlocksMax: 64,
  livenessIntervalMs: 1000,
  livenessSyncTicks: 3,
  livenessCatchUpHeights: 8,
  txRegossipHeights: 10,
  timeoutScale: 1,
  haltHeight: 0,
});

export interface ResolvedInit {
  readonly genesis: Genesis;
  readonly chainId: string;
  readonly mempool: Omit<MempoolOptions, 'clock' | 'logger' | 'metrics' | 'height'>;
  readonly evidencePendingMax: number;
  readonly commitMonitorHeights: number;
  readonly blockTimesCacheHeights: number;
  readonly syncBatchBlocks: number;
  readonly syncParallelRequests: number;
  readonly syncLagHeights: number;
  readonly recentBlocksMax: number;
  readonly livenessIntervalMs: number;
  readonly livenessSyncTicks: number;
  readonly livenessCatchUpHeights: number;
  readonly txRegossipHeights: number;
  readonly timeoutScale: number;
  readonly haltHeight: number;
}

function integer(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min)
    throw new SynodError('CONFIG_INVALID', `node.${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function timeoutScale(value: number): number {
  if (!Number.isFinite(value) || value < TIMEOUT_SCALE_MIN || value > TIMEOUT_SCALE_MAX)
    throw new SynodError(
      'CONFIG_INVALID',
      `node.timeoutScale must be in [${TIMEOUT_SCALE_MIN}, ${TIMEOUT_SCALE_MAX}], got ${value}`,
    );
  return value;
}

/** Applies the defaults and checks every value; throws SynodError('CONFIG_INVALID'). */
export function resolveInit(init: NodeInit): ResolvedInit {
  const d = NODE_DEFAULTS;
  const genesis = init.genesis;
  // Limit of this version: the first block is height 1 (the block store starts there).
  if (genesis.initialHeight !== 1)
    throw new SynodError(
      'CONFIG_INVALID',
      `node: genesis.initialHeight must be 1, got ${genesis.initialHeight}`,
    );
  return {
    genesis,
    chainId: genesis.chainId,
    mempool: init.mempool ?? {},
    evidencePendingMax: integer('evidencePendingMax', init.evidencePendingMax ?? d.evidencePendingMax, 1),
    commitMonitorHeights: integer(
      'commitMonitorHeights',
      init.commitMonitorHeights ?? d.commitMonitorHeights,
      1,
    ),
    blockTimesCacheHeights: integer(
      'blockTimesCacheHeights',
      init.blockTimesCacheHeights ?? d.blockTimesCacheHeights,
      1,
    ),
    syncBatchBlocks: integer('syncBatchBlocks', init.syncBatchBlocks ?? d.syncBatchBlocks, 1),
    syncParallelRequests: integer(
      'syncParallelRequests',
      init.syncParallelRequests ?? d.syncParallelRequests,
      1,
    ),
    syncLagHeights: integer('syncLagHeights', init.syncLagHeights ?? d.syncLagHeights, 0),
    recentBlocksMax: integer('recentBlocksMax', init.recentBlocksMax ?? d.recentBlocksMax, 1),
    livenessIntervalMs: integer('livenessIntervalMs', init.livenessIntervalMs ?? d.livenessIntervalMs, 0),
    livenessSyncTicks: integer('livenessSyncTicks', init.livenessSyncTicks ?? d.livenessSyncTicks, 1),
    livenessCatchUpHeights: integer(
      'livenessCatchUpHeights',
      init.livenessCatchUpHeights ?? d.livenessCatchUpHeights,
      1,
    ),
    txRegossipHeights: integer('txRegossipHeights', init.txRegossipHeights ?? d.txRegossipHeights, 0),
    timeoutScale: timeoutScale(init.timeoutScale ?? d.timeoutScale),
    haltHeight: integer('haltHeight', init.haltHeight ?? d.haltHeight, 0),
  };
}

export interface ResolvedComponents {
  readonly storage: NodeStorage;
  readonly application: Application;
  readonly transport: NodeTransport;
  readonly clock: Clock;
  readonly signer: Signer | null;
  readonly verifySignature: VerifySignature;
  readonly verifySignatures: VerifySignatures | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function resolveComponents(c: NodeComponents, defaultVerify: VerifySignature): ResolvedComponents {
  return {
    storage: c.storage,
    application: c.application,
    transport: c.transport,
    clock: c.clock,
    signer: c.signer,
    verifySignature: c.verifySignature ?? defaultVerify,
    verifySignatures: c.verifySignatures,
    logger: (c.logger ?? noopLogger).child({ module: 'node' }),
    metrics: c.metrics ?? noopMetrics,
  };
}
