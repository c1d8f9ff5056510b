import { advanceValidatorSet, type ConsensusApplication, type FinalizeBlockResult } from '@synod/consensus';
import { concatBytes, sha256 } from '@synod/crypto';
import type { AddEvidenceResult } from '@synod/fault-detector';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  type Commit,
  type ConsensusParams,
  commitHash,
  commitProblem,
  consensusParamsHash,
  type Evidence,
  evidenceListHash,
  txsRoot,
  type ValidatorSet,
  validatorIndex,
  validatorSetHash,
  ZERO_HASH,
} from '@synod/types';
import { Rng } from './rng.js';
import type { VerifyFn } from './signatures.js';

/** What every node's application starts from. */
export interface SimAppGenesis {
  readonly chainId: string;
  /** Block time of the genesis (ms since the epoch); blocks start after it. */
  readonly genesisTimeMs: number;
  /** The validator set of the initial height (1). */
  readonly validatorSet: ValidatorSet;
  readonly params: ConsensusParams;
  /** The shared signature check of consensus signatures (commits in blocks, evidence). */
  readonly verify: VerifyFn;
  /** Seeds the pseudo-random transactions proposers put in blocks. */
  readonly seed: number;
}

/** One punishment an application applied (the ledger's `PunishmentEvent`). */
export interface SimPunishment {
  /** Height of the block that applied it. */
  readonly height: number;
  /** The validator's address. */
  readonly validator: Uint8Array;
  readonly reason: 'double-sign' | 'double-proposal' | 'downtime';
  /** Bonded stake burned. */
  readonly slashAmount: bigint;
  /** Jailed until this block time (ms); Number.MAX_SAFE_INTEGER for ever. */
  readonly jailUntilMs: number;
  readonly tombstoned: boolean;
  /** Height of the equivocation (undefined for downtime). */
  readonly infractionHeight: number | undefined;
}

/** A validator's standing in the application's state, after its last finalized block. */
export interface SimValidatorStatus {
  readonly bondedStake: bigint;
  readonly jailed: boolean;
  /** Jailed with no way back (jail end "for ever"). */
  readonly jailedForever: boolean;
  readonly tombstoned: boolean;
  readonly downtimeJails: number;
  readonly equivocations: number;
  /** Stake burned over all punishments. */
  readonly totalBurned: bigint;
}

/** The slashing state of an application that punishes validators (the ledger). */
export interface SimSlashing {
  /** Standing of the validator with `address` (undefined when the application does not know it). */
  status(address: Uint8Array): SimValidatorStatus | undefined;
  /** The punishments applied by the last finalized block, in order (memory only). */
  lastPunishments(): readonly SimPunishment[];
  /**
   * Every punished validator with its counters and jail status, as the
   * application answers it for `height` (a query at a past height): equal on
   * every node that executed the same chain.
   */
  punishedAt(height: number): Promise<string>;
}

/**
 * A node's evidence pool (@synod/fault-detector's EvidencePool), verifying
 * against the chain as the node's application knows it. Memory only: a new
 * incarnation starts with an empty pending set (peers gossip it again).
 */
export interface SimEvidencePool {
  /** Verifies `evidence` at the application's height and keeps it pending. */
  add(evidence: Evidence): AddEvidenceResult;
  /** Pending evidence, oldest first (what a proposer would include, without the byte limit). */
  pending(): readonly Evidence[];
  readonly pendingCount: number;
}

/**
 * One node's application, as the simulator runs it: the consensus port plus
 * what the simulator needs to restart a node and compare final states.
 */
