/**
 * The application interface, in the spirit of CometBFT's ABCI 2.0: the node
 * drives it; the default implementation is @synod/ledger, and another
 * application can be plugged in. Every method must be deterministic given the
 * same sequence of calls (no clock, randomness or environment): block time and
 * heights come in as arguments.
 */
import type { ConsensusParams } from './params.js';

/** A change to the validator set: `power: 0` removes the validator. */
export interface ValidatorUpdate {
  readonly pubKey: Uint8Array;
  readonly power: number;
}

/** Result code of a transaction: 'OK', or a bounded UPPER_SNAKE reason. */
export type TxCode = string;

export interface AppInfo {
  /** Height of the last block the application committed (0 before the first). */
  readonly lastBlockHeight: number;
  /** App hash after that block (the genesis app hash at height 0). */
  readonly lastBlockAppHash: Uint8Array;
  readonly appVersion: string;
}

export interface InitChainRequest {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly initialHeight: number;
  readonly consensusParams: ConsensusParams;
  readonly validators: readonly ValidatorUpdate[];
  /** genesis.json's appState (the application validates it). */
  readonly appState: unknown;
}

export interface InitChainResponse {
  readonly appHash: Uint8Array;
  /** Replaces the genesis validators when present. */
  readonly validators?: readonly ValidatorUpdate[];
}

export type CheckTxKind = 'new' | 'recheck';

export interface CheckTxResult {
  readonly code: TxCode;
  /** Human-readable reason when code is not 'OK'. */
  readonly log: string;
  /** Sender address (20 bytes), for per-sender nonce ordering in the mempool. */
  readonly sender?: Uint8Array;
  readonly nonce?: number;
  /** Higher is better (the ledger uses the fee). */
  readonly priority?: bigint;
  readonly gasWanted?: number;
}

/** Misbehaviour the application must punish (from committed evidence). */
export interface Misbehavior {
  readonly kind: 'duplicate-vote' | 'double-proposal';
  readonly validatorAddress: Uint8Array;
  readonly height: number;
  readonly timeMs: number;
  readonly validatorPower: number;
  readonly totalVotingPower: number;
}

/** Who signed the previous block (for downtime tracking and fee sharing). */
export interface CommitInfo {
  readonly round: number;
  readonly votes: readonly {
    readonly validatorAddress: Uint8Array;
    readonly power: number;
    /** A precommit for the block or for nil is in the commit; false only when absent. */
    readonly signed: boolean;
  }[];
}

export interface PrepareProposalRequest {
  readonly height: number;
  readonly timeMs: number;
  readonly proposerAddress: Uint8Array;
  readonly maxBytes: number;
  readonly maxGas: number;
  /** Candidate transactions in priority order (from the mempool). */
  readonly txs: readonly Uint8Array[];
}

export interface ProcessProposalRequest {
  readonly height: number;
  readonly timeMs: number;
  readonly proposerAddress: Uint8Array;
  readonly hash: Uint8Array;
  readonly txs: readonly Uint8Array[];
  readonly misbehavior: readonly Misbehavior[];
}

/**
 * The application's verdict on a proposed block: `'accept'`, or a rejection
 * with its reason (which transaction, which rule), which the node reports in
 * its block problem and log — nobody has to scrape the application's log.
 */
export type ProcessProposalVerdict = 'accept' | { readonly reject: string };

export interface FinalizeBlockRequest {
  readonly height: number;
  readonly timeMs: number;
  readonly hash: Uint8Array;
  readonly proposerAddress: Uint8Array;
  readonly txs: readonly Uint8Array[];
  readonly misbehavior: readonly Misbehavior[];
  readonly decidedLastCommit: CommitInfo;
}

export interface TxResult {
  readonly code: TxCode;
  readonly log: string;
  readonly gasUsed: number;
  /** Deterministic events, e.g. `{ type: 'transfer', attributes: { … } }`. */
  readonly events: readonly {
    readonly type: string;
    readonly attributes: Readonly<Record<string, string>>;
  }[];
}

export interface FinalizeBlockResponse {
  readonly txResults: readonly TxResult[];
  /** Changes decided at height H take effect at H + 2. */
  readonly validatorUpdates: readonly ValidatorUpdate[];
  readonly consensusParamUpdates?: ConsensusParams;
  /** App hash after this block (goes into the header of H + 1). */
  readonly appHash: Uint8Array;
}

export interface QueryRequest {
  /** e.g. 'account', 'validator', 'validators', 'params'. */
  readonly path: string;
  readonly data: Uint8Array;
  /** Height to answer for; latest when omitted. */
  readonly height?: number;
}

export interface QueryResponse {
  readonly code: TxCode;
  readonly log: string;
  readonly height: number;
  readonly value: Uint8Array;
}

export interface Application {
  info(): Promise<AppInfo>;
  initChain(req: InitChainRequest): Promise<InitChainResponse>;
  checkTx(tx: Uint8Array, kind: CheckTxKind): Promise<CheckTxResult>;
  prepareProposal(req: PrepareProposalRequest): Promise<{ readonly txs: readonly Uint8Array[] }>;
  processProposal(req: ProcessProposalRequest): Promise<ProcessProposalVerdict>;
  finalizeBlock(req: FinalizeBlockRequest): Promise<FinalizeBlockResponse>;
  /** Persist the state of the last finalized block; returns the lowest height the node must keep. */
  commit(): Promise<{ readonly retainHeight: number }>;
  query(req: QueryRequest): Promise<QueryResponse>;
  /**
   * Optional read of the committed state: whether the validator with this
   * address is tombstoned (it can never be punished again). The node's
   * evidence pool then neither keeps nor gossips evidence against it. Must be
   * answered from memory, without I/O; it never affects a block's validity.
   */
  isTombstoned?(validatorAddress: Uint8Array): boolean;
}
