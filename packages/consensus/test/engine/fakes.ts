/**
 * In-memory test doubles for the engine's ports. Every port call is written to
 * one shared event log so tests can check the order of effects.
 */
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign, toHex } from '@synod/crypto';
import {
  type Block,
  type Clock,
  type Commit,
  type ConsensusWal,
  type Counter,
  checkSignRequest,
  commitHash,
  DEFAULT_CONSENSUS_PARAMS,
  EMPTY_COMMIT,
  type Evidence,
  evidenceListHash,
  type Gauge,
  type Histogram,
  type Labels,
  type LastSignState,
  type MetricOptions,
  type Metrics,
  makeValidatorSet,
  type SignedProposal,
  type SignedVote,
  type Signer,
  type SignerStateStore,
  type SignRequest,
  SynodError,
  txsRoot,
  type ValidatorSet,
  type WalRecord,
} from '@synod/types';
import {
  advanceValidatorSet,
  type BuildBlockRequest,
  type ConsensusApplication,
  type ConsensusBlockStore,
  type ConsensusNetwork,
  decodeWalEntry,
  type FinalizeBlockResult,
} from '../../src/index.js';

export const CHAIN_ID = 'synod-test';

export type Event =
  | {
      readonly port: 'wal';
      readonly op: 'append';
      readonly kind: string;
      readonly sync: boolean;
      readonly key?: string;
    }
  | { readonly port: 'wal'; readonly op: 'end-height'; readonly height: number; readonly sync: boolean }
  | { readonly port: 'signer'; readonly op: 'sign-start' | 'sign-done'; readonly key: string }
  | { readonly port: 'network'; readonly op: 'broadcast'; readonly key: string }
  | { readonly port: 'network'; readonly op: 'fetch'; readonly hash: string }
  | { readonly port: 'store'; readonly op: 'save'; readonly height: number }
  | { readonly port: 'app'; readonly op: 'build' | 'validate' | 'finalize'; readonly height: number };

export class EventLog {
  readonly events: Event[] = [];
  push(e: Event): void {
    this.events.push(e);
  }
}

const msgKey = (height: number, round: number, step: string): string => `${height}/${round}/${step}`;

/** A WAL in memory. `crash()` returns what survives a power cut: everything up to the last sync. */
export class MemoryWal implements ConsensusWal {
  entries: (
    | { readonly type: 'record'; readonly data: Uint8Array }
    | { readonly type: 'end'; readonly height: number }
  )[];
  private synced: number;
  failAppends = false;

  constructor(
    private readonly log: EventLog,
    baseHeight = 0,
  ) {
    this.entries = [{ type: 'end', height: baseHeight }];
    this.synced = 1;
  }

  async append(data: Uint8Array, options?: { sync?: boolean }): Promise<void> {
    if (this.failAppends) throw new SynodError('STORAGE_CLOSED', 'WAL append failed');
    const entry = decodeWalEntry(data);
    const key =
      entry.kind === 'own-vote'
        ? msgKey(entry.vote.height, entry.vote.round, entry.vote.type)
        : entry.kind === 'own-proposal'
          ? msgKey(entry.proposal.height, entry.proposal.round, 'proposal')
          : undefined;
    this.entries.push({ type: 'record', data });
    if (options?.sync === true) this.synced = this.entries.length;
    this.log.push({
      port: 'wal',
      op: 'append',
      kind: entry.kind,
      sync: options?.sync === true,
      ...(key ? { key } : {}),
    });
  }

  async writeEndHeight(height: number, options?: { sync?: boolean }): Promise<void> {
    this.entries.push({ type: 'end', height });
    if (options?.sync !== false) this.synced = this.entries.length;
    this.log.push({ port: 'wal', op: 'end-height', height, sync: options?.sync !== false });
  }

  async recordsAfterEndHeight(height: number): Promise<WalRecord[] | undefined> {
    let at = -1;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e?.type === 'end' && e.height === height) {
        at = i;
        break;
      }
    }
    if (at < 0) return undefined;
    return this.entries.slice(at + 1).flatMap((e) => (e.type === 'record' ? [{ data: e.data }] : []));
  }

  async sync(): Promise<void> {
    this.synced = this.entries.length;
  }

  async close(): Promise<void> {}

  /** The WAL as a restarted process finds it. */
  crash(log: EventLog): MemoryWal {
    const w = new MemoryWal(log);
    w.entries = this.entries.slice(0, this.synced);
    w.synced = w.entries.length;
    return w;
  }

  kinds(): string[] {
    return this.entries.map((e) => (e.type === 'end' ? `end-${e.height}` : decodeWalEntry(e.data).kind));
  }
}