export interface SimApplication extends ConsensusApplication {
  /** The last finalized height (0 before the first block). */
  height(): number;
  /**
   * The validator set that decides `height`: known for every height from 1 to
   * height() + 1 (the ledger application knows height() + 2 as well).
   */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /** Why `block` is not valid at the next height, or undefined when it is (validateBlock's reason). */
  blockProblem(block: Block): Promise<string | undefined>;
  /** Digest of the application state after the last finalized block. */
  stateHash(): Uint8Array;
  /** A well-formed block of the same height that validateBlock rejects (what a Byzantine proposer sends). */
  corrupt(block: Block): Block;
  /**
   * `block` with exactly `evidence` as its evidence (header hashes made to
   * match), when the application takes evidence in blocks: what a Byzantine
   * proposer uses to put forged evidence in a block.
   */
  withEvidence?(block: Block, evidence: readonly Evidence[]): Block;
  /** The node's evidence pool, when the application takes evidence in blocks. */
  readonly evidence?: SimEvidencePool;
  /** The application's slashing state, when it punishes validators. */
  readonly slashing?: SimSlashing;
}

/** A node's application storage: it survives crashes; `open()` runs the application over it. */
export interface SimAppStorage {
  open(): Promise<SimApplication>;
}

/** A kind of application: creates the storage of each node. */
export interface SimApplicationFactory {
  readonly name: string;
  /** The application jails validators for downtime (the scenario then keeps commit waits above network delays). */
  readonly punishes?: boolean;
  createNode(genesis: SimAppGenesis): SimAppStorage;
}

const TX_ADD = 0x01;
/** A transaction starting with this byte makes a block invalid (only Byzantine proposers put it in). */
export const TX_POISON = 0xff;

