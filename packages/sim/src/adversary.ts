/**
 * The network adversary of a scenario: Twins (a Byzantine validator run as
 * two honest nodes sharing one key) and a scheduler that decides, for every
 * message of one height, who hears it — gossip, relays and the replies of
 * the request/response protocols alike, so that neither the transport's
 * relay nor the node's liveness protocol hands out what the schedule
 * withholds. Two kinds of schedule:
 *
 * - `partitions` (Twins, Bano et al. 2020): for each of the first rounds of
 *   the height, a partition of the nodes (twins included) into groups that
 *   hear only each other. Enumerated for four validators (the seed indexes
 *   the list of every schedule of two-group partitions), sampled for more.
 * - `lock-split`: the dangerous state of Tendermint's locking, built by
 *   selective delivery. In round 0 everyone gets the proposal; the prevotes
 *   reach a decider group X and a locked group Y (a polka for v visible to a
 *   subset: both lock v), never the rest Z; the precommits reach X only (a
 *   commit quorum visible to X: it decides v). In round 1 X and the twin
 *   that sided with it are cut off, and Y, Z and the other twin (which saw
 *   none of round 0) hear each other: the proposer of round 1 (in Z, or the
 *   other twin) proposes a fresh value, which a correct Y refuses (L23: it
 *   is locked on v) and a core that ignores its lock accepts — then Y, Z
 *   and the twin decide another block than X.
 *
 * Everything else goes through: other heights, rounds past the schedule,
 * evidence and transactions. The schedule ends (and the network delivers
 * again whatever is sent) a bounded time after the height began, before the
 * liveness phase; nothing withheld is ever sent again, so the nodes recover
 * with their own protocols. Safety never depends on timing, so no schedule
 * can make a correct node decide wrong; each only makes the wrong code's
 * mistake show.
 */
import { proposerIndex } from '@synod/consensus';
import type { BlockWithCommit, ConsensusReply } from '@synod/node';
import { encodeProposalMessage, readProposalEnvelope } from '@synod/p2p/validation';
import {
  type Commit,
  decodeBlock,
  decodeSignedVote,
  proposalSignBytes,
  type ValidatorSet,
} from '@synod/types';
import type { Scheduler } from './network.js';
import type { Rng } from './rng.js';
import type { Packet } from './transport.js';

export type AttackKind = 'partitions' | 'lock-split' | 'lock-split-pol';

/** The adversary of a scenario (null: none). */
export interface AdversaryPlan {
  readonly kind: AttackKind;
  /** The Byzantine validator (node index) run as twins; its twin is node `validators`. */
  readonly twinOf: number;
  /** The height the schedule applies to. */
  readonly height: number;
  /** Rounds of that height under the schedule (0..rounds−1). */
  readonly rounds: number;
  /** The schedule ends this long after the first message of the height (simulated ms). */
  readonly lengthMs: number;
  /** `partitions`: for each round, each node's group (nodes 0..validators, the twin last). */
  readonly partitions: readonly (readonly number[])[];
}

type Kind = 'proposal' | 'prevote' | 'precommit';

/** Every schedule of two-group partitions of `nodes` nodes over `rounds` rounds (node 0 in group 0). */
export function partitionSchedules(nodes: number, rounds: number): number[][][] {
  const one: number[][] = [];
  for (let mask = 0; mask < 1 << (nodes - 1); mask++)
    one.push(Array.from({ length: nodes }, (_, i) => (i === 0 ? 0 : (mask >> (i - 1)) & 1)));
  let out: number[][][] = [[]];
  for (let r = 0; r < rounds; r++) out = out.flatMap((s) => one.map((p) => [...s, p]));
  return out;
}

/**
 * The adversary's plan for a seed: a schedule kind, the Byzantine validator
 * to run as twins, the height and the rounds. For four validators the
 * `partitions` schedule is the seed's entry in the enumeration of every
 * two-round schedule of two-group partitions of the five nodes (256); for
 * more it is sampled.
 */
