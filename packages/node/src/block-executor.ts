/**
 * The block executor: the only implementation of the consensus engine's
 * `ConsensusApplication`, over the ABCI-style `Application`, the mempool, the
 * evidence pool and the chain state.
 *
 * - buildBlock: pending evidence (up to `evidence.maxBytes`), then
 *   transactions reaped from the mempool and filtered by `prepareProposal`
 *   within what is left of `block.maxBytes` once the header, the last commit
 *   and the evidence are counted, and within `block.maxGas`.
 * - validateBlock (`blockProblem`): the header against the chain state, the
 *   data hashes, the size limits, the last commit, the evidence, and the
 *   application's `processProposal` — cheap checks first.
 * - finalizeBlock (`execute` + updates): the application executes and
 *   commits the block, the chain state records it, the evidence pool and the
 *   evidence store mark its evidence committed, the mempool drops its
 *   transactions and re-checks the rest, and the `block` event goes out.
 */
import type { BuildBlockRequest, ConsensusApplication, FinalizeBlockResult } from '@synod/consensus';
import type { EvidencePool } from '@synod/fault-detector';
import type { Mempool } from '@synod/mempool';
import type { NodeStorage } from '@synod/storage';
import {
  type Application,
  BLOCK_TX_OVERHEAD_BYTES,
  type Block,
  blockDataProblem,
  blockTxBytesBudget,
  bytesEqual,
  type Clock,
  type Commit,
  type Counter,
  commitHash,
  commitProblem,
  type Evidence,
  encodeBlock,
  evidenceHeight,
  evidenceListHash,
  type FinalizeBlockResponse,
  finalizeRequestFromBlock,
  type Histogram,
  LIMITS,
  type Logger,
  type Metrics,
  processProposalRequestFromBlock,
  SynodError,
  txsRoot,
  type ValidatorSet,
  validatorIndex,
} from '@synod/types';
import { type ChainState, cachedSetHash } from './chain-state.js';
import type { VerifySignature } from './config.js';

/** Why a block is not valid at the next height: a bounded code (a metric label) and a reason. */
export type BlockProblemCode =
  | 'WRONG_CHAIN'
  | 'WRONG_HEIGHT'
  | 'WRONG_PARENT'
  | 'TIME_NOT_INCREASING'
  | 'TIME_TOO_FAR_AHEAD'
  | 'WRONG_VALIDATORS_HASH'
  | 'WRONG_NEXT_VALIDATORS_HASH'
  | 'WRONG_PARAMS_HASH'
  | 'WRONG_APP_HASH'
  | 'WRONG_RESULTS_HASH'
  | 'UNKNOWN_PROPOSER'
  | 'DATA_MISMATCH'
  | 'TOO_LARGE'
  | 'BAD_LAST_COMMIT'
  | 'BAD_EVIDENCE'
  | 'APP_REJECTED';

export interface BlockProblem {
  readonly code: BlockProblemCode;
  readonly reason: string;
}

export interface BlockExecutorPorts {
  readonly application: Application;
  readonly storage: NodeStorage;
  readonly chain: ChainState;
  readonly mempool: Mempool;
  readonly evidencePool: EvidencePool;
  readonly clock: Clock;
  readonly verifySignature: VerifySignature;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * A block was executed (consensus or block sync), inside a write group:
   * the node emits `block-write` now and `block` once the group is written.
   */
  readonly onExecuted: (block: Block, commit: Commit, response: FinalizeBlockResponse) => void;
  /**
   * Runs `fn` in one write group (`NodeStorage.writeGroup`) and announces
   * the blocks it executed once the group is written; default: the
   * storage's `writeGroup`.
   */
  readonly writeGroup?: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * A verified commit for another block than ours at our last height (a fork
   * proof, see `blockProblem`): the node hands it to its commit monitor,
   * which raises the security alert.
   */
  readonly observeCommit?: (commit: Commit) => void;
}

const problem = (code: BlockProblemCode, reason: string): BlockProblem => ({ code, reason });

/** Buckets of `synod_node_block_phase_seconds`: 1 ms to 30 s. */
const PHASE_BUCKETS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30];

/** Longest application reason kept in a block problem (and so in a log line). */
const REASON_CHARS_MAX = 500;

/** The reason of a rejection, bounded; an application that returns anything but a verdict gets a placeholder. */
function rejection(verdict: unknown): string {
  const reason =
    typeof verdict === 'object' &&
    verdict !== null &&
    typeof (verdict as { reject?: unknown }).reject === 'string'
      ? (verdict as { reject: string }).reject
      : `no reason given (${typeof verdict === 'string' ? verdict : typeof verdict})`;
  return reason.length > REASON_CHARS_MAX ? `${reason.slice(0, REASON_CHARS_MAX)}…` : reason;
}

