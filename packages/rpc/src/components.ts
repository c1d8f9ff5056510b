/**
 * `createRpcServer`'s components: what the RPC reads and drives — the node
 * (a narrow view of @synod/node's `SynodNode`), its storage, the
 * application, the genesis, the RPC's own store, who this node is, and the
 * host's logger and metrics.
 */
import type { SynodNode } from '@synod/node';
import type { KvStore, NodeStorage } from '@synod/storage';
import type { Application, Genesis, Logger, Metrics } from '@synod/types';

/**
 * What the RPC uses of a node: @synod/node's `SynodNode` satisfies it as it
 * is — `status`, `broadcastTx`, `query`, `on('block-write')` and `on('block')` (each block's
 * results and validator updates), `unconfirmedTxs` (`unconfirmed_txs`,
 * `num_unconfirmed_txs`), `flushMempool` (`unsafe_flush_mempool`) and
 * `submitEvidence` (`broadcast_evidence`).
 */
export type RpcNode = Pick<
  SynodNode,
  'status' | 'broadcastTx' | 'query' | 'on' | 'unconfirmedTxs' | 'flushMempool' | 'submitEvidence'
>;

/** Who this node is, for `status` and `net_info`. */
export interface RpcNodeInfo {
  /** The P2P identity's Ed25519 public key; the node id is the hex of its address, as CometBFT's. */
  readonly nodeKey: Uint8Array;
  readonly moniker: string;
  /** The P2P listen address (`[p2p] laddr`). */
  readonly listenAddr: string;
  /** The software version (the daemon's), reported after the CometBFT RPC version. */
  readonly version: string;
  /** The P2P wire protocol version (@synod/p2p's `WIRE_VERSION`). */
  readonly p2pProtocolVersion: number;
  /** The validator key's public key (every node has one; a follower's has no power). */
  readonly validatorPubKey: Uint8Array;
  /** Extra `node_info.other` entries (strings), e.g. the libp2p peer id. */
  readonly other?: Readonly<Record<string, string>>;
}

/** A connected peer, for `net_info`. */
export interface RpcPeer {
  /** The peer's id (a libp2p peer id). */
  readonly id: string;
  /** Its remote address, e.g. `/ip4/127.0.0.1/tcp/26656` or `127.0.0.1:26656`. */
  readonly address: string;
  readonly outbound?: boolean;
}

export interface RpcComponents {
  readonly node: RpcNode;
  /** The node's storage: blocks, commits, validator sets and params are read from it. */
  readonly storage: Pick<NodeStorage, 'blocks' | 'state'>;
  /** The node's application (`abci_info`; `check_tx` runs its checkTx). */
  readonly application: Pick<Application, 'info' | 'checkTx'>;
  readonly genesis: Genesis;
  /** genesis.json as the host loaded it (served by `genesis`); default: built from `genesis`. */
  readonly genesisDoc?: unknown;
  /** The RPC's own store (block results, the transaction index): a prefixed view of the node's database. */
  readonly store: KvStore;
  readonly nodeInfo: RpcNodeInfo;
  /** Connected peers for `net_info`; default: none listed (the count comes from the node). */
  readonly peers?: () => readonly RpcPeer[];
  /**
   * `dial_seeds` / `dial_peers` (with `[rpc] unsafe`): dials `peers` (`ID@HOST:PORT` or multiaddrs);
   * resolves once the dials are under way. Default: those methods say the node cannot dial on request.
   */
  readonly dialPeers?: (peers: readonly string[], options: { readonly persistent: boolean }) => Promise<void>;
  /** Default: none. */
  readonly logger?: Logger;
  /** Default: none. */
  readonly metrics?: Metrics;
}