export function chooseAdversary(
  rng: Rng,
  seed: number,
  validators: number,
  byzantine: readonly number[],
  heights: number,
): AdversaryPlan | null {
  if (byzantine.length === 0 || validators < 4 || heights < 4) return null;
  const kind = rng.pick<AttackKind>(['lock-split', 'lock-split-pol', 'partitions']);
  const twinOf = rng.pick(byzantine);
  const height = rng.int(2, Math.max(2, heights - 2));
  const nodes = validators + 1;
  let partitions: number[][] = [];
  if (kind === 'partitions') {
    if (validators === 4) {
      const all = partitionSchedules(nodes, 2);
      partitions = all[seed % all.length] as number[][];
    } else
      partitions = Array.from({ length: 2 }, () =>
        Array.from({ length: nodes }, (_, i) => (i === 0 ? 0 : rng.int(0, 1))),
      );
  }
  return { kind, twinOf, height, rounds: kind === 'lock-split-pol' ? 3 : 2, lengthMs: 0, partitions };
}

/** What the adversary reads of the world. */
export interface AdversaryContext {
  readonly validators: number;
  /** Node index of the twin (= validators). */
  readonly twin: number;
  /** The validator set deciding `height`, when known. */
  setAt(height: number): ValidatorSet | undefined;
  /** Node index of a validator address (−1 if none). */
  indexOf(address: Uint8Array): number;
  /** Byzantine validators (node indices). */
  readonly byzantine: ReadonlySet<number>;
  now(): number;
  /** Tells the trace what the schedule does. */
  note(line: string): void;
  /** Sends a message the schedule held back (through the scheduler again). */
  send(from: number, to: number, packet: Packet): void;
  /** The chain id (sign bytes). */
  readonly chainId: string;
  /** A signature by the twins' validator key (the Byzantine validator's own). */
  signAsTwins(message: Uint8Array): Uint8Array;
}

/** Who hears whom, per (round, kind), at the plan's height. */
type Relation = (from: number, to: number, round: number, kind: Kind) => boolean;

export class Adversary {
  readonly plan: AdversaryPlan;
  readonly #ctx: AdversaryContext;
  readonly #rng: Rng;
  #relation: Relation | undefined | null;
  #endsAt: number | undefined;
  #over = false;
  readonly #origin = new WeakMap<Uint8Array, number>();
  /** Messages held back to be delivered late, and what decides to hold one. */
  #held: { from: number; to: number; packet: Packet }[] = [];
  #hold: ((origin: number, to: number, round: number, kind: Kind) => boolean) | undefined;
  /** Rewrites of the second twin's proposals (by the original bytes), when the plan forges a POL round. */
  #forgePolAt: number | undefined;
  readonly #forged = new WeakMap<Uint8Array, Uint8Array>();
  readonly #decoded = new WeakMap<Uint8Array, { height: number; round: number; kind: Kind } | null>();

  constructor(plan: AdversaryPlan, ctx: AdversaryContext, rng: Rng, lengthMs: number) {
    this.plan = { ...plan, lengthMs };
    this.#ctx = ctx;
    this.#rng = rng;
  }

