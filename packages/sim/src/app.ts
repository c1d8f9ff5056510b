import { advanceValidatorSet, type ConsensusApplication, type FinalizeBlockResult } from '@synod/consensus';
import { sha256 } from '@synod/crypto';
import {
  type Block,
  blockDataProblem,
  blockHash,
  bytesEqual,
  type Commit,
  type ConsensusParams,
  commitHash,
  consensusParamsHash,
  evidenceListHash,
  txsRoot,
  type ValidatorSet,
  validatorIndex,
  validatorSetHash,
  ZERO_HASH,
} from '@synod/types';
import { commitIssue } from './commit-check.js';
import { Rng } from './rng.js';
import type { VerifyFn } from './signatures.js';

/** What every node's application starts from. */
export interface SimAppGenesis {
  readonly chainId: string;
  /** The validator set of the initial height (1). */
  readonly validatorSet: ValidatorSet;
  readonly params: ConsensusParams;
  /** The shared signature check (commits in blocks are checked with it). */
  readonly verify: VerifyFn;
  /** Seeds the pseudo-random transactions proposers put in blocks. */
  readonly seed: number;
}

/**
 * One node's application, as the simulator runs it: the consensus port plus
 * what the simulator needs to restart a node and compare final states. A
 * later issue plugs @synod/ledger in behind this interface.
 */
export interface SimApplication extends ConsensusApplication {
  /** The last finalized height (0 before the first block). */
  height(): number;
  /** The validator set that decides `height`: known from height() − 1 to height() + 1. */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /** Why `block` is not valid at the next height, or undefined when it is (validateBlock's reason). */
  blockProblem(block: Block): string | undefined;
  /** Digest of the application state after the last finalized block. */
  stateHash(): Uint8Array;
  /** A well-formed block of the same height that validateBlock rejects (what a Byzantine proposer sends). */
  corrupt(block: Block): Block;
}

/** A node's application storage: it survives crashes; `open()` runs the application over it. */
export interface SimAppStorage {
  open(): SimApplication;
}

/** A kind of application: creates the storage of each node. */
export interface SimApplicationFactory {
  readonly name: string;
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
  /** Validator sets by height, for height − 1 .. height + 1. */
  readonly sets: ReadonlyMap<number, ValidatorSet>;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The amount of an add transaction, or undefined when `tx` is not one. */
function addAmount(tx: Uint8Array): number | undefined {
  if (tx.length < 5 || tx.length > 64 || tx[0] !== TX_ADD) return undefined;
  return new DataView(tx.buffer, tx.byteOffset, tx.byteLength).getUint32(1);
}

/**
 * A small deterministic application: blocks carry 0–4 pseudo-random "add n"
 * transactions; the state is a counter and a hash chain over it. It checks
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
        sets: new Map([[1, genesis.validatorSet]]),
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
        const set = state.sets.get(h - 1);
        if (set === undefined) return 'validator set of the last height unknown';
        const issue = commitIssue(chainId, set, c, verify, { height: h - 1, blockHash: state.lastBlockHash });
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
        const set = state.sets.get(hd.height);
        if (set === undefined || validatorIndex(set, hd.proposerAddress) < 0)
          return 'proposer is not a validator';
        if (block.evidence.length > 0) return 'unexpected evidence';
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
        validatorSetAt: (h) => state.sets.get(h),
        stateHash: () => state.appHash,
        blockProblem,

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
          const set = state.sets.get(h);
          if (set === undefined) throw new Error(`no validator set for height ${h}`);
          let counter = state.counter;
          for (const tx of block.txs) counter = (counter + (addAmount(tx) ?? 0)) % 2 ** 48;
          const hash = blockHash(block);
          const next: ValidatorSet = { validators: advanceValidatorSet(set.validators) };
          const sets = new Map<number, ValidatorSet>();
          for (const [k, v] of state.sets) if (k >= h) sets.set(k, v);
          sets.set(h + 1, next);
          // One assignment: the application's commit is atomic.
          state = {
            height: h,
            lastBlockHash: hash,
            lastBlockTimeMs: block.header.timeMs,
            counter,
            appHash: sha256(concat([state.appHash, u64(counter), hash])),
            sets,
          };
          return { nextValidatorSet: next };
        },

        corrupt(block) {
          const txs = [...block.txs, Uint8Array.of(TX_POISON, 0, 0, 0, 0)];
          return { ...block, header: { ...block.header, txsRoot: txsRoot(txs) }, txs };
        },
      };
      return { open: () => app };
    },
  };
}
