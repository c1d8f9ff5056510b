/**
 * The checkers' reference: the decided chain executed once, by @synod/node's
 * own block executor and chain state over @synod/storage's stores (on a SimDisk) and
 * @synod/ledger — a follower that never votes. It judges every decided block
 * (`blockProblem`, the node's header, commit, evidence and application
 * checks: the simulator has no copy of them), executes it, and answers what
 * the checkers ask of the chain: the validator set of every height, the
 * decided blocks, the ledger's slashing state.
 */
import type { BuildBlockRequest } from '@synod/consensus';
import { toHex } from '@synod/crypto';
import { EvidencePool } from '@synod/fault-detector';
import { JAIL_FOREVER, Ledger } from '@synod/ledger';
import { Mempool } from '@synod/mempool';
import { BlockExecutor, type ChainState, handshake } from '@synod/node';
import type { NodeStorage } from '@synod/storage';
import {
  type Block,
  type Clock,
  type Commit,
  type Evidence,
  type FinalizeBlockResponse,
  noopLogger,
  noopMetrics,
  type ValidatorSet,
} from '@synod/types';
import type { SimChain } from './chain.js';
import { type Life, SimDisk } from './disk.js';
import type { VerifyFn } from './signatures.js';

/** One punishment the ledger applied (@synod/ledger's `PunishmentEvent`). */
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

/** A validator's standing in a ledger's state, after its last committed block. */
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

/** What one ledger (a node's, or the reference's) says about punishments. */
export interface SlashingView {
  /** Standing of the validator with `address` (undefined when the ledger does not know it). */
  status(address: Uint8Array): SimValidatorStatus | undefined;
  /** The punishments applied by the last committed block, in order. */
  lastPunishments(): readonly SimPunishment[];
  /**
   * Every punished validator with its counters and jail status, as the ledger
   * answers the `slashing/punished` query for `height`: equal on every node
   * that executed the same chain.
   */
  punishedAt(height: number): Promise<string>;
}

/** The slashing view of `ledger`; `pubKeys` maps a validator address (hex) to its public key. */
export function slashingView(ledger: Ledger, pubKeys: ReadonlyMap<string, Uint8Array>): SlashingView {
  return {
    status(address) {
      const pubKey = pubKeys.get(toHex(address));
      const v = pubKey === undefined ? undefined : ledger.validator(pubKey);
      if (v === undefined) return undefined;
      const r = ledger.slashingRecord(address);
      return {
        bondedStake: v.bondedStake,
        jailed: v.jailed,
        jailedForever: v.jailed && v.jailedUntilMs >= JAIL_FOREVER,
        tombstoned: v.tombstoned,
        downtimeJails: r?.downtimeJails ?? 0,
        equivocations: r?.equivocations ?? 0,
        totalBurned: r?.totalBurned ?? 0n,
      };
    },
    lastPunishments: () =>
      ledger.lastPunishments().map((e) => ({
        height: e.height,
        validator: e.validator,
        reason: e.reason,
        slashAmount: e.slashAmount,
        jailUntilMs: e.jailUntilMs,
        tombstoned: e.tombstoned,
        infractionHeight: e.infractionHeight,
      })),
    punishedAt: async (height) => {
      const q = await ledger.query({ path: 'slashing/punished', data: new Uint8Array(0), height });
      return q.code === 'OK' ? new TextDecoder().decode(q.value) : `${q.code}: ${q.log}`;
    },
  };
}

/** A validator address (hex) → public key map of a chain's genesis validators. */
export function validatorPubKeys(chain: SimChain): Map<string, Uint8Array> {
  return new Map(chain.validators.map((v) => [toHex(v.address), v.publicKey]));
}

/** What the checkers need of the decided chain. */
export interface ChainReference {
  /** Heights executed. */
  readonly height: number;
  /** The validator set of `height` (1 .. height + 2). */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /** Why `block` is not valid at the next height (@synod/node's checks), or undefined. */
  blockProblem(block: Block): Promise<string | undefined>;
  /** Executes the next block with the commit that decided it. */
  execute(block: Block, commit: Commit): Promise<FinalizeBlockResponse>;
  /** The app hash after the last executed block. */
  stateHash(): Uint8Array;
  readonly slashing: SlashingView;
}