/** Signer state in memory; `failSaves` makes every save fail like a full disk. */
export class MemoryStateStore implements SignerStateStore {
  state: LastSignState | undefined;
  failSaves = false;
  async load(): Promise<LastSignState | undefined> {
    return this.state;
  }
  async save(state: LastSignState): Promise<void> {
    if (this.failSaves) throw new SynodError('SIGNER_STATE_WRITE_FAILED', 'disk full');
    this.state = state;
  }
}

const STEP_OF: Record<string, 'proposal' | 'prevote' | 'precommit'> = {
  proposal: 'proposal',
  prevote: 'prevote',
  precommit: 'precommit',
};

/** A signer like @synod/storage's: the guard, then the state persisted, then the signature. */
export class TestSigner implements Signer {
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  /** Every signature handed out: (height/round/step) → hex sign bytes. */
  readonly released: { key: string; signBytes: string }[] = [];

  constructor(
    private readonly key: KeyPair,
    readonly store: MemoryStateStore,
    private readonly log: EventLog,
  ) {
    this.publicKey = key.publicKey;
    this.address = addressFromPublicKey(key.publicKey);
  }

  async sign(request: SignRequest): Promise<Uint8Array> {
    const key = msgKey(request.height, request.round, STEP_OF[request.step] as string);
    this.log.push({ port: 'signer', op: 'sign-start', key });
    const decision = checkSignRequest(await this.store.load(), request);
    let signature: Uint8Array;
    if (decision.action === 'reuse') signature = decision.signature;
    else {
      signature = sign(this.key, request.signBytes);
      await this.store.save({ ...request, signature });
    }
    this.released.push({ key, signBytes: toHex(request.signBytes) });
    this.log.push({ port: 'signer', op: 'sign-done', key });
    return signature;
  }
}

export class FakeNetwork implements ConsensusNetwork {
  readonly proposals: { proposal: SignedProposal; block: Block }[] = [];
  readonly votes: SignedVote[] = [];
  /** Blocks peers can serve by hash. */
  readonly served = new Map<string, Block>();
  /** The next this-many fetches fail (every peer unreachable). */
  fetchFailures = 0;

  constructor(private readonly log: EventLog) {}

  broadcastProposal(proposal: SignedProposal, block: Block): void {
    this.proposals.push({ proposal, block });
    const p = proposal.proposal;
    this.log.push({ port: 'network', op: 'broadcast', key: msgKey(p.height, p.round, 'proposal') });
  }

  broadcastVote(vote: SignedVote): void {
    this.votes.push(vote);
    this.log.push({
      port: 'network',
      op: 'broadcast',
      key: msgKey(vote.vote.height, vote.vote.round, vote.vote.type),
    });
  }

  async fetchBlock(hash: Uint8Array): Promise<Block | undefined> {
    this.log.push({ port: 'network', op: 'fetch', hash: toHex(hash) });
    if (this.fetchFailures > 0) {
      this.fetchFailures--;
      throw new SynodError('P2P_TIMEOUT', 'no peer answered');
    }
    return this.served.get(toHex(hash));
  }

  /** Our broadcasts as readable lines. */
  lines(): string[] {
    const out: string[] = [];
    for (const p of this.proposals)
      out.push(`proposal ${p.proposal.proposal.height}/${p.proposal.proposal.round} ${label(p.block)}`);
    for (const v of this.votes)
      out.push(
        `${v.vote.type} ${v.vote.height}/${v.vote.round} ${v.vote.blockHash === null ? 'nil' : 'block'}`,
      );
    return out;
  }
}

/** A block labelled by its only transaction. */
export function makeBlock(
  height: number,
  labelText: string,
  proposerAddress: Uint8Array = roundZeroProposer(height),
): Block {
  const zero = new Uint8Array(32);
  const txs = [new TextEncoder().encode(labelText)];
  return {
    header: {
      chainId: CHAIN_ID,
      height,
      timeMs: 1_700_000_000_000 + height * 1000,
      lastBlockHash: zero,
      txsRoot: txsRoot(txs),
      validatorsHash: zero,
      nextValidatorsHash: zero,
      consensusParamsHash: zero,
      appHash: zero,
      lastResultsHash: zero,
      evidenceHash: evidenceListHash([]),
      lastCommitHash: commitHash(EMPTY_COMMIT),
      proposerAddress,
    },
    txs,
    evidence: [],
    lastCommit: EMPTY_COMMIT,
  };
}

export function label(block: Block): string {
  return new TextDecoder().decode(block.txs[0]);
}

