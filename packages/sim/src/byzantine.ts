import { ProposerSchedule, ROUND_LOOKAHEAD_MAX } from '@synod/consensus';
import { bytesEqual, toHex } from '@synod/crypto';
import type {
  BlockWithCommit,
  ChainStatus,
  NodeMessages,
  NodeTopic,
  NodeTransport,
  SyncProvider,
} from '@synod/node';
import {
  type Block,
  blockHash,
  commitHash,
  EMPTY_COMMIT,
  type Evidence,
  encodeEvidence,
  evidenceValidator,
  LIMITS,
  type Proposal,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type ValidatorSet,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { encodeGossip, GOSSIP_TOPICS } from './codec.js';
import { reassemble } from './forge.js';
import type { Rng } from './rng.js';
import type { ByzantineProfile } from './scenario.js';
import type { SignatureOracle } from './signatures.js';
import type { SimRequest, SimTransport } from './transport.js';

export type ByzantineAction =
  | 'silent'
  | 'equivocate'
  | 'double-propose'
  | 'amnesia'
  | 'invalid-block'
  | 'forge-block'
  | 'invalid-vote'
  | 'back-all'
  | 'fork-propose'
  | 'split-locks'
  | 'garbage'
  | 'bad-evidence'
  | 'targeted-propose'
  | 'vote-flood'
  | 'round-flood'
  | 'next-height-flood'
  | 'evidence-flood';

export interface ByzantineContext {
  readonly index: number;
  readonly n: number;
  readonly chainId: string;
  /** The validator's raw key seed: Byzantine validators sign without the double-sign guard. */
  readonly keySeed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  readonly rng: Rng;
  /**
   * The attack strategies' own stream (targeted proposals, floods): with
   * them off, `rng` draws exactly what it drew before they existed.
   */
  readonly attackRng: Rng;
  readonly oracle: SignatureOracle;
  /** Sends a gossip message (its bytes, as they are) to peer `to`. */
  send(to: number, message: Outgoing): void;
  /** Heights its node has decided. */
  decided(): number;
  /** The decided chain's block of `height` (the adversary knows the chain as decided). */
  decidedBlock(height: number): Block | undefined;
  /** The decided chain's validator set of `height`. */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /** Evidence its node's pool accepted and no block has carried yet. */
  pendingEvidence(): readonly Evidence[];
  /** Whether the decided chain has tombstoned this validator. */
  tombstoned(): boolean;
  /** A block of the same height that honest nodes reject (see forge.ts). */
  corrupt(block: Block): Block;
  /** `block` with a forged last commit or forged evidence (see forge.ts); undefined when it cannot be. */
  forge(block: Block, what: 'last-commit' | 'evidence'): Block | undefined;
  /** `block` with exactly `evidence` as its evidence. */
  withEvidence(block: Block, evidence: readonly Evidence[]): Block;
  action(kind: ByzantineAction, detail: string): void;
}

/** A gossip message on its way out: its topic and bytes (garbage included). */
export interface Outgoing {
  readonly topic: NodeTopic;
  readonly bytes: Uint8Array;
}

function gossip<T extends NodeTopic>(topic: T, message: NodeMessages[T]): Outgoing {
  return { topic, bytes: encodeGossip(topic, message) };
}

const RECENT_MAX = 8;

/**
 * Messages one Byzantine validator's floods send over a whole run (each to
 * some of its peers): a flood is 100–600 messages, evidence floods 10–60,
 * so a seed stays near a second while each flood is far above what a
 * correct validator sends in a round (one vote per type).
 */
export const FLOOD_BUDGET = 2500;
/** Proposals of rounds it does not propose, per round or next-height flood (each carries a block). */
const FLOOD_PROPOSALS_MAX = 8;

/**
 * A Byzantine validator. It runs the production engine like everyone else
 * (so it takes part in the protocol and knows what honest nodes expect), but
 * every message its engine sends passes through here first, where the
 * profile's deviations apply: silence, equivocation, double proposals,
 * amnesia (forgetting the lock's valid value), invalid blocks and votes for
 * them, and garbage. It signs with its raw key.
 */
export class ByzantineActor {
  readonly #c: ByzantineContext;
  readonly #p: ByzantineProfile;
  /** Blocks this validator made up, by height (other values to vote for). */
  readonly #madeUp = new Map<number, Block[]>();
  /** Invalid blocks it made, by height. */
  readonly #invalid = new Map<number, Uint8Array[]>();
  /** What its own proposal was replaced by: original hash (hex) → the hash it votes for instead. */
  readonly #substitute = new Map<string, Uint8Array>();
  readonly #recent: Outgoing[] = [];
  /** Proposals already backed (back-all), by height/round/hash. */
  readonly #backed = new Set<string>();
  /** (height/round) where a fork proposal was considered. */
  readonly #forks = new Set<string>();
  #schedule: { readonly height: number; readonly schedule: ProposerSchedule } | undefined;
  /** The (height, round) of its last targeted double proposal: its votes there back the majority's block. */
  #targeted: { readonly height: number; readonly round: number } | undefined;
  /** Flood messages left for the run (see FLOOD_BUDGET). */
  #budget = FLOOD_BUDGET;
  /** The latest block of the highest height it has seen proposed (what far-round proposals carry). */
  #known: Block | undefined;
  /** The lock-split attack in progress. */
  #lockSplit:
    | { readonly height: number; readonly round: number; readonly excluded: number; readonly decider: number }
    | undefined;

  constructor(context: ByzantineContext, profile: ByzantineProfile) {
    this.#c = context;
    this.#p = profile;
  }

  get profile(): ByzantineProfile {
    return this.#p;
  }

  #signProposal(p: Proposal): SignedProposal {
    const signature = this.#c.oracle.sign(
      this.#c.keySeed,
      this.#c.publicKey,
      proposalSignBytes(this.#c.chainId, p),
    );
    return { proposal: p, signature };
  }

  #signVote(v: Vote): SignedVote {
    const signature = this.#c.oracle.sign(
      this.#c.keySeed,
      this.#c.publicKey,
      voteSignBytes(this.#c.chainId, v),
    );
    return { vote: v, signature };
  }

  #peers(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#c.n; i++) if (i !== this.#c.index) out.push(i);
    return out;
  }

  /**
   * Splits the peers in two non-empty groups (when there are at least two);
   * some peers may land in both (they receive both versions and can prove
   * the equivocation).
   */
  #split(): [number[], number[]] {
    const rng = this.#c.rng;
    const a: number[] = [];
    const b: number[] = [];
    const both = rng.chance(0.5) ? 0.3 : 0;
    for (const p of rng.shuffle(this.#peers())) {
      if (rng.chance(both)) {
        a.push(p);
        b.push(p);
      } else (rng.chance(0.5) ? a : b).push(p);
    }
    if (a.length === 0 && b.length > 1) a.push(b.pop() as number);
    if (b.length === 0 && a.length > 1) b.push(a.pop() as number);
    return [a, b];
  }

  #sendTo(peers: readonly number[], message: Outgoing): void {
    this.#remember(message);
    for (const p of peers) this.#c.send(p, message);
  }

  #remember(message: Outgoing): void {
    this.#recent.push(message);
    if (this.#recent.length > RECENT_MAX) this.#recent.shift();
  }

  #forget(height: number): void {
    for (const h of this.#madeUp.keys()) if (h < height - 1) this.#madeUp.delete(h);
    for (const h of this.#invalid.keys()) if (h < height - 1) this.#invalid.delete(h);
    if (this.#substitute.size > 64) this.#substitute.clear();
  }

  /** Another valid-looking block of the same height (a later timestamp changes its hash). */
  #variant(block: Block): Block {
    const b: Block = {
      ...block,
      header: { ...block.header, timeMs: block.header.timeMs + this.#c.rng.int(1, 1000) },
    };
    this.#keep(this.#madeUp, block.header.height, b);
    return b;
  }

  #keep<T>(map: Map<number, T[]>, height: number, value: T): void {
    const list = map.get(height) ?? [];
    list.push(value);
    map.set(height, list);
  }

  /**
   * Whether to answer a peer's request at all (a consensus reply carries our
   * own votes, a decided block's commit may hold our precommit): withheld as
   * often as our own messages, so a silent validator's signature never
   * reaches a commit.
   */
  answers(): boolean {
    return !this.#c.rng.chance(this.#p.silent);
  }

  /**
   * With its garbage rate, a block-range answer to peer `to` carries forged
   * blocks: each block with a transaction stripped of them (its header's
   * hashes made to match, so it is a well-formed block of another fork) and
   * the decided commit pointed at it, its signatures left as they are (they
   * do not verify for it). Only commit verification in block sync can tell.
   */
  forgedRange(to: number, range: readonly BlockWithCommit[]): readonly BlockWithCommit[] | undefined {
    const rng = this.#c.rng;
    if (!range.some((b) => b.block.txs.length > 0) || !rng.chance(this.#p.garbage)) return undefined;
    this.#c.action('garbage', `a block range of another fork (forged commits) to node ${to}`);
    return range.map(({ block, commit }) => {
      if (block.txs.length === 0) return { block, commit };
      const fork = reassemble(block, [], block.evidence);
      return { block: fork, commit: { ...commit, blockHash: blockHash(fork) } };
    });
  }

  /** With its garbage rate, a status request gets a lie about its height (to peer `to`). */
  lyingStatus(to: number): ChainStatus | undefined {
    const rng = this.#c.rng;
    if (!rng.chance(this.#p.garbage)) return undefined;
    const height = rng.chance(0.5) ? this.#c.decided() + rng.int(1, 50) : rng.int(0, 0xffffffff);
    this.#c.action('garbage', `a lying status (height ${height}) to node ${to}`);
    return { height, lastBlockHash: rng.bytes(32), earliestHeight: 1 };
  }

  /** Our engine wants to broadcast a proposal. */
  onProposal(sp: SignedProposal, block: Block): void {
    const rng = this.#c.rng;
    const p = sp.proposal;
    this.#forget(p.height);
    this.#maybeGarbage(p.height);
    if (rng.chance(this.#p.silent)) {
      this.#c.action('silent', `proposal h=${p.height} r=${p.round} withheld`);
      return;
    }
    if (this.#c.n >= 4 && rng.chance(this.#p.splitLocks)) {
      this.#splitLocks(sp, block);
      return;
    }
    this.seeBlock(block);
    const a = this.#c.attackRng;
    if (this.#c.n >= 3 && a.chance(this.#p.targetedPropose)) {
      this.#targetedPropose(sp, block);
      return;
    }
    let main: { sp: SignedProposal; block: Block } = { sp, block };
    const forged = a.chance(this.#p.evidenceFlood) ? this.#forgedInBlock(block) : undefined;
    // A forger: the forged last commit at even heights, forged evidence at odd ones (either when
    // the other cannot be made).
    let madeUp: { block: Block; what: string } | undefined;
    if (this.#p.forgeBlocks > 0 && rng.chance(this.#p.forgeBlocks)) {
      const first = p.height % 2 === 0 ? 'last-commit' : 'evidence';
      const second = first === 'evidence' ? 'last-commit' : 'evidence';
      const b1 = this.#c.forge(block, first);
      const b2 = b1 === undefined ? this.#c.forge(block, second) : undefined;
      if (b1 !== undefined) madeUp = { block: b1, what: first };
      else if (b2 !== undefined) madeUp = { block: b2, what: second };
    }
    if (forged !== undefined) {
      const hash = blockHash(forged.block);
      this.#keep(this.#invalid, p.height, hash);
      this.#substitute.set(toHex(p.blockHash), hash);
      main = { sp: this.#signProposal({ ...p, blockHash: hash }), block: forged.block };
      this.#c.action('evidence-flood', `proposes h=${p.height} r=${p.round} with ${forged.what}`);
    } else if (madeUp !== undefined) {
      const hash = blockHash(madeUp.block);
      this.#keep(this.#invalid, p.height, hash);
      this.#substitute.set(toHex(p.blockHash), hash);
      main = { sp: this.#signProposal({ ...p, blockHash: hash }), block: madeUp.block };
      this.#c.action('forge-block', `proposes h=${p.height} r=${p.round} with a forged ${madeUp.what}`);
    } else if (rng.chance(this.#p.invalidBlock)) {
      const bad = this.#c.corrupt(block);
      const hash = blockHash(bad);
      this.#keep(this.#invalid, p.height, hash);
      this.#substitute.set(toHex(p.blockHash), hash);
      main = { sp: this.#signProposal({ ...p, blockHash: hash }), block: bad };
      this.#c.action('invalid-block', `proposes an invalid block at h=${p.height} r=${p.round}`);
    } else if (rng.chance(this.#p.amnesia) && (p.polRound >= 0 || rng.chance(0.5))) {
      const fresh = this.#variant(block);
      const hash = blockHash(fresh);
      this.#substitute.set(toHex(p.blockHash), hash);
      main = { sp: this.#signProposal({ ...p, polRound: -1, blockHash: hash }), block: fresh };
      this.#c.action(
        'amnesia',
        `proposes a fresh block at h=${p.height} r=${p.round} (polRound ${p.polRound} → -1)`,
      );
    }
    const mainBytes = gossip('proposals', { signedProposal: main.sp, block: main.block });
    if (this.#c.n > 2 && rng.chance(this.#p.doublePropose)) {
      const other = rng.chance(0.3) ? this.#c.corrupt(main.block) : this.#variant(main.block);
      const otherSp = this.#signProposal({
        ...main.sp.proposal,
        polRound: rng.chance(0.5) ? main.sp.proposal.polRound : -1,
        blockHash: blockHash(other),
      });
      const [a, b] = this.#split();
      this.#sendTo(a, mainBytes);
      this.#sendTo(b, gossip('proposals', { signedProposal: otherSp, block: other }));
      this.#c.action(
        'double-propose',
        `two proposals at h=${p.height} r=${p.round} to ${a.length}+${b.length} peers`,
      );
      return;
    }
    this.#sendTo(this.#peers(), mainBytes);
  }

  /** Our engine wants to broadcast a vote. */
  onVote(sv: SignedVote): void {
    const rng = this.#c.rng;
    const v = sv.vote;
    this.#forget(v.height);
    this.#maybeGarbage(v.height);
    this.#floods(v);
    const t = this.#targeted;
    if (t !== undefined && t.height === v.height && t.round === v.round && v.blockHash !== null) {
      // The targeted double proposal: our votes for the majority's block reach everyone, the victim too.
      this.#sendTo(this.#peers(), gossip('votes', sv));
      return;
    }
    if (rng.chance(this.#p.silent)) {
      this.#c.action('silent', `${v.type} h=${v.height} r=${v.round} withheld`);
      return;
    }
    const split = this.#lockSplit;
    if (split !== undefined && split.height === v.height && split.round === v.round && v.blockHash !== null) {
      // Lock split: the prevote reaches everyone but the excluded peer, the precommit only the decider.
      const nil = gossip('votes', this.#signVote({ ...v, blockHash: null }));
      const real = gossip('votes', sv);
      for (const p of this.#peers()) {
        const gets = v.type === 'prevote' ? p !== split.excluded : p === split.decider;
        this.#sendTo([p], gets ? real : nil);
      }
      return;
    }
    let main: SignedVote = sv;
    const sub = v.blockHash === null ? undefined : this.#substitute.get(toHex(v.blockHash));
    if (sub !== undefined) main = this.#signVote({ ...v, blockHash: sub });
    const invalid = this.#invalid.get(v.height);
    if (v.type === 'prevote' && invalid !== undefined && rng.chance(this.#p.invalidVote)) {
      main = this.#signVote({ ...v, blockHash: rng.pick(invalid) });
      this.#c.action('invalid-vote', `prevotes an invalid block at h=${v.height} r=${v.round}`);
    }
    const mainBytes = gossip('votes', main);
    if (this.#c.n > 2 && rng.chance(this.#p.equivocate)) {
      const current = main.vote.blockHash === null ? 'nil' : toHex(main.vote.blockHash);
      const options: (Uint8Array | null)[] = [null, rng.bytes(32)];
      if (v.blockHash !== null) options.push(v.blockHash);
      for (const b of this.#madeUp.get(v.height) ?? []) options.push(blockHash(b));
      for (const h of invalid ?? []) options.push(h);
      const others = options.filter((o) => (o === null ? 'nil' : toHex(o)) !== current);
      const alt = this.#signVote({ ...main.vote, blockHash: rng.pick(others) });
      const [a, b] = this.#split();
      this.#sendTo(a, mainBytes);
      this.#sendTo(b, gossip('votes', alt));
      this.#c.action(
        'equivocate',
        `two ${v.type}s at h=${v.height} r=${v.round}: ${current.slice(0, 8)} / ${alt.vote.blockHash === null ? 'nil' : toHex(alt.vote.blockHash).slice(0, 8)}`,
      );
      return;
    }
    this.#sendTo(this.#peers(), mainBytes);
  }

  /** A block of a proposal it saw (its own or a peer's): far-round and next-height floods carry one. */
  seeBlock(block: Block): void {
    if (this.#known === undefined || block.header.height >= this.#known.header.height) this.#known = block;
  }

  /**
   * Targeted double proposal: another block to one peer (or a minority), our
   * engine's block to the rest, and our votes for the latter (our engine's
   * own). The rest decide it; the victim must learn it to decide too: by
   * fetching it when it sees the others' votes for it, or — half of the
   * time, when the victims also get our block's proposal after the other
   * one — from that second proposal of the round, which its core must take
   * (and report as double-proposal evidence).
   */
  #targetedPropose(sp: SignedProposal, block: Block): void {
    const a = this.#c.attackRng;
    const p = sp.proposal;
    const peers = a.shuffle(this.#peers());
    const count = peers.length >= 6 && a.chance(0.3) ? a.int(1, Math.floor(peers.length / 4)) : 1;
    const victims = peers.slice(0, count);
    const rest = peers.slice(count);
    const other: Block = {
      ...block,
      header: { ...block.header, timeMs: block.header.timeMs + a.int(1, 1000) },
    };
    this.#keep(this.#madeUp, p.height, other);
    const otherSp = this.#signProposal({ ...p, blockHash: blockHash(other) });
    this.#targeted = { height: p.height, round: p.round };
    const both = a.chance(0.5);
    this.#sendTo(victims, gossip('proposals', { signedProposal: otherSp, block: other }));
    this.#sendTo(both ? peers : rest, gossip('proposals', { signedProposal: sp, block }));
    this.#c.action(
      'targeted-propose',
      `h=${p.height} r=${p.round}: block ${toHex(otherSp.proposal.blockHash).slice(0, 8)} to node${victims.length > 1 ? 's' : ''} ${victims.join(',')}${both ? ' first' : ''}, ${toHex(p.blockHash).slice(0, 8)} to ${both ? 'everyone' : rest.join(',')}`,
    );
  }

  /** Up to `wanted` messages of the flood budget. */
  #take(wanted: number): number {
    const n = Math.min(wanted, this.#budget);
    this.#budget -= n;
    return n;
  }

  /** The peers a flood goes to: half of them (at least one), at random. */
  #floodPeers(): number[] {
    const peers = this.#c.attackRng.shuffle(this.#peers());
    return peers.slice(0, Math.max(1, Math.ceil(peers.length / 2)));
  }

  #flood(peers: readonly number[], messages: readonly Outgoing[]): void {
    for (const bytes of messages) for (const p of peers) this.#c.send(p, bytes);
  }

  /** With an own vote: the flood strategies of the profile. */
  #floods(v: Vote): void {
    const a = this.#c.attackRng;
    const p = this.#p;
    if (this.#c.n < 2 || this.#budget === 0) return;
    if (a.chance(p.voteFlood)) this.#voteFlood(v);
    if (a.chance(p.roundFlood)) this.#roundFlood(v);
    if (v.type === 'precommit' && v.blockHash !== null && a.chance(p.nextHeightFlood))
      this.#nextHeightFlood(v);
    if (a.chance(p.evidenceFlood)) this.#evidenceFlood();
  }

  #vote(
    v: Vote,
    round: number,
    type: Vote['type'],
    blockHash: Uint8Array | null,
    height = v.height,
  ): Outgoing {
    return gossip(
      'votes',
      this.#signVote({ type, height, round, blockHash, validatorAddress: this.#c.address }),
    );
  }

  /** Many distinct conflicting votes of one (height, round, type): nil and made-up block hashes. */
  #voteFlood(v: Vote): void {
    const a = this.#c.attackRng;
    const k = this.#take(a.int(100, 600));
    if (k === 0) return;
    const out: Outgoing[] = [];
    for (let i = 0; i < k; i++) out.push(this.#vote(v, v.round, v.type, i === 0 ? null : a.bytes(32)));
    const peers = this.#floodPeers();
    this.#flood(peers, out);
    this.#c.action(
      'vote-flood',
      `${k} conflicting ${v.type}s at h=${v.height} r=${v.round} to nodes ${peers.join(',')}`,
    );
  }

  /**
   * Votes for many future rounds: the next rounds (several values and both
   * types each: one validator's weight must count once towards a round
   * skip), rounds around the edge of the look-ahead window, rounds far
   * beyond it, and proposals of far rounds it is not the proposer of.
   */
  #roundFlood(v: Vote): void {
    const a = this.#c.attackRng;
    const k = this.#take(a.int(100, 600));
    if (k === 0) return;
    const out: Outgoing[] = [];
    const edge = v.round + ROUND_LOOKAHEAD_MAX;
    const rounds: number[] = [];
    for (let i = 0; i < k; i++) {
      const part = i % 3;
      const r =
        part === 0
          ? v.round + 1 + (i % 5)
          : part === 1
            ? edge + a.int(-200, 200)
            : a.int(v.round + 1, LIMITS.roundMax);
      rounds.push(Math.min(r, LIMITS.roundMax));
    }
    for (const r of rounds) {
      const value = a.chance(0.3) ? null : a.bytes(32);
      out.push(this.#vote(v, r, a.chance(0.5) ? 'prevote' : 'precommit', value));
    }
    const block = this.#known;
    let proposals = 0;
    if (block !== undefined && block.header.height === v.height) {
      const limit = this.#take(FLOOD_PROPOSALS_MAX);
      for (; proposals < limit; proposals++) {
        const round = proposals % 2 === 0 ? edge + a.int(-50, 50) : a.int(v.round + 1, LIMITS.roundMax);
        out.push(this.#farProposal(block, v.height, Math.min(round, LIMITS.roundMax)));
      }
    }
    const peers = this.#floodPeers();
    this.#flood(peers, out);
    this.#c.action(
      'round-flood',
      `${k} votes for rounds ${v.round + 1}..${Math.max(...rounds)} at h=${v.height} (look-ahead edge ${edge}) and ${proposals} far-round proposals to nodes ${peers.join(',')}`,
    );
  }

  #farProposal(block: Block, height: number, round: number): Outgoing {
    const sp = this.#signProposal({
      height,
      round,
      polRound: -1,
      blockHash: blockHash(block),
      timestampMs: block.header.timeMs,
      proposerAddress: this.#c.address,
    });
    return gossip('proposals', { signedProposal: sp, block });
  }

  /**
   * As it precommits a block of height h (peers still at h will decide it
   * soon): a flood of messages for h + 1 — votes of round 0 and the next
   * rounds for nil and made-up values, and proposals of blocks of h + 1 (our
   * block of h renumbered, which no one will accept), whether or not it
   * proposes those rounds — all of it ahead of the honest round-0 proposal.
   */
  #nextHeightFlood(v: Vote): void {
    const a = this.#c.attackRng;
    const k = this.#take(a.int(100, 600));
    if (k === 0) return;
    const next = v.height + 1;
    const out: Outgoing[] = [];
    for (let i = 0; i < k; i++) {
      const round = i < k / 2 ? 0 : a.int(0, 20);
      const value = a.chance(0.2) ? null : a.bytes(32);
      out.push(this.#vote(v, round, a.chance(0.5) ? 'prevote' : 'precommit', value, next));
    }
    const base = this.#known;
    let proposals = 0;
    if (base !== undefined && base.header.height === v.height) {
      const limit = this.#take(FLOOD_PROPOSALS_MAX);
      for (; proposals < limit; proposals++) {
        const fake: Block = {
          ...base,
          header: {
            ...base.header,
            height: next,
            timeMs: base.header.timeMs + 1 + proposals,
            lastCommitHash: commitHash(EMPTY_COMMIT),
          },
          lastCommit: EMPTY_COMMIT,
        };
        out.push(this.#farProposal(fake, next, proposals % 3));
      }
    }
    const peers = this.#floodPeers();
    this.#flood(peers, out);
    this.#c.action(
      'next-height-flood',
      `${k} votes and ${proposals} proposals for h=${next} (while precommitting h=${v.height}) to nodes ${peers.join(',')}`,
    );
  }

  /** A real equivocation of ours at `height` (round `round`): valid evidence against ourselves. */
  #ownEquivocation(height: number, round: number): Evidence | undefined {
    const set = this.#c.validatorSetAt(height);
    const time = this.#c.decidedBlock(height)?.header.timeMs;
    const me = set?.validators.find((x) => toHex(x.address) === toHex(this.#c.address));
    if (set === undefined || time === undefined || me === undefined) return undefined;
    const a = this.#c.attackRng;
    const vote = (blockHash: Uint8Array | null): SignedVote =>
      this.#signVote({ type: 'prevote', height, round, blockHash, validatorAddress: this.#c.address });
    return {
      kind: 'duplicate-vote',
      voteA: vote(null),
      voteB: vote(a.bytes(32)),
      validatorPower: me.votingPower,
      totalVotingPower: set.validators.reduce((s, x) => s + x.votingPower, 0),
      timeMs: time,
    };
  }

  /** `ev` with its two messages swapped (the same infraction, other bytes). */
  #swapped(ev: Evidence): Evidence {
    return ev.kind === 'duplicate-vote'
      ? { ...ev, voteA: ev.voteB, voteB: ev.voteA }
      : { ...ev, proposalA: ev.proposalB, proposalB: ev.proposalA };
  }

  /** `ev` with a signature replaced by random bytes (the same infraction, which no longer verifies). */
  #badSignature(ev: Evidence): Evidence {
    const a = this.#c.attackRng;
    const sig = a.bytes(64);
    if (ev.kind === 'duplicate-vote')
      return a.chance(0.5)
        ? { ...ev, voteA: { ...ev.voteA, signature: sig } }
        : { ...ev, voteB: { ...ev.voteB, signature: sig } };
    return a.chance(0.5)
      ? { ...ev, proposalA: { ...ev.proposalA, signature: sig } }
      : { ...ev, proposalB: { ...ev.proposalB, signature: sig } };
  }

  /**
   * Evidence flood: byte-distinct copies of one equivocation (one its pool
   * holds, or one of its own), each to a random flood peer — swapped order,
   * other times, other powers and totals, a bad signature — and, once its
   * own validator is tombstoned, fresh (valid) equivocations of its own at
   * other heights and rounds: evidence against a tombstoned validator.
   */
  #evidenceFlood(): void {
    const a = this.#c.attackRng;
    const decided = this.#c.decided();
    if (decided < 1) return;
    const pending = this.#c.pendingEvidence();
    const base =
      pending.length > 0 ? a.pick(pending) : this.#ownEquivocation(a.int(1, decided), a.int(0, 20));
    if (base === undefined) return;
    const k = this.#take(a.int(10, 60));
    if (k === 0) return;
    const tombstoned = this.#c.tombstoned();
    const out: Outgoing[] = [];
    let againstTombstoned = 0;
    for (let i = 0; i < k; i++) {
      const j = 1 + Math.floor(i / 6);
      let ev: Evidence | undefined;
      switch (i % 6) {
        case 0:
          ev = this.#swapped(base);
          break;
        case 1:
          ev = { ...base, timeMs: base.timeMs + j };
          break;
        case 2:
          ev = { ...base, validatorPower: base.validatorPower + j };
          break;
        case 3:
          ev = { ...base, totalVotingPower: base.totalVotingPower + j };
          break;
        case 4:
          ev = this.#badSignature(a.chance(0.5) ? base : this.#swapped(base));
          break;
        default:
          ev = tombstoned ? this.#ownEquivocation(a.int(1, decided), a.int(21, 1000)) : undefined;
          if (ev !== undefined) againstTombstoned++;
          else ev = { ...this.#swapped(base), timeMs: base.timeMs + j };
      }
      out.push(gossip('evidence', ev));
    }
    const peers = this.#floodPeers();
    for (const m of out) this.#c.send(a.pick(peers), m);
    this.#c.action(
      'evidence-flood',
      `${k} byte-distinct copies of ${base.kind} evidence against ${toHex(evidenceValidator(base)).slice(0, 8)}${againstTombstoned > 0 ? ` and ${againstTombstoned} equivocations of its own, tombstoned` : ''} to nodes ${peers.join(',')}`,
    );
  }

  /**
   * As proposer: its block with a copy of evidence its pool holds (honest
   * pools hold it too: it came from them) whose signature is replaced by
   * random bytes, in place of the valid copy. No honest node may accept that
   * block, whatever its pool holds.
   */
  #forgedInBlock(block: Block): { block: Block; what: string } | undefined {
    const pending = this.#c.pendingEvidence();
    if (pending.length === 0) return undefined;
    const real = this.#c.attackRng.pick(pending);
    const forged = this.#badSignature(real);
    const realBytes = toHex(encodeEvidence(real));
    const evidence = [...block.evidence.filter((e) => toHex(encodeEvidence(e)) !== realBytes), forged];
    const h = forged.kind === 'duplicate-vote' ? forged.voteA.vote.height : forged.proposalA.proposal.height;
    return {
      block: this.#c.withEvidence(block, evidence),
      what: `${forged.kind} evidence against ${toHex(evidenceValidator(forged)).slice(0, 8)} (h=${h}) whose signature is invalid, for an infraction its pool holds`,
    };
  }

  /**
   * A peer's message of (height, round) arrived. When our node has already
   * decided that height (the peer has not) and we are that round's proposer,
   * propose a fork: another block of that height, with polRound −1, and back
   * it. Correct validators locked on the decided block must not prevote it.
   */
  onPeerMessage(height: number, round: number): void {
    if (this.#p.backAll === 0 || height !== this.#c.decided()) return;
    // Peers at `round` move to the next one soon: be ready for both.
    this.#fork(height, round);
    this.#fork(height, round + 1);
  }

  #fork(height: number, round: number): void {
    const key = `${height}/${round}`;
    if (this.#forks.has(key)) return;
    this.#forks.add(key);
    if (this.#forks.size > 256) this.#forks.clear();
    const set = this.#c.validatorSetAt(height);
    const base = this.#c.decidedBlock(height);
    if (set === undefined || base === undefined || round > 10_000) return;
    if (this.#schedule?.height !== height)
      this.#schedule = { height, schedule: new ProposerSchedule(set.validators) };
    if (this.#schedule.schedule.proposer(round) !== this.#c.index || !this.#c.rng.chance(this.#p.backAll))
      return;
    const fork = this.#variant(base);
    const sp = this.#signProposal({
      height,
      round,
      polRound: -1,
      blockHash: blockHash(fork),
      timestampMs: fork.header.timeMs,
      proposerAddress: this.#c.address,
    });
    this.#sendTo(this.#peers(), gossip('proposals', { signedProposal: sp, block: fork }));
    this.#c.action('fork-propose', `proposes another block at decided height ${height} r=${round}`);
    this.onPeerProposal(sp, true);
  }

  /**
   * The lock-split attack, as proposer of (h, r): the proposal reaches all
   * peers but one (who will prevote nil); our prevote for it reaches the
   * same peers (the excluded one gets nil), so the others lock on it; our
   * precommit reaches one peer only, which may decide alone while the others
   * stay locked and undecided. A core that does not respect its lock (L22)
   * then decides another block in a later round (with `backAll`'s help).
   */
  #splitLocks(sp: SignedProposal, block: Block): void {
    const p = sp.proposal;
    const peers = this.#c.rng.shuffle(this.#peers());
    const excluded = peers[0] as number;
    const decider = peers[1] as number;
    this.#lockSplit = { height: p.height, round: p.round, excluded, decider };
    this.#sendTo(
      peers.filter((x) => x !== excluded),
      gossip('proposals', { signedProposal: sp, block }),
    );
    this.#c.action(
      'split-locks',
      `proposal h=${p.height} r=${p.round} withheld from node ${excluded}, precommit only to node ${decider}`,
    );
  }

  /** A message arrived (before our engine sees it). */
  sees<T extends NodeTopic>(topic: T, message: NodeMessages[T]): void {
    if (topic === 'proposals') {
      const m = message as NodeMessages['proposals'];
      const p = m.signedProposal.proposal;
      this.seeBlock(m.block);
      // Its own proposal comes back through gossip: it is not a peer's to back.
      if (bytesEqual(p.proposerAddress, this.#c.address)) return;
      this.onPeerProposal(m.signedProposal);
      this.onPeerMessage(p.height, p.round);
    } else if (topic === 'votes') {
      const v = (message as NodeMessages['votes']).vote;
      this.onPeerMessage(v.height, v.round);
    }
  }

  /** A peer's proposal arrived (before our engine sees it). */
  onPeerProposal(sp: SignedProposal, always = false): void {
    const rng = this.#c.rng;
    if (!always && !rng.chance(this.#p.backAll)) return;
    const p = sp.proposal;
    const key = `${p.height}/${p.round}/${toHex(p.blockHash)}`;
    if (this.#backed.has(key)) return;
    this.#backed.add(key);
    if (this.#backed.size > 256) this.#backed.clear();
    for (const type of ['prevote', 'precommit'] as const) {
      const vote = this.#signVote({
        type,
        height: p.height,
        round: p.round,
        blockHash: p.blockHash,
        validatorAddress: this.#c.address,
      });
      this.#sendTo(this.#peers(), gossip('votes', vote));
    }
    this.#c.action(
      'back-all',
      `prevotes and precommits ${toHex(p.blockHash).slice(0, 8)} at h=${p.height} r=${p.round}`,
    );
  }

  /**
   * Evidence that must not convince anyone, to peer `to`: forged signatures
   * (against any validator, honest ones included), a height nobody has
   * decided, a "conflict" of one vote with itself, a real pending item with
   * its recorded time or power changed, or bytes that do not decode.
   */
  #badEvidence(to: number, height: number): void {
    const rng = this.#c.rng;
    const decided = this.#c.decided();
    const set = decided >= 1 ? this.#c.validatorSetAt(decided) : undefined;
    const block = this.#c.decidedBlock(decided);
    const kind = rng.int(0, 4);
    let ev: Evidence | undefined;
    let what: string;
    const pending = this.#c.pendingEvidence();
    if (kind === 3 && pending.length > 0) {
      const real = rng.pick(pending);
      ev = rng.chance(0.5)
        ? { ...real, timeMs: real.timeMs + rng.int(1, 1000) }
        : { ...real, validatorPower: real.validatorPower + 1 };
      what = 'a real evidence item with its time or power changed';
    } else if (kind === 2) {
      const vote = this.#signVote({
        type: 'prevote',
        height: Math.max(1, decided),
        round: 0,
        blockHash: null,
        validatorAddress: this.#c.address,
      });
      ev = {
        kind: 'duplicate-vote',
        voteA: vote,
        voteB: vote,
        validatorPower: 1,
        totalVotingPower: 1,
        timeMs: block?.header.timeMs ?? 0,
      };
      what = 'one vote twice, as a duplicate';
    } else if ((kind === 0 || kind === 1 || kind === 3) && set !== undefined && set.validators.length > 0) {
      const accused = rng.pick(set.validators);
      const h = kind === 1 ? decided + rng.int(1, 50) : decided;
      const vote = (blockHash: Uint8Array | null) => ({
        vote: {
          type: 'precommit' as const,
          height: h,
          round: 0,
          blockHash,
          validatorAddress: accused.address,
        },
        signature: rng.bytes(64),
      });
      ev = {
        kind: 'duplicate-vote',
        voteA: vote(null),
        voteB: vote(rng.bytes(32)),
        validatorPower: accused.votingPower,
        totalVotingPower: set.validators.reduce((a, v) => a + v.votingPower, 0),
        timeMs: block?.header.timeMs ?? 0,
      };
      what =
        kind === 1
          ? `forged evidence from height ${h}, not decided yet`
          : 'forged evidence (random signatures)';
    } else what = 'undecodable evidence';
    const m: Outgoing =
      ev === undefined ? { topic: 'evidence', bytes: rng.bytes(rng.int(1, 400)) } : gossip('evidence', ev);
    this.#c.send(to, m);
    this.#c.action(
      'bad-evidence',
      `${what} to node ${to} (${ev === undefined ? m.bytes.length : encodeEvidence(ev).length} bytes, h=${height})`,
    );
  }

  #maybeGarbage(height: number): void {
    const rng = this.#c.rng;
    if (!rng.chance(this.#p.garbage)) return;
    const to = rng.pick(this.#peers());
    if (to === undefined) return;
    if (rng.chance(0.25)) {
      this.#badEvidence(to, height);
      return;
    }
    const kind = rng.int(0, 4);
    let m: Outgoing;
    let what: string;
    const recent = this.#recent.length > 0 ? rng.pick(this.#recent) : undefined;
    if (kind === 0 || recent === undefined) {
      m = { topic: rng.pick(GOSSIP_TOPICS), bytes: rng.bytes(rng.int(0, 300)) };
      what = `${m.bytes.length} random bytes on ${m.topic}`;
    } else if (kind === 1) {
      const bytes = recent.bytes.slice();
      for (let k = rng.int(1, 3); k > 0; k--) {
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(0, 7));
      }
      m = { topic: recent.topic, bytes };
      what = 'a bit-flipped message';
    } else if (kind === 2) {
      m = {
        topic: recent.topic,
        bytes: recent.bytes.slice(0, rng.int(0, Math.max(0, recent.bytes.length - 1))),
      };
      what = 'a truncated message';
    } else if (kind === 3) {
      // Correctly signed, absurdly far ahead: must be ignored (and not buffered).
      const vote = this.#signVote({
        type: rng.chance(0.5) ? 'prevote' : 'precommit',
        height: height + rng.int(2, 1_000_000),
        round: rng.int(0, LIMITS.roundMax),
        blockHash: rng.chance(0.5) ? null : rng.bytes(32),
        validatorAddress: this.#c.address,
      });
      m = gossip('votes', vote);
      what = `a signed vote for height ${vote.vote.height}`;
    } else {
      // A real message on a topic it does not belong to.
      const other = GOSSIP_TOPICS.filter((t) => t !== recent.topic);
      m = { topic: rng.pick(other), bytes: recent.bytes };
      what = `a ${recent.topic} message on ${m.topic}`;
    }
    this.#c.send(to, m);
    this.#c.action('garbage', `${what} to node ${to}`);
  }
}