export class ReferenceChain implements ChainReference {
  readonly #storage: NodeStorage;
  readonly #ledger: Ledger;
  readonly #chain: ChainState;
  readonly #executor: BlockExecutor;
  readonly #sets: ValidatorSet[] = [];
  readonly #blocks: Block[] = [];
  readonly #evidence: Evidence[] = [];
  readonly slashing: SlashingView;

  private constructor(
    storage: NodeStorage,
    ledger: Ledger,
    chain: ChainState,
    executor: BlockExecutor,
    pubKeys: Map<string, Uint8Array>,
  ) {
    this.#storage = storage;
    this.#ledger = ledger;
    this.#chain = chain;
    this.#executor = executor;
    this.slashing = slashingView(ledger, pubKeys);
    this.#recordSets();
  }

  static async create(chain: SimChain, verify: VerifyFn, clock: Clock): Promise<ReferenceChain> {
    // A disk of its own that never crashes (the same stores and key-value store as the nodes').
    const life: Life = {
      id: -1,
      alive: true,
      crashPoint: undefined,
      kill: () => {
        throw new Error('the reference chain never crashes');
      },
    };
    const storage = await (await SimDisk.create()).open(life);
    const ledger = await Ledger.open({
      kv: storage.state.appState,
      syncWrites: false,
      verifySignature: chain.txSignatures.verify,
    });
    const { chain: state } = await handshake({
      application: ledger,
      storage,
      genesis: chain.genesis,
      blockTimesCacheHeights: 100_000,
      logger: noopLogger,
    });
    const executor = new BlockExecutor({
      application: ledger,
      storage,
      chain: state,
      mempool: new Mempool(ledger, { height: 0, recheck: false }),
      evidencePool: new EvidencePool({ isTombstoned: (a) => ledger.isTombstoned(a) }),
      clock,
      verifySignature: verify,
      logger: noopLogger,
      metrics: noopMetrics,
      onExecuted: () => undefined,
    });
    return new ReferenceChain(storage, ledger, state, executor, validatorPubKeys(chain));
  }

  #recordSets(): void {
    const h = this.#chain.height;
    for (let k = Math.max(1, h); k <= h + 2; k++) {
      const set = this.#chain.setAt(k);
      if (set !== undefined) this.#sets[k] = set;
    }
  }

  get height(): number {
    return this.#chain.height;
  }

  get ledger(): Ledger {
    return this.#ledger;
  }

  validatorSetAt(height: number): ValidatorSet | undefined {
    return height >= 1 ? this.#sets[height] : undefined;
  }

  /** The decided block of `height`, once executed. */
  blockAt(height: number): Block | undefined {
    return this.#blocks[height - 1];
  }

  /** Every evidence item the decided chain committed, in order. */
  committedEvidence(): readonly Evidence[] {
    return this.#evidence;
  }

  async blockProblem(block: Block): Promise<string | undefined> {
    const p = await this.#executor.blockProblem(block, { proposal: false });
    return p === undefined ? undefined : `${p.code}: ${p.reason}`;
  }

  async execute(block: Block, commit: Commit): Promise<FinalizeBlockResponse> {
    await this.#storage.blocks.saveBlock(block, commit);
    const response = await this.#executor.execute(block);
    await this.#executor.afterExecute(block, commit, response);
    this.#blocks.push(block);
    this.#evidence.push(...block.evidence);
    this.#recordSets();
    return response;
  }

  stateHash(): Uint8Array {
    return this.#chain.snapshot.appHash;
  }

  /** The block the executor builds for the next height (empty mempool and pool): for tests and forged blocks. */
  buildBlock(request: BuildBlockRequest): Promise<Block> {
    return this.#executor.buildBlock(request);
  }

  /** This chain as a node's final view (nothing pending). */
  view(): {
    readonly height: number;
    readonly slashing: SlashingView;
    pendingEvidence(): Promise<Evidence[]>;
  } {
    return { height: this.height, slashing: this.slashing, pendingEvidence: async () => [] };
  }
}