export class FakeApp implements ConsensusApplication {
  readonly finalized: { block: Block; commit: Commit }[] = [];
  readonly builds: BuildBlockRequest[] = [];
  nextLabel = 'X';
  /** The next this-many validations throw (a transient fault, not a verdict). */
  validateFailures = 0;

  constructor(
    private readonly log: EventLog,
    /** The validator set of the height being decided; advanced at each finalize. */
    private set: ValidatorSet,
  ) {}

  async buildBlock(request: BuildBlockRequest): Promise<Block> {
    this.log.push({ port: 'app', op: 'build', height: request.height });
    this.builds.push(request);
    return makeBlock(request.height, this.nextLabel, request.proposerAddress);
  }

  async validateBlock(block: Block): Promise<boolean> {
    this.log.push({ port: 'app', op: 'validate', height: block.header.height });
    if (this.validateFailures > 0) {
      this.validateFailures--;
      throw new SynodError('STORAGE_CLOSED', 'state store unavailable');
    }
    return !label(block).startsWith('bad');
  }

  async finalizeBlock(block: Block, commit: Commit): Promise<FinalizeBlockResult> {
    this.log.push({ port: 'app', op: 'finalize', height: block.header.height });
    this.finalized.push({ block, commit });
    this.set = { validators: advanceValidatorSet(this.set.validators) };
    return { nextValidatorSet: this.set };
  }
}

export class FakeBlockStore implements ConsensusBlockStore {
  readonly blocks: { block: Block; commit: Commit }[] = [];
  constructor(
    private readonly log: EventLog,
    private top = 0,
  ) {}
  height(): number {
    return this.top;
  }
  async saveBlock(block: Block, seenCommit: Commit): Promise<void> {
    this.log.push({ port: 'store', op: 'save', height: block.header.height });
    this.blocks.push({ block, commit: seenCommit });
    this.top = block.header.height;
  }
}

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private t = 1_700_000_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.seq++;
    this.timers.set(id, { due: this.t + ms, fn });
    return () => this.timers.delete(id);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { due: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].due <= end && (next === undefined || entry[1].due < next[1].due)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].due);
      next[1].fn();
    }
    this.t = end;
  }

  pending(): number {
    return this.timers.size;
  }
}

export class EvidenceLog {
  readonly reported: Evidence[] = [];
  report(e: Evidence): void {
    this.reported.push(e);
  }
}

/** Four validators (power 10 each) with keys; `set.validators` is in address order. */
/**
 * The address of the proposer of (height, round 0) in the 4-validator test set
 * (equal powers: validator (height − 1) mod 4): a block built for a fresh
 * proposal names its proposer, and the engine ignores one that names another.
 */
export function roundZeroProposer(height: number): Uint8Array {
  const v = testValidators(4).set.validators[(height - 1) % 4];
  if (v === undefined) throw new Error('no validator');
  return v.address;
}

export function testValidators(n = 4): {
  keys: KeyPair[];
  set: ValidatorSet;
  keyOf: (index: number) => KeyPair;
} {
  const keys = Array.from({ length: n }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)));
  const set = makeValidatorSet(
    keys.map((k) => ({
      address: addressFromPublicKey(k.publicKey),
      pubKey: k.publicKey,
      votingPower: 10,
      proposerPriority: 0n,
    })),
  );
  const keyOf = (index: number): KeyPair => {
    const v = set.validators[index];
    const k = keys.find((kp) => v !== undefined && toHex(kp.publicKey) === toHex(v.pubKey));
    if (k === undefined) throw new Error(`no key for validator ${index}`);
    return k;
  };
  return { keys, set, keyOf };
}

export const PARAMS = DEFAULT_CONSENSUS_PARAMS;

/** Metrics that remember the last value of every gauge and the sum of every counter, by name and labels. */
export class RecordingMetrics implements Metrics {
  readonly values = new Map<string, number>();
  private key(name: string, labels?: Labels): string {
    return labels === undefined ? name : `${name}${JSON.stringify(labels)}`;
  }
  counter(opts: MetricOptions): Counter {
    return { inc: (labels, value = 1) => this.add(this.key(opts.name, labels), value) };
  }
  gauge(opts: MetricOptions): Gauge {
    return {
      set: (value, labels) => this.values.set(this.key(opts.name, labels), value),
      inc: (labels, value = 1) => this.add(this.key(opts.name, labels), value),
      dec: (labels, value = 1) => this.add(this.key(opts.name, labels), -value),
    };
  }
  histogram(opts: MetricOptions): Histogram {
    return { observe: (value, labels) => this.add(this.key(opts.name, labels), value) };
  }
  private add(key: string, value: number): void {
    this.values.set(key, (this.values.get(key) ?? 0) + value);
  }
}
