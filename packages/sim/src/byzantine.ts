import { ProposerSchedule } from '@synod/consensus';
import { toHex } from '@synod/crypto';
import {
  type Block,
  blockHash,
  type Evidence,
  encodeEvidence,
  LIMITS,
  type Proposal,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import type { SimApplication } from './app.js';
import { encodeWire, WIRE_TAG } from './codec.js';
import type { Rng } from './rng.js';
import type { ByzantineProfile } from './scenario.js';
import type { SignatureOracle } from './signatures.js';

export type ByzantineAction =
  | 'silent'
  | 'equivocate'
  | 'double-propose'
  | 'amnesia'
  | 'invalid-block'
  | 'invalid-vote'
  | 'back-all'
  | 'fork-propose'
  | 'split-locks'
  | 'garbage'
  | 'bad-evidence';

export interface ByzantineContext {
  readonly index: number;
  readonly n: number;
  readonly chainId: string;
  /** The validator's raw key seed: Byzantine validators sign without the double-sign guard. */
  readonly keySeed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  readonly rng: Rng;
  readonly oracle: SignatureOracle;
  send(to: number, bytes: Uint8Array): void;
  /** The validator's application (to make blocks other nodes reject). */
  app(): SimApplication | undefined;
  /** Heights its node has decided, and the decided block of one. */
  decided(): number;
  decidedBlock(height: number): Block | undefined;
  action(kind: ByzantineAction, detail: string): void;
}

const RECENT_MAX = 8;

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
  readonly #recent: Uint8Array[] = [];
  /** Proposals already backed (back-all), by height/round/hash. */
  readonly #backed = new Set<string>();
  /** (height/round) where a fork proposal was considered. */
  readonly #forks = new Set<string>();
  #schedule: { readonly height: number; readonly schedule: ProposerSchedule } | undefined;
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

  #sendTo(peers: readonly number[], bytes: Uint8Array): void {
    this.#remember(bytes);
    for (const p of peers) this.#c.send(p, bytes);
  }

  #remember(bytes: Uint8Array): void {
    this.#recent.push(bytes);
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
   * Whether to answer a peer's catch-up request (a decided block and its
   * commit, which holds our own precommit): withheld as often as our own
   * messages, so a silent validator's signature never reaches a commit.
   */
  helpsCatchUp(): boolean {
    return !this.#c.rng.chance(this.#p.silent);
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
    let main: { sp: SignedProposal; block: Block } = { sp, block };
    const app = this.#c.app();
    if (app !== undefined && rng.chance(this.#p.invalidBlock)) {
      const bad = app.corrupt(block);
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
    const mainBytes = encodeWire({ kind: 'proposal', proposal: main.sp, block: main.block });
    if (this.#c.n > 2 && rng.chance(this.#p.doublePropose)) {
      const other =
        app !== undefined && rng.chance(0.3) ? app.corrupt(main.block) : this.#variant(main.block);
      const otherSp = this.#signProposal({
        ...main.sp.proposal,
        polRound: rng.chance(0.5) ? main.sp.proposal.polRound : -1,
        blockHash: blockHash(other),
      });
      const [a, b] = this.#split();
      this.#sendTo(a, mainBytes);
      this.#sendTo(b, encodeWire({ kind: 'proposal', proposal: otherSp, block: other }));
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
    if (rng.chance(this.#p.silent)) {
      this.#c.action('silent', `${v.type} h=${v.height} r=${v.round} withheld`);
      return;
    }
    const split = this.#lockSplit;
    if (split !== undefined && split.height === v.height && split.round === v.round && v.blockHash !== null) {
      // Lock split: the prevote reaches everyone but the excluded peer, the precommit only the decider.
      const nil = encodeWire({ kind: 'vote', vote: this.#signVote({ ...v, blockHash: null }) });
      const real = encodeWire({ kind: 'vote', vote: sv });
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
    const mainBytes = encodeWire({ kind: 'vote', vote: main });
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
      this.#sendTo(b, encodeWire({ kind: 'vote', vote: alt }));
      this.#c.action(
        'equivocate',
        `two ${v.type}s at h=${v.height} r=${v.round}: ${current.slice(0, 8)} / ${alt.vote.blockHash === null ? 'nil' : toHex(alt.vote.blockHash).slice(0, 8)}`,
      );
      return;
    }
    this.#sendTo(this.#peers(), mainBytes);
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
    const set = this.#c.app()?.validatorSetAt(height);
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
    this.#sendTo(this.#peers(), encodeWire({ kind: 'proposal', proposal: sp, block: fork }));
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
      encodeWire({ kind: 'proposal', proposal: sp, block }),
    );
    this.#c.action(
      'split-locks',
      `proposal h=${p.height} r=${p.round} withheld from node ${excluded}, precommit only to node ${decider}`,
    );
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
      this.#sendTo(this.#peers(), encodeWire({ kind: 'vote', vote }));
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
    const app = this.#c.app();
    const decided = this.#c.decided();
    const set = decided >= 1 ? app?.validatorSetAt(decided) : undefined;
    const block = this.#c.decidedBlock(decided);
    const kind = rng.int(0, 4);
    let ev: Evidence | undefined;
    let what: string;
    const pending = app?.evidence?.pending() ?? [];
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
    let bytes: Uint8Array;
    if (ev === undefined) {
      bytes = rng.bytes(rng.int(1, 400));
      bytes[0] = WIRE_TAG.evidence;
    } else bytes = encodeWire({ kind: 'evidence', evidence: ev });
    this.#c.send(to, bytes);
    this.#c.action(
      'bad-evidence',
      `${what} to node ${to} (${ev === undefined ? bytes.length : encodeEvidence(ev).length} bytes, h=${height})`,
    );
  }

  #maybeGarbage(height: number): void {
    const rng = this.#c.rng;
    if (!rng.chance(this.#p.garbage)) return;
    const to = rng.pick(this.#peers());
    if (to === undefined) return;
    if (this.#c.app()?.evidence !== undefined && rng.chance(0.25)) {
      this.#badEvidence(to, height);
      return;
    }
    const kind = rng.int(0, 4);
    let bytes: Uint8Array;
    let what: string;
    const recent = this.#recent.length > 0 ? rng.pick(this.#recent) : undefined;
    if (kind === 0 || recent === undefined) {
      bytes = rng.bytes(rng.int(0, 300));
      if (bytes.length > 0) bytes[0] = rng.int(0, 6);
      what = `${bytes.length} random bytes`;
    } else if (kind === 1) {
      bytes = recent.slice();
      for (let k = rng.int(1, 3); k > 0; k--) {
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(0, 7));
      }
      what = 'a bit-flipped message';
    } else if (kind === 2) {
      bytes = recent.slice(0, rng.int(0, Math.max(0, recent.length - 1)));
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
      bytes = encodeWire({ kind: 'vote', vote });
      what = `a signed vote for height ${vote.vote.height}`;
    } else {
      bytes = encodeWire({ kind: 'status', height: rng.int(0, 0xffffffff), stuck: rng.int(0, 255) });
      what = 'a lying status';
    }
    this.#c.send(to, bytes);
    this.#c.action('garbage', `${what} to node ${to}`);
  }
}