interface CounterState {
  readonly height: number;
  readonly lastBlockHash: Uint8Array;
  readonly lastBlockTimeMs: number;
  readonly counter: number;
  readonly appHash: Uint8Array;
  /** Validator sets by height (index), 1 .. height + 1: only ever appended to. */
  readonly sets: ValidatorSet[];
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

/** The amount of an add transaction, or undefined when `tx` is not one. */
function addAmount(tx: Uint8Array): number | undefined {
  if (tx.length < 5 || tx.length > 64 || tx[0] !== TX_ADD) return undefined;
  return new DataView(tx.buffer, tx.byteOffset, tx.byteLength).getUint32(1);
}

/**
 * A small deterministic application: blocks carry 0–4 pseudo-random "add n"
 * transactions; the state is a counter and a hash chain over it. It takes no
 * evidence (reports only go to the checkers) and punishes no one. It checks
 * everything a real application checks in a header (height, parent hash,
 * time, transaction root, validator and params hashes, app hash, proposer,
 * and the last commit's signatures and quorum), so consensus is exercised
 * with real blocks; the validator set keeps its members (only proposer
 * priorities move).
 */
export function createCounterApp(): SimApplicationFactory {
  return {
    name: 'counter',
    createNode(genesis: SimAppGenesis): SimAppStorage {
      let state: CounterState = {
        height: 0,
        lastBlockHash: ZERO_HASH,
        lastBlockTimeMs: 0,
        counter: 0,
        appHash: ZERO_HASH,
        sets: [genesis.validatorSet, genesis.validatorSet],
      };
      const valsHash = validatorSetHash(genesis.validatorSet);
      const paramsHash = consensusParamsHash(genesis.params);
      const emptyEvidenceHash = evidenceListHash([]);
      const { chainId, verify } = genesis;

      const lastCommitProblem = (block: Block): string | undefined => {
        const h = block.header.height;
        const c = block.lastCommit;
        if (h === 1)
          return c.height === 0 && c.signatures.length === 0 ? undefined : 'first block has a commit';
        const set = state.sets[h - 1];
        if (set === undefined) return 'validator set of the last height unknown';
        const issue = commitProblem(chainId, set, c, {
          height: h - 1,
          blockHash: state.lastBlockHash,
          verifySignature: verify,
        });
        return issue === undefined ? undefined : `last commit: ${issue}`;
      };

      const blockProblem = (block: Block): string | undefined => {
        const hd = block.header;
        if (hd.chainId !== chainId) return 'wrong chain';
        if (hd.height !== state.height + 1) return `height ${hd.height}, expected ${state.height + 1}`;
        if (!bytesEqual(hd.lastBlockHash, state.lastBlockHash)) return 'wrong parent hash';
        if (hd.timeMs <= state.lastBlockTimeMs) return 'time does not increase';
        if (!bytesEqual(hd.validatorsHash, valsHash) || !bytesEqual(hd.nextValidatorsHash, valsHash))
          return 'wrong validators hash';
        if (!bytesEqual(hd.consensusParamsHash, paramsHash)) return 'wrong consensus params hash';
        if (!bytesEqual(hd.appHash, state.appHash)) return 'wrong app hash';
        if (!bytesEqual(hd.lastResultsHash, ZERO_HASH)) return 'wrong results hash';
        const set = state.sets[hd.height];
        if (set === undefined || validatorIndex(set, hd.proposerAddress) < 0)
          return 'proposer is not a validator';
        if (block.evidence.length > 0) return 'the counter application takes no evidence';
        const data = blockDataProblem(block);
        if (data !== undefined) return data;
        for (const tx of block.txs) {
          if (tx[0] === TX_POISON) return 'poisoned transaction';
          if (addAmount(tx) === undefined) return 'malformed transaction';
        }
        return lastCommitProblem(block);
      };

      const app: SimApplication = {
        height: () => state.height,
        validatorSetAt: (h) => (h >= 1 ? state.sets[h] : undefined),
        stateHash: () => state.appHash,
        blockProblem: async (block) => blockProblem(block),

        async buildBlock(request) {
          const h = request.height;
          const rng = new Rng(
            (genesis.seed ^ Math.imul(h, 0x9e3779b1) ^ Math.imul(request.round + 1, 0x85ebca6b)) >>> 0,
          );
          const txs: Uint8Array[] = [];
          const count = rng.int(0, 4);
          for (let i = 0; i < count; i++) {
            const tx = new Uint8Array(5 + rng.int(0, 19));
            tx.set(rng.bytes(tx.length));
            tx[0] = TX_ADD;
            txs.push(tx);
          }
          return {
            header: {
              chainId,
              height: h,
              timeMs: Math.max(request.timeMs, state.lastBlockTimeMs + 1),
              lastBlockHash: state.lastBlockHash,
              txsRoot: txsRoot(txs),
              validatorsHash: valsHash,
              nextValidatorsHash: valsHash,
              consensusParamsHash: paramsHash,
              appHash: state.appHash,
              lastResultsHash: ZERO_HASH,
              evidenceHash: emptyEvidenceHash,
              lastCommitHash: commitHash(request.lastCommit),
              proposerAddress: request.proposerAddress,
            },
            txs,
            evidence: [],
            lastCommit: request.lastCommit,
          };
        },

        async validateBlock(block) {
          return blockProblem(block) === undefined;
        },

        async finalizeBlock(block: Block, _commit: Commit): Promise<FinalizeBlockResult> {
          const h = block.header.height;
          if (h !== state.height + 1) throw new Error(`finalize height ${h}, expected ${state.height + 1}`);
          const set = state.sets[h];
          if (set === undefined) throw new Error(`no validator set for height ${h}`);
          let counter = state.counter;
          for (const tx of block.txs) counter = (counter + (addAmount(tx) ?? 0)) % 2 ** 48;
          const hash = blockHash(block);
          const next: ValidatorSet = { validators: advanceValidatorSet(set.validators) };
          const sets = state.sets;
          sets[h + 1] = next;
          // One assignment (with the append above, in the same synchronous step): the commit is atomic.
          state = {
            height: h,
            lastBlockHash: hash,
            lastBlockTimeMs: block.header.timeMs,
            counter,
            appHash: sha256(concatBytes(state.appHash, u64(counter), hash)),
            sets,
          };
          return { nextValidatorSet: next };
        },

        corrupt(block) {
          const txs = [...block.txs, Uint8Array.of(TX_POISON, 0, 0, 0, 0)];
          return { ...block, header: { ...block.header, txsRoot: txsRoot(txs) }, txs };
        },
      };
      return { open: async () => app };
    },
  };
}
