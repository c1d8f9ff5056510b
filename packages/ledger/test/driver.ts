import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { createMemoryKvStore, type KvStore } from '@synod/storage';
import type {
  ConsensusParams,
  FinalizeBlockRequest,
  FinalizeBlockResponse,
  InitChainRequest,
  Misbehavior,
  ValidatorUpdate,
} from '@synod/types';
import { Ledger, type LedgerOptions } from '../src/index.js';
import { BLOCK_MS, GENESIS_TIME_MS, genesisRequest, hex, VALIDATOR_KEYS } from './helpers.js';

/** A member of the validator set of one height, as the node tracks it. */
export interface Member {
  readonly pubKey: Uint8Array;
  readonly address: Uint8Array;
  readonly power: number;
}

/** Whether the validator at `address` signed the commit of `height`. */
export type SigningPolicy = (address: Uint8Array, height: number) => boolean;

export const alwaysSigns: SigningPolicy = () => true;

/** A policy where `who` does not sign the heights `missed` says, everyone else always signs. */
export function missing(who: KeyPair, missed: (height: number) => boolean): SigningPolicy {
  const a = hex(addressFromPublicKey(who.publicKey));
  return (address, height) => hex(address) !== a || !missed(height);
}

export interface DriverBlock {
  readonly txs?: readonly Uint8Array[];
  readonly misbehavior?: readonly Misbehavior[];
  readonly timeMs?: number;
  /** Extra commit votes appended to the ones built from the set (tests of odd inputs). */
  readonly extraVotes?: FinalizeBlockRequest['decidedLastCommit']['votes'];
}

/**
 * What a node does around the ledger, in miniature: keeps the validator set of
 * every height (the genesis set at the first two heights; updates returned at
 * H applied to the set of H + 2), and builds each block's `decidedLastCommit`
 * from the set of the previous height and a signing policy.
 */
export class Driver {
  readonly requests: FinalizeBlockRequest[] = [];
  readonly appHashes: Uint8Array[] = [];
  private readonly sets = new Map<number, Member[]>();
  private height: number;

  private constructor(
    readonly ledger: Ledger,
    readonly kv: KvStore,
    readonly initialHeight: number,
    genesis: readonly ValidatorUpdate[],
    genesisAppHash: Uint8Array,
    public policy: SigningPolicy,
  ) {
    const set = applyUpdates([], genesis);
    this.sets.set(initialHeight, set);
    this.sets.set(initialHeight + 1, set);
    this.height = initialHeight - 1;
    this.appHashes.push(genesisAppHash);
  }

  static async open(
    o: {
      params?: ConsensusParams;
      policy?: SigningPolicy;
      options?: Partial<LedgerOptions>;
      init?: InitChainRequest;
    } = {},
  ): Promise<Driver> {
    const kv = o.options?.kv ?? (await createMemoryKvStore());
    const ledger = await Ledger.open({ ...o.options, kv });
    const req =
      o.init ?? (o.params === undefined ? genesisRequest() : genesisRequest({ consensusParams: o.params }));
    const res = await ledger.initChain(req);
    return new Driver(
      ledger,
      kv,
      req.initialHeight,
      res.validators ?? [],
      res.appHash,
      o.policy ?? alwaysSigns,
    );
  }

  /** The validator set in force at `height`. */
  setAt(height: number): Member[] {
    const s = this.sets.get(height);
    if (s === undefined) throw new Error(`no set known for height ${height}`);
    return s;
  }

  /** Whether `v` is in the set of `height`. */
  inSet(v: KeyPair, height: number): boolean {
    return this.setAt(height).some((m) => hex(m.pubKey) === hex(v.publicKey));
  }

  get lastHeight(): number {
    return this.height;
  }

  /** The FinalizeBlock request of the next block. */
  nextRequest(b: DriverBlock = {}): FinalizeBlockRequest {
    const height = this.height + 1;
    const votes =
      height === this.initialHeight
        ? []
        : this.setAt(height - 1).map((m) => ({
            validatorAddress: m.address,
            power: m.power,
            signed: this.policy(m.address, height - 1),
          }));
    return {
      height,
      timeMs: b.timeMs ?? GENESIS_TIME_MS + height * BLOCK_MS,
      hash: new Uint8Array(32).fill(height & 0xff),
      proposerAddress: addressFromPublicKey((VALIDATOR_KEYS[0] as KeyPair).publicKey),
      txs: b.txs ?? [],
      misbehavior: b.misbehavior ?? [],
      decidedLastCommit: { round: 0, votes: [...votes, ...(b.extraVotes ?? [])] },
    };
  }

  /** Finalizes and commits the next block; records the set of H + 2. */
  async block(b: DriverBlock = {}): Promise<FinalizeBlockResponse> {
    return this.apply(this.nextRequest(b));
  }

  /** Finalizes and commits `req` (the next block). */
  async apply(req: FinalizeBlockRequest): Promise<FinalizeBlockResponse> {
    const res = await this.ledger.finalizeBlock(req);
    await this.ledger.commit();
    this.height = req.height;
    this.requests.push(req);
    this.appHashes.push(res.appHash);
    this.sets.set(req.height + 2, applyUpdates(this.setAt(req.height + 1), res.validatorUpdates));
    return res;
  }

  /** Runs blocks up to and including `height`; returns every response. */
  async runTo(height: number): Promise<FinalizeBlockResponse[]> {
    const out: FinalizeBlockResponse[] = [];
    while (this.height < height) out.push(await this.block());
    return out;
  }
}

/** The set after `updates` (power 0 removes), sorted by address. */
export function applyUpdates(set: readonly Member[], updates: readonly ValidatorUpdate[]): Member[] {
  const byKey = new Map(set.map((m) => [hex(m.pubKey), m]));
  for (const u of updates) {
    if (u.power === 0) byKey.delete(hex(u.pubKey));
    else
      byKey.set(hex(u.pubKey), { pubKey: u.pubKey, address: addressFromPublicKey(u.pubKey), power: u.power });
  }
  return [...byKey.values()].sort((a, b) => Buffer.compare(a.address, b.address));
}