export class BlockExecutor implements ConsensusApplication {
  readonly #p: BlockExecutorPorts;
  readonly #rejected: Counter;
  readonly #executed: Counter;
  readonly #seconds: Histogram;

  constructor(ports: BlockExecutorPorts) {
    this.#p = ports;
    this.#rejected = ports.metrics.counter({
      name: 'synod_node_blocks_rejected_total',
      help: 'Proposed or synced blocks found invalid, by reason',
      labelNames: ['code'],
    });
    this.#executed = ports.metrics.counter({
      name: 'synod_node_blocks_executed_total',
      help: 'Blocks executed by the application (consensus, block sync and handshake replay)',
    });
    this.#seconds = ports.metrics.histogram({
      name: 'synod_node_block_phase_seconds',
      help: 'Time per block in each phase: build (reap + prepareProposal), validate (a proposed block, processProposal included), execute (finalizeBlock, chain state, commit), mempool (update and recheck)',
      labelNames: ['phase'],
      buckets: PHASE_BUCKETS,
    });
  }

  /**
   * Runs `fn`, observing its time under `phase` by the node's clock (the
   * daemon's wall clock, in ms; the simulator's virtual one). A metric only:
   * it never feeds a decision.
   */
  async #timed<T>(phase: 'build' | 'validate' | 'execute' | 'mempool', fn: () => Promise<T>): Promise<T> {
    const { clock } = this.#p;
    const t0 = clock.now();
    try {
      return await fn();
    } finally {
      this.#seconds.observe(Math.max(0, clock.now() - t0) / 1000, { phase });
    }
  }

  // ------------------------------------------------------------------ proposal

  /** The paper's getValue(): the block this validator proposes at `request.height`. */
  buildBlock(request: BuildBlockRequest): Promise<Block> {
    return this.#timed('build', () => this.#build(request));
  }

  async #build(request: BuildBlockRequest): Promise<Block> {
    const { chain, evidencePool, mempool, application } = this.#p;
    const s = chain.snapshot;
    const h = request.height;
    if (h !== s.height + 1)
      throw new SynodError('INTERNAL', `building a block for height ${h}, the chain is at ${s.height}`);
    const params = s.params;
    const timeMs = Math.max(request.timeMs, s.lastBlockTimeMs + 1);
    const evidence = evidencePool.pending(params.evidence.maxBytes).slice(0, LIMITS.blockEvidenceMax);
    const assemble = (txs: readonly Uint8Array[]): Block =>
      this.#assemble(h, timeMs, request.proposerAddress, request.lastCommit, txs, evidence);
    // The budget counts everything but the transactions: header, last commit, evidence.
    const txBudget = blockTxBytesBudget(params.block.maxBytes, assemble([]));
    const candidates = mempool.reap({
      maxBytes: txBudget,
      maxGas: params.block.maxGas,
      maxTxs: LIMITS.blockTxsMax,
      txOverheadBytes: BLOCK_TX_OVERHEAD_BYTES,
    });
    const prepared = await application.prepareProposal({
      height: h,
      timeMs,
      proposerAddress: request.proposerAddress,
      maxBytes: txBudget,
      maxGas: params.block.maxGas,
      txs: candidates,
    });
    // The application may return other transactions than it was given: hold it to the budget.
    const txs: Uint8Array[] = [];
    let bytes = 0;
    for (const tx of prepared.txs) {
      if (txs.length >= LIMITS.blockTxsMax || bytes + tx.length + BLOCK_TX_OVERHEAD_BYTES > txBudget) break;
      bytes += tx.length + BLOCK_TX_OVERHEAD_BYTES;
      txs.push(tx);
    }
    if (txs.length < prepared.txs.length)
      this.#p.logger.warn('prepareProposal returned more than the block budget', {
        height: h,
        returned: prepared.txs.length,
        kept: txs.length,
      });
    return assemble(txs);
  }

  #assemble(
    height: number,
    timeMs: number,
    proposerAddress: Uint8Array,
    lastCommit: Commit,
    txs: readonly Uint8Array[],
    evidence: readonly Evidence[],
  ): Block {
    const { chain } = this.#p;
    const s = chain.snapshot;
    return {
      header: {
        chainId: chain.chainId,
        height,
        timeMs,
        lastBlockHash: s.lastBlockHash,
        txsRoot: txsRoot(txs),
        validatorsHash: cachedSetHash(chain.setAt(height) as ValidatorSet),
        nextValidatorsHash: cachedSetHash(chain.setAt(height + 1) as ValidatorSet),
        consensusParamsHash: chain.paramsHash,
        appHash: s.appHash,
        lastResultsHash: s.lastResultsHash,
        evidenceHash: evidenceListHash(evidence),
        lastCommitHash: commitHash(lastCommit),
        proposerAddress,
      },
      txs,
      evidence,
      lastCommit,
    };
  }

  // ------------------------------------------------------------------ validation

  /** The paper's valid(v). */
  async validateBlock(block: Block): Promise<boolean> {
    const found = await this.#timed('validate', () => this.blockProblem(block, { proposal: true }));
    if (found === undefined) return true;
    this.#rejected.inc({ code: found.code });
    this.#p.logger.warn('invalid block', {
      height: block.header.height,
      code: found.code,
      reason: found.reason,
    });
    return false;
  }

  /**
   * Why `block` is not valid at the next height, or undefined when it is.
   * `proposal`: the block is being proposed now, so its time must not be
   * further ahead of our clock than `block.maxTimeDriftMs` (a synced block is
   * judged by its commit, not by our clock).
   */
  async blockProblem(
    block: Block,
    options: { readonly proposal: boolean },
  ): Promise<BlockProblem | undefined> {
    const { chain, clock } = this.#p;
    const s = chain.snapshot;
    const hd = block.header;
    const h = s.height + 1;
    // Header against the chain state: comparisons only.
    if (hd.chainId !== chain.chainId) return problem('WRONG_CHAIN', `chain ${hd.chainId}`);
    if (hd.height !== h) return problem('WRONG_HEIGHT', `height ${hd.height}, expected ${h}`);
    if (!bytesEqual(hd.lastBlockHash, s.lastBlockHash)) {
      this.#forkProof(block);
      return problem('WRONG_PARENT', 'wrong parent hash');
    }
    if (hd.timeMs <= s.lastBlockTimeMs)
      return problem('TIME_NOT_INCREASING', `time ${hd.timeMs} is not after ${s.lastBlockTimeMs}`);
    if (options.proposal && hd.timeMs > clock.now() + s.params.block.maxTimeDriftMs)
      return problem('TIME_TOO_FAR_AHEAD', `time ${hd.timeMs} is more than block.maxTimeDriftMs ahead`);
    const set = chain.setAt(h) as ValidatorSet;
    if (!bytesEqual(hd.validatorsHash, cachedSetHash(set)))
      return problem('WRONG_VALIDATORS_HASH', 'wrong validators hash');
    if (!bytesEqual(hd.nextValidatorsHash, cachedSetHash(chain.setAt(h + 1) as ValidatorSet)))
      return problem('WRONG_NEXT_VALIDATORS_HASH', 'wrong next validators hash');
    if (!bytesEqual(hd.consensusParamsHash, chain.paramsHash))
      return problem('WRONG_PARAMS_HASH', 'wrong consensus params hash');
    if (!bytesEqual(hd.appHash, s.appHash)) return problem('WRONG_APP_HASH', 'wrong app hash');
    if (!bytesEqual(hd.lastResultsHash, s.lastResultsHash))
      return problem('WRONG_RESULTS_HASH', 'wrong last results hash');
    // Membership only: validity is per block for the whole height (no round is given), and a block
    // re-proposed with its proof of lock keeps the proposer of the round it was built in. That the
    // proposer of a fresh proposal (polRound -1) is its signer is the proposal's rule, not the block's.
    if (validatorIndex(set, hd.proposerAddress) < 0)
      return problem('UNKNOWN_PROPOSER', 'the proposer is not a validator of the height');
    // Counts, then hashes and size of the contents.
    if (block.txs.length > LIMITS.blockTxsMax) return problem('TOO_LARGE', 'too many transactions');
    if (block.evidence.length > LIMITS.blockEvidenceMax)
      return problem('TOO_LARGE', 'too many evidence items');
    const data = blockDataProblem(block);
    if (data !== undefined) return problem('DATA_MISMATCH', data);
    const size = encodeBlock(block).length;
    if (size > s.params.block.maxBytes)
      return problem('TOO_LARGE', `${size} bytes, above block.maxBytes (${s.params.block.maxBytes})`);
    // Signatures: the last commit, then the evidence.
    const lastCommit = this.#lastCommitProblem(block);
    if (lastCommit !== undefined) return problem('BAD_LAST_COMMIT', lastCommit);
    const evidence = await this.#evidenceProblem(block.evidence);
    if (evidence !== undefined) return problem('BAD_EVIDENCE', evidence);
    // The application: transactions and misbehaviour.
    const verdict = await this.#p.application.processProposal(processProposalRequestFromBlock(block));
    if (verdict !== 'accept') return problem('APP_REJECTED', `processProposal: ${rejection(verdict)}`);
    return undefined;
  }

  /**
   * A block of the next height built on another block than our last one,
   * whose last commit for that parent verifies against the validator set of
   * our last height: two valid commits for different blocks at one height,
   * so more than 1/3 of the power signed both. The commit goes to the commit
   * monitor (`observeCommit`), which raises the security alert. Costs one
   * commit verification per such block; the engine validates only blocks
   * vouched for by a verified proposal or a voted hash, block sync only
   * blocks whose own commit verified, and a Byzantine minority cannot make
   * such a commit verify.
   */
  #forkProof(block: Block): void {
    const { chain, verifySignature, observeCommit } = this.#p;
    const h = chain.height;
    const c = block.lastCommit;
    if (observeCommit === undefined || h < 1 || c.height !== h) return;
    if (!bytesEqual(c.blockHash, block.header.lastBlockHash)) return;
    const set = chain.setAt(h);
    if (set === undefined) return;
    const bad = commitProblem(chain.chainId, set, c, { height: h, blockHash: c.blockHash, verifySignature });
    if (bad === undefined) observeCommit(c);
  }

  #lastCommitProblem(block: Block): string | undefined {
    const { chain, verifySignature } = this.#p;
    const h = block.header.height;
    const c = block.lastCommit;
    if (h === 1)
      return c.height === 0 && c.signatures.length === 0 ? undefined : 'the first block has a commit';
    const set = chain.setAt(h - 1);
    if (set === undefined) return `the validator set of height ${h - 1} is unknown`;
    return commitProblem(chain.chainId, set, c, {
      height: h - 1,
      blockHash: chain.snapshot.lastBlockHash,
      verifySignature,
    });
  }

  async #evidenceProblem(list: readonly Evidence[]): Promise<string | undefined> {
    if (list.length === 0) return undefined;
    const { chain, evidencePool, storage, verifySignature } = this.#p;
    // The durable record first: the pool forgets committed evidence at a restart, the store does not.
    for (const ev of list) {
      if ((await storage.evidence.status(ev)) === 'committed') return 'evidence already committed';
    }
    const ctx = await chain.evidenceContext(list.map(evidenceHeight), verifySignature);
    return evidencePool.blockEvidenceProblem(list, ctx);
  }

  // ------------------------------------------------------------------ execution

  /** Executes the next block (see `executeBlock`). */
  async execute(block: Block): Promise<FinalizeBlockResponse> {
    const response = await this.#timed('execute', () =>
      executeBlock(this.#p.application, this.#p.chain, block),
    );
    this.#executed.inc();
    return response;
  }

  /**
   * Step 6 of the engine's effect order: the decided block (already in the
   * block store) is executed. Its chain state, application state, evidence
   * and RPC index records are written in one atomic batch
   * (`NodeStorage.writeGroup`) before this returns, so before the engine
   * ends the height in its WAL.
   */
  async finalizeBlock(block: Block, commit: Commit): Promise<FinalizeBlockResult> {
    const group = this.#p.writeGroup ?? ((fn) => this.#p.storage.writeGroup(fn));
    const response = await group(async () => {
      const executed = await this.execute(block);
      await this.afterExecute(block, commit, executed);
      return executed;
    });
    const h = block.header.height;
    const next = this.#p.chain.setAt(h + 1) as ValidatorSet;
    return response.consensusParamUpdates === undefined
      ? { nextValidatorSet: next }
      : { nextValidatorSet: next, consensusParams: response.consensusParamUpdates };
  }

  /** After a block is executed: evidence marked committed, mempool updated, the event out. */
  async afterExecute(block: Block, commit: Commit, response: FinalizeBlockResponse): Promise<void> {
    const { chain, evidencePool, mempool, storage, verifySignature } = this.#p;
    const h = block.header.height;
    if (block.evidence.length > 0) await storage.evidence.markCommitted(block.evidence, h);
    const ctx = await chain.evidenceContext(block.evidence.map(evidenceHeight), verifySignature);
    evidencePool.update(block.evidence, ctx);
    await this.#timed('mempool', () => mempool.update(h, block.txs));
    this.#p.logger.debug('block executed', { height: h, txs: block.txs.length });
    this.#p.onExecuted(block, commit, response);
  }
}

/**
 * Executes the next block in the application and records it: finalizeBlock,
 * then the chain state (one state batch), then the
 * application's commit. The one path for consensus, block sync and the
 * handshake's replay.
 */
export async function executeBlock(
  application: Application,
  chain: ChainState,
  block: Block,
): Promise<FinalizeBlockResponse> {
  const h = block.header.height;
  const request = finalizeRequestFromBlock(block, h > 1 ? chain.setAt(h - 1) : undefined);
  const response = await application.finalizeBlock(request);
  await chain.record(block, response);
  await application.commit();
  return response;
}