  /** The schedule's end (the liveness phase ends it too). */
  end(): void {
    if (!this.#over) this.#ctx.note(`adversary: schedule of height ${this.plan.height} over`);
    this.#over = true;
  }

  get over(): boolean {
    return this.#over;
  }

  /** Its height has begun and the schedule is not over: the network is the adversary's alone. */
  get engaged(): boolean {
    return this.#endsAt !== undefined && !this.#over;
  }

  readonly scheduler: Scheduler<Packet> = (from, to, packet) => {
    if (this.#over) return packet;
    if (this.#endsAt !== undefined && this.#ctx.now() >= this.#endsAt) {
      this.end();
      return packet;
    }
    // Until then the second twin follows the chain but nothing it says leaves it, except at the
    // plan's height: two honest nodes with one key would sign conflicting messages at every height,
    // and the validator would be punished and out of the set before its turn.
    const quiet = from === this.#ctx.twin;
    switch (packet.kind) {
      case 'request':
        return packet;
      case 'gossip': {
        if (packet.topic !== 'votes' && packet.topic !== 'proposals') return quiet ? undefined : packet;
        // Who signed it: the node that sent these bytes first (a relay sends the same array on).
        let origin = this.#origin.get(packet.bytes);
        if (origin === undefined) {
          origin = from;
          this.#origin.set(packet.bytes, from);
        }
        const m = this.#classify(packet.topic, packet.bytes);
        if (m !== null && m.height >= this.plan.height + 2 && this.#endsAt !== undefined && !quiet) {
          // A quorum decided the height and the next: what the schedule withholds there is played
          // out, and a node it kept behind must not miss more commits than a partition would cost it.
          this.end();
          return packet;
        }
        if (m === null || m.height !== this.plan.height) return quiet ? undefined : packet;
        if (this.#allows(origin, to, m.round, m.kind)) {
          if (origin === this.#ctx.twin && m.kind === 'proposal' && m.round === this.#forgePolAt)
            return { ...packet, bytes: this.#forge(packet.bytes) };
          return packet;
        }
        if (this.#hold?.(origin, to, m.round, m.kind) === true && this.#held.length < 10_000)
          this.#held.push({ from, to, packet });
        return undefined;
      }
      case 'response':
        return this.#filterReply(from, to, packet, quiet);
    }
  };

  /**
   * The second twin's proposal of round `#forgePolAt`, signed again with a
   * POL round it does not have (round 0): a fresh value dressed as a
   * re-proposal, which a correct node takes only with 2f+1 prevotes for it in
   * that round (L28).
   */
  #forge(bytes: Uint8Array): Uint8Array {
    const known = this.#forged.get(bytes);
    if (known !== undefined) return known;
    let out = bytes;
    try {
      const { signedProposal, blockBytes } = readProposalEnvelope(bytes);
      const proposal = { ...signedProposal.proposal, polRound: 0 };
      const signature = this.#ctx.signAsTwins(proposalSignBytes(this.#ctx.chainId, proposal));
      out = encodeProposalMessage({
        signedProposal: { proposal, signature },
        block: decodeBlock(blockBytes),
      });
      this.#origin.set(out, this.#ctx.twin);
      this.#decoded.set(out, this.#decoded.get(bytes) ?? null);
    } catch {
      out = bytes;
    }
    this.#forged.set(bytes, out);
    return out;
  }

  #classify(
    topic: 'votes' | 'proposals',
    bytes: Uint8Array,
  ): { height: number; round: number; kind: Kind } | null {
    const known = this.#decoded.get(bytes);
    if (known !== undefined) return known;
    let out: { height: number; round: number; kind: Kind } | null = null;
    try {
      if (topic === 'votes') {
        const v = decodeSignedVote(bytes).vote;
        out = { height: v.height, round: v.round, kind: v.type };
      } else {
        const p = readProposalEnvelope(bytes).signedProposal.proposal;
        out = { height: p.height, round: p.round, kind: 'proposal' };
      }
    } catch {
      out = null;
    }
    this.#decoded.set(bytes, out);
    return out;
  }

  /** Whether a message of (plan height, round, kind) from `from` reaches `to`. */
  #allows(from: number, to: number, round: number, kind: Kind): boolean {
    if (round >= this.plan.rounds) return true;
    if (this.#endsAt === undefined) this.#endsAt = this.#ctx.now() + this.plan.lengthMs;
    if (this.#relation === undefined) this.#relation = this.#build();
    return this.#relation === null ? true : this.#relation(from, to, round, kind);
  }

  /**
   * Whether `to` may hear a message of the plan's height signed by
   * `address` (in a reply: which twin signed a message of their validator
   * is unknown, so both must be allowed).
   */
  #signedAllows(address: Uint8Array, to: number, round: number, kind: Kind): boolean {
    const signer = this.#ctx.indexOf(address);
    if (signer < 0) return true;
    if (signer === this.plan.twinOf)
      return this.#allows(signer, to, round, kind) && this.#allows(this.#ctx.twin, to, round, kind);
    return this.#allows(signer, to, round, kind);
  }

  /** A commit of the plan's height: the precommits of everyone who signed it. */
  #commitAllows(commit: Commit, to: number): boolean {
    const set = this.#ctx.setAt(commit.height);
    if (set === undefined) return false;
    return commit.signatures.every((sig, i) => {
      const v = set.validators[i];
      return (
        sig.flag === 'absent' ||
        v === undefined ||
        this.#signedAllows(v.address, to, commit.round, 'precommit')
      );
    });
  }

  /** A reply without what the schedule withholds (`quiet`: the second twin's, only its messages of the plan's height). */
  #filterReply(
    from: number,
    to: number,
    packet: Packet & { kind: 'response' },
    quiet: boolean,
  ): Packet | undefined {
    const h = this.plan.height;
    const body = packet.body as Partial<ConsensusReply> | readonly BlockWithCommit[] | undefined;
    const isReply = typeof body === 'object' && body !== null && !Array.isArray(body) && 'votes' in body;
    if (quiet) {
      if (!isReply) return undefined;
      const reply = body as ConsensusReply;
      const planned: ConsensusReply = {
        votes: reply.votes.filter((v) => v.vote.height === h),
        proposals: reply.proposals.filter((m) => m.signedProposal.proposal.height === h),
      };
      return this.#filterReply(from, to, { ...packet, body: planned }, false);
    }
    if (!packet.ok || this.#relation === undefined) return packet;
    if (Array.isArray(body)) {
      // block-range: a commit of the height is the precommits of its round
      const range = body as readonly BlockWithCommit[];
      const kept = range.filter((b) => b.block.header.height !== h || this.#commitAllows(b.commit, to));
      return kept.length === range.length ? packet : { ...packet, body: kept };
    }
    if (!isReply) return packet;
    const reply = body as ConsensusReply;
    const votes = reply.votes.filter(
      (v) =>
        v.vote.height !== h || this.#signedAllows(v.vote.validatorAddress, to, v.vote.round, v.vote.type),
    );
    const proposals = reply.proposals.filter(
      (p) =>
        p.signedProposal.proposal.height !== h ||
        this.#signedAllows(
          p.signedProposal.proposal.proposerAddress,
          to,
          p.signedProposal.proposal.round,
          'proposal',
        ),
    );
    const d = reply.decided;
    const decided =
      d === undefined || d.block.header.height !== h || this.#commitAllows(d.commit, to) ? d : undefined;
    if (votes.length === reply.votes.length && proposals.length === reply.proposals.length && decided === d)
      return packet;
    const filtered: ConsensusReply = { votes, proposals, ...(decided === undefined ? {} : { decided }) };
    return { ...packet, body: filtered };
  }

  /** The relation of the plan, built when the height's first message is sent (null: not feasible here). */
  #build(): Relation | null {
    const p = this.plan;
    const ctx = this.#ctx;
    const b1 = p.twinOf;
    const b2 = ctx.twin;
    if (p.kind === 'partitions') {
      const groups = p.partitions;
      ctx.note(
        `adversary: twins of validator ${b1} (nodes ${b1}, ${b2}); height ${p.height} rounds 0-${p.rounds - 1} partitioned ${groups
          .map((g) => g.join(''))
          .join(' / ')}`,
      );
      return (from, to, round) => {
        const g = groups[round];
        return g === undefined || g[from] === g[to];
      };
    }
    const set = ctx.setAt(p.height);
    if (set === undefined) return this.#infeasible('validator set unknown');
    const total = set.validators.reduce((a, v) => a + BigInt(v.votingPower), 0n);
    const power = new Map<number, bigint>();
    for (const v of set.validators) power.set(ctx.indexOf(v.address), BigInt(v.votingPower));
    if (!power.has(b1)) return this.#infeasible('the twins are not in the set');
    const proposerNode = (round: number): number =>
      ctx.indexOf((set.validators[proposerIndex(set.validators, round)] as { address: Uint8Array }).address);
    const honest = [...power.keys()].filter((i) => !ctx.byzantine.has(i));
    /** The power of a group of nodes: each validator once (the twins are one validator). */
    const pow = (nodes: Iterable<number>): bigint => {
      let sum = 0n;
      for (const i of new Set([...nodes].map((j) => (j === b2 ? b1 : j)))) sum += power.get(i) ?? 0n;
      return sum;
    };
    const below = (nodes: Iterable<number>): boolean => pow(nodes) * 3n < total;
    const quorum = (nodes: Iterable<number>): boolean => pow(nodes) * 3n > total * 2n;
    if (p.kind === 'lock-split-pol') return this.#pol({ honest, pow, below, quorum, proposerNode });
    // Z: the proposer of round 1 when honest (it proposes a fresh value there); X: the decider; Y: locked.
    const p1 = proposerNode(1);
    const z = honest.includes(p1) ? [p1] : [];
    const x = this.#rng.shuffle(honest.filter((i) => !z.includes(i))).slice(0, 1);
    const y = honest.filter((i) => !z.includes(i) && !x.includes(i));
    if (x.length === 0 || y.length === 0 || !below(x) || !below(z) || quorum(y))
      return this.#infeasible('no decider, locked and rest groups of the right power');
    // S: whose prevotes for v Z and the second twin see, so that with the twin's nil they count
    // a quorum of prevotes (their prevote timeout runs) but no polka for v.
    const s: number[] = [];
    for (const i of this.#rng.shuffle([...x, ...y])) if (!quorum([...z, ...s, i])) s.push(i);
    if (!quorum([...z, ...s, b2]) || quorum([...z, ...s]))
      return this.#infeasible('no set of prevotes that times out without a polka');
    const inX = new Set([...x, b1]);
    const inY = new Set(y);
    const blind = new Set([...z, b2]);
    const seen = new Set([...z, ...s, b2]);
    const late = new Set([...y, ...z, b2]);
    // When the twins propose round 1, half of the time the second twin's fresh proposal is forged
    // into a re-proposal with POL round 0 (which it does not have): Y may take it only with L28's
    // quorum of prevotes.
    if (p1 === b1 && this.#rng.chance(0.5)) this.#forgePolAt = 1;
    ctx.note(
      `adversary: lock-split at height ${p.height} (twins of validator ${b1}: nodes ${b1}, ${b2}): decider {${x}}, locked {${y}}, rest {${z}}; proposer of round 1 node ${p1}${this.#forgePolAt === undefined ? '' : ', its proposal forged with POL round 0'}`,
    );
    return (from, to, round, kind) => {
      if (round > 0) return late.has(from) && late.has(to);
      switch (kind) {
        case 'proposal':
          // everyone but the second twin gets round 0's proposal; the second twin's is withheld
          return from !== b2 && to !== b2;
        case 'prevote':
          // a polka for v visible to X and Y only
          return blind.has(to) ? seen.has(from) : true;
        case 'precommit':
          // a commit quorum visible to X only; Y and Z see their own and the nil ones, enough to time out
          return inX.has(to) || (inY.has(to) || blind.has(to) ? late.has(from) : false);
      }
    };
  }

  /**
   * `lock-split-pol`. Round 0: the proposal v reaches everyone but the first
   * twin (it prevotes nil); the polka for v reaches only L0 (the proposer of
   * round 2 when honest) and the second twin, which lock v; the others see
   * prevotes for v short of a polka and the first twin's nil, enough to time
   * out; nobody sees a commit quorum. Round 1: the fresh v' of the round's
   * proposer reaches everyone but L0 and the second twin; its polka X, Y and
   * the first twin (they lock v' at 1); its commit quorum X only (X decides
   * v'). Round 2, between L0, Y and the second twin: the proposer of round 2
   * re-proposes v with POL round 0, and round 0's prevotes — the proof of
   * lock — now reach Y (a proposal with a POL round delivered late, through
   * the liveness protocol's replies): a correct Y is locked at round 1 > 0
   * and prevotes nil (L29), a core that ignores its lock's round prevotes v,
   * and L0, Y and the twin decide v.
   */
  #pol(h: {
    honest: number[];
    pow: (nodes: Iterable<number>) => bigint;
    below: (nodes: Iterable<number>) => boolean;
    quorum: (nodes: Iterable<number>) => boolean;
    proposerNode: (round: number) => number;
  }): Relation | null {
    const p = this.plan;
    const b1 = p.twinOf;
    const b2 = this.#ctx.twin;
    const { honest, below, quorum } = h;
    const p1 = h.proposerNode(1);
    const p2 = h.proposerNode(2);
    if (!honest.includes(p1) && p1 !== b1)
      return this.#infeasible('the proposer of round 1 is another Byzantine');
    if (!honest.includes(p2) && p2 !== b1)
      return this.#infeasible('the proposer of round 2 is another Byzantine');
    if (p1 === p2) return this.#infeasible('one proposer for rounds 1 and 2');
    if (h.proposerNode(0) === b1) return this.#infeasible('the twins propose round 0');
    const l0 = honest.includes(p2) ? [p2] : [];
    const x = this.#rng.shuffle(honest.filter((i) => i !== p2)).slice(0, 1);
    const y = honest.filter((i) => !l0.includes(i) && !x.includes(i));
    if (
      x.length === 0 ||
      y.length === 0 ||
      !below(x) ||
      !below(l0) ||
      quorum(y) ||
      !quorum([...y, ...l0, b2])
    )
      return this.#infeasible('no decider, first-lock and second-lock groups of the right power');
    // S0: the prevotes for v that X, Y and the first twin see in round 0 (with the twin's nil: a
    // quorum of prevotes, no polka), searched among the subsets of the honest validators.
    const receivers = [...x, ...y];
    const fits = (s0: number[]): boolean =>
      receivers.every((i) => !quorum([...s0, i]) && quorum([...s0, i, b1]));
    let s0: number[] | undefined;
    if (honest.length <= 12) {
      const order = this.#rng.shuffle(honest);
      for (let mask = 1; mask < 1 << order.length && s0 === undefined; mask++) {
        const pick = order.filter((_, i) => (mask >> i) & 1);
        if (fits(pick)) s0 = pick;
      }
    }
    if (s0 === undefined) return this.#infeasible('no set of prevotes that times out without a polka');
    const seen0 = new Set([...s0, b1]);
    const first = new Set([...l0, b2]);
    const inX = new Set([...x, b1]);
    const late = new Set([...l0, ...y, b2]);
    let phase2 = false;
    // Y's round-0 prevotes are held back, and delivered when round 2 begins among L0, Y and the twin.
    this.#hold = (_origin, to, round, kind) => round === 0 && kind === 'prevote' && !phase2 && y.includes(to);
    const release = (): void => {
      const held = this.#held;
      this.#held = [];
      this.#hold = undefined;
      this.#ctx.note(`adversary: round 2 begins: ${held.length} held prevotes of round 0 delivered`);
      for (const m of held) this.#ctx.send(m.from, m.to, m.packet);
    };
    this.#ctx.note(
      `adversary: lock-split-pol at height ${p.height} (twins of validator ${b1}: nodes ${b1}, ${b2}): locked at 0 {${l0}}${l0.length === 0 ? ' (the second twin)' : ''}, decider {${x}}, locked at 1 {${y}}; proposers of rounds 1, 2: nodes ${p1}, ${p2}`,
    );
    return (from, to, round, kind) => {
      if (round >= 2 && !phase2 && late.has(from) && late.has(to)) {
        phase2 = true;
        release();
      }
      if (round === 0) {
        switch (kind) {
          case 'proposal':
            return to !== b1 && from !== b2;
          case 'prevote':
            // the polka to L0 and the twins (the first has no proposal: it only times out); to Y
            // late (round 2 under way), the proof of lock
            return first.has(to) || to === b1 || seen0.has(from) || (phase2 && late.has(to));
          case 'precommit':
            return true;
        }
      }
      if (round === 1) {
        if (from === b2) return kind !== 'proposal' && !inX.has(to);
        switch (kind) {
          case 'proposal':
            return !first.has(to);
          case 'prevote':
            return true;
          case 'precommit':
            return inX.has(to) || (!inX.has(from) && from !== b1);
        }
      }
      return late.has(from) && late.has(to);
    };
  }

  #infeasible(why: string): null {
    this.#ctx.note(`adversary: no ${this.plan.kind} at height ${this.plan.height} (${why})`);
    return null;
  }
}