/**
 * A Byzantine node's transport: what its engine publishes goes to its
 * actor, which decides what reaches whom; its own evidence and transactions
 * stay with it; it answers requests as often as it sends its own messages,
 * and sometimes lies about its height. (That it relays nothing and that its
 * actor sees what arrives are `inner`'s options.)
 */
export function byzantineTransport(inner: SimTransport, actor: ByzantineActor): NodeTransport {
  inner.answer = (from: number, request: SimRequest) => {
    if (!actor.answers()) return undefined;
    if (request.protocol === 'status') {
      const lie = actor.lyingStatus(from);
      if (lie !== undefined) return Promise.resolve({ ok: true, body: lie });
    }
    const answer = inner.answerWith(inner.provider, request);
    if (request.protocol !== 'block-range' || answer === undefined) return answer;
    return answer.then((a) => {
      const forged = a.ok ? actor.forgedRange(from, a.body as readonly BlockWithCommit[]) : undefined;
      return forged === undefined ? a : { ok: true, body: forged };
    });
  };
  return {
    publish: <T extends NodeTopic>(topic: T, message: NodeMessages[T]) => {
      if (topic === 'proposals') {
        const m = message as NodeMessages['proposals'];
        actor.onProposal(m.signedProposal, m.block);
      } else if (topic === 'votes') actor.onVote(message as NodeMessages['votes']);
    },
    subscribe: (topic, handler) => inner.subscribe(topic, handler),
    attachValidation: (view) => inner.attachValidation(view),
    serve: (provider: SyncProvider) => inner.serve(provider),
    requestStatus: (peer) => inner.requestStatus(peer),
    requestBlockByHash: (hash, options) => inner.requestBlockByHash(hash, options),
    requestBlockRange: (peer, from, to) => inner.requestBlockRange(peer, from, to),
    requestConsensus: (peer, request) => inner.requestConsensus(peer, request),
    peers: () => inner.peers(),
  };
}
