/**
 * The engine against one Byzantine validator or one hostile peer (issue #11:
 * items 1, 2, 4, 5, 6, 7, 8, 9): every block the node learns reaches the core, a
 * thrown validation or a failed fetch is retried, the next-height buffer gives
 * each validator a quota, and only inputs that can change the core's state
 * reach the WAL.
 */
import { verify as cryptoVerify, sign } from '@synod/crypto';
import {
  type Block,
  blockHash,
  EMPTY_COMMIT,
  LIMITS,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type ValidatorSet,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConsensusCore,
  ConsensusEngine,
  type ConsensusEngineOptions,
  DEFAULT_FUTURE_ROUND_QUOTA,
} from '../../src/index.js';
import {
  CHAIN_ID,
  EventLog,
  EvidenceLog,
  FakeApp,
  FakeBlockStore,
  FakeNetwork,
  label,
  ManualClock,
  MemoryStateStore,
  MemoryWal,
  makeBlock,
  PARAMS,
  TestSigner,
  testValidators,
} from './fakes.js';

const { set, keyOf } = testValidators();

const addressOf = (i: number): Uint8Array =>
  (set.validators[i] as ValidatorSet['validators'][number]).address;

function node(self: number | null, extra: Partial<ConsensusEngineOptions> = {}, found?: MemoryWal) {
  const log = new EventLog();
  const wal = found?.crash(log) ?? new MemoryWal(log);
  const signer = self === null ? null : new TestSigner(keyOf(self), new MemoryStateStore(), log);
  const network = new FakeNetwork(log);
  const app = new FakeApp(log, set);
  const store = new FakeBlockStore(log);
  const clock = new ManualClock();
  const evidence = new EvidenceLog();
  const halts: Error[] = [];
  const engine = new ConsensusEngine({
    chainId: CHAIN_ID,
    signer,
    wal,
    blockStore: store,
    network,
    application: app,
    clock,
    params: PARAMS,
    start: { height: 1, validatorSet: set, lastCommit: EMPTY_COMMIT },
    evidence,
    onHalt: (e) => halts.push(e),
    ...extra,
  });
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      await engine.idle();
    }
  };
  const count = (pred: (e: (typeof log.events)[number]) => boolean) => log.events.filter(pred).length;
  const walAppends = (kind: string) => count((e) => e.port === 'wal' && e.op === 'append' && e.kind === kind);
  const validations = () => count((e) => e.port === 'app' && e.op === 'validate');
  const fetches = () => count((e) => e.port === 'network' && e.op === 'fetch');
  return {
    engine,
    log,
    wal,
    network,
    app,
    store,
    clock,
    evidence,
    halts,
    settle,
    walAppends,
    validations,
    fetches,
  };
}

function vote(
  index: number,
  type: Vote['type'],
  height: number,
  round: number,
  block: Block | null,
): SignedVote {
  const v: Vote = {
    type,
    height,
    round,
    blockHash: block === null ? null : blockHash(block),
    validatorAddress: addressOf(index),
  };
  return { vote: v, signature: sign(keyOf(index), voteSignBytes(CHAIN_ID, v)) };
}

function proposal(index: number, height: number, round: number, block: Block, polRound = -1): SignedProposal {
  const p = {
    height,
    round,
    polRound,
    blockHash: blockHash(block),
    timestampMs: 1_700_000_000_000,
    proposerAddress: addressOf(index),
  };
  return { proposal: p, signature: sign(keyOf(index), proposalSignBytes(CHAIN_ID, p)) };
}

/** Proposer of (h, r) with four validators of equal power. */
const proposerOf = (h: number, r: number): number => (h - 1 + r) % 4;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('#11.1 a block the node learns always reaches the core', () => {
  it('a proposer that sends B1 to the victim and B2 to the rest: the victim decides B2 and reports the double proposal', async () => {
    const victim = node(3);
    await victim.engine.start();
    const b1 = makeBlock(1, 'B1');
    const b2 = makeBlock(1, 'B2');
    // The Byzantine proposer (0) shows B1 to the victim only; the victim prevotes it.
    await victim.engine.receiveProposal(proposal(0, 1, 0, b1), b1);
    expect(victim.network.lines()).toEqual(['prevote 1/0 block']);
    // B2's proposal reaches the victim later (relayed), and peers serve B2 by hash.
    await victim.engine.receiveProposal(proposal(0, 1, 0, b2), b2);
    victim.network.served.set(Buffer.from(blockHash(b2)).toString('hex'), b2);
    // The rest decide B2.
    for (const i of [0, 1, 2]) await victim.engine.receiveVote(vote(i, 'prevote', 1, 0, b2));
    for (const i of [0, 1, 2]) await victim.engine.receiveVote(vote(i, 'precommit', 1, 0, b2));
    await victim.settle();
    expect(victim.store.blocks.map((b) => label(b.block))).toEqual(['B2']);
    expect(victim.evidence.reported.map((e) => e.kind)).toEqual(['double-proposal']);
    expect(victim.halts).toEqual([]);
  });

  it('a block validated with a proposal the core did not take is handed to the core when the core asks for it, not fetched', async () => {
    const victim = node(3);
    await victim.engine.start();
    const b1 = makeBlock(1, 'B1');
    const b2 = makeBlock(1, 'B2');
    await victim.engine.receiveProposal(proposal(0, 1, 0, b1), b1);
    await victim.engine.receiveProposal(proposal(0, 1, 0, b2), b2);
    for (const i of [0, 1, 2]) await victim.engine.receiveVote(vote(i, 'precommit', 1, 0, b2));
    await victim.settle();
    // Nobody serves B2 by hash: the engine already holds it.
    expect(victim.store.blocks.map((b) => label(b.block))).toEqual(['B2']);
    expect(victim.validations()).toBe(2);
  });
});

describe('#11.2 an exception is not a verdict', () => {
  it('a validateBlock that throws is retried (clock backoff) and the commit quorum still decides', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    n.app.validateFailures = 2;
    await n.engine.receiveProposal(proposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    expect(n.store.blocks).toEqual([]);
    expect(n.validations()).toBe(1);
    // The retries run on the clock, with a growing delay; the third attempt succeeds.
    n.clock.advance(10_000);
    await n.settle();
    n.clock.advance(10_000);
    await n.settle();
    expect(n.validations()).toBe(3);
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
    expect(n.halts).toEqual([]);
  });

  it('a real "invalid" verdict is cached: the block is validated once and never decided', async () => {
    const n = node(3);
    await n.engine.start();
    const bad = makeBlock(1, 'bad');
    n.network.served.set(Buffer.from(blockHash(bad)).toString('hex'), bad);
    await n.engine.receiveProposal(proposal(0, 1, 0, bad), bad);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, bad));
    n.clock.advance(60_000);
    await n.settle();
    expect(n.validations()).toBe(1);
    expect(n.store.blocks).toEqual([]);
  });

  it('a block whose body does not match its header is no verdict for that hash: the right block still decides', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const forged: Block = { ...a, txs: [new TextEncoder().encode('bad')] }; // same header, other body
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.engine.receiveBlock(forged);
    expect(n.validations()).toBe(0);
    expect(n.walAppends('block')).toBe(0);
    await n.engine.receiveBlock(a);
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
  });

  it('retries stop when the height ends', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const b = makeBlock(1, 'B');
    n.app.validateFailures = 1_000;
    await n.engine.receiveProposal(proposal(0, 1, 0, b), b); // validation keeps failing
    n.app.validateFailures = 0;
    // The height is decided on A (fetched by hash).
    n.network.served.set(Buffer.from(blockHash(a)).toString('hex'), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    expect(n.store.blocks.map((x) => label(x.block))).toEqual(['A']);
    const before = n.validations();
    n.clock.advance(600_000);
    await n.settle();
    expect(n.validations()).toBe(before);
  });
});

describe('#11.4 a missing block is asked for until it arrives', () => {
  it('fetches that fail or find nothing are retried with a capped backoff until the block arrives', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    n.network.fetchFailures = 3;
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    expect(n.fetches()).toBe(1);
    for (let i = 0; i < 3; i++) {
      n.clock.advance(10_000);
      await n.settle();
    }
    expect(n.fetches()).toBe(4);
    // Nobody has it yet: fetches succeed but find nothing; still asking.
    n.clock.advance(10_000);
    await n.settle();
    expect(n.fetches()).toBe(5);
    n.network.served.set(Buffer.from(blockHash(a)).toString('hex'), a);
    n.clock.advance(10_000);
    await n.settle();
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
    // Arrived: no more fetches.
    const done = n.fetches();
    n.clock.advance(600_000);
    await n.settle();
    expect(n.fetches()).toBe(done);
  });

  it('the delay between attempts grows and is capped', async () => {
    const n = node(3);
    await n.engine.start();
    n.network.fetchFailures = 1_000;
    const a = makeBlock(1, 'A');
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    const at: number[] = [];
    for (let s = 0; s < 120; s++) {
      const before = n.fetches();
      n.clock.advance(1_000);
      await n.settle();
      if (n.fetches() > before) at.push(s + 1);
    }
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    expect(gaps.length).toBeGreaterThan(5);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1] as number);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(10);
  });

  it('stop() cancels the retries', async () => {
    const n = node(3);
    await n.engine.start();
    n.network.fetchFailures = 1_000;
    const a = makeBlock(1, 'A');
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    await n.engine.stop();
    const before = n.fetches();
    n.clock.advance(600_000);
    await n.settle();
    expect(n.fetches()).toBe(before);
    expect(n.clock.pending()).toBe(0);
  });
});

describe('#11.5 an equivocation flood costs a lookup per vote', () => {
  it('2,000 distinct conflicting prevotes of one validator: a few signature checks and WAL records, the height is decided, the evidence reported once', async () => {
    let verified = 0;
    const n = node(3, {
      verifySignature: (key, message, signature) => {
        verified++;
        return cryptoVerify(key, message, signature);
      },
    });
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(proposal(0, 1, 0, a), a);
    const before = verified;
    // Validator 2 prevotes nil, then 2,000 blocks nobody else votes for.
    const flood = [vote(2, 'prevote', 1, 0, null)];
    for (let i = 0; i < 2_000; i++) flood.push(vote(2, 'prevote', 1, 0, makeBlock(1, `X${i}`)));
    for (const v of flood) await n.engine.receiveVote(v);
    // Its first vote and its first conflicting one (the evidence): nothing else is checked or written.
    expect(verified - before).toBe(2);
    expect(n.walAppends('vote')).toBe(2);
    // Its vote for A, which others vote for, is still taken and counts.
    await n.engine.receiveVote(vote(2, 'prevote', 1, 0, a));
    expect(n.walAppends('vote')).toBe(3);
    await n.engine.receiveVote(vote(0, 'prevote', 1, 0, a));
    await n.settle();
    expect(n.network.votes.at(-1)?.vote).toMatchObject({ type: 'precommit', blockHash: blockHash(a) });
    for (const i of [0, 1]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    expect(n.store.blocks).toHaveLength(1);
    expect(n.evidence.reported.map((e) => e.kind)).toEqual(['duplicate-vote']);
    // The flood again, after the decision: nothing reaches the WAL or the evidence sink.
    const appends = n.walAppends('vote');
    for (const v of flood.slice(0, 100)) await n.engine.receiveVote(v);
    expect(n.walAppends('vote')).toBe(appends);
    expect(n.evidence.reported).toHaveLength(1);
    // Signing 2,000 votes takes seconds on a loaded machine: a generous limit, no time asserted.
  }, 120_000);
});

describe('#11.6 messages of rounds above ours are bounded per validator', () => {
  it('one validator proposing and voting in hundreds of future rounds: its quota is checked, validated and written, the rest dropped before any work', async () => {
    let verified = 0;
    const n = node(3, {
      verifySignature: (key, message, signature) => {
        verified++;
        return cryptoVerify(key, message, signature);
      },
    });
    await n.engine.start();
    const { messages, proposals } = DEFAULT_FUTURE_ROUND_QUOTA;
    // Validator 1 proposes (a distinct block each) in 100 rounds it is the proposer of: 5, 9, 13, …
    for (let k = 1; k <= 100; k++) {
      const r = 4 * k + 1;
      const b = makeBlock(1, `F${r}`, addressOf(1));
      await n.engine.receiveProposal(proposal(1, 1, r, b), b);
    }
    expect(n.validations()).toBe(proposals);
    expect(n.walAppends('proposal')).toBe(proposals);
    // …and prevotes in rounds 1…300.
    for (let r = 1; r <= 300; r++) await n.engine.receiveVote(vote(1, 'prevote', 1, r, null));
    expect(n.walAppends('vote')).toBe(messages - proposals);
    expect(verified).toBe(messages);
    // The height goes on at round 0.
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(proposal(0, 1, 0, a), a);
    for (const i of [0, 2]) await n.engine.receiveVote(vote(i, 'prevote', 1, 0, a));
    for (const i of [0, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    await n.settle();
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
  });
});

describe('#11.7 the next-height buffer gives each validator a quota', () => {
  async function decideHeight1(n: ReturnType<typeof node>): Promise<void> {
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(proposal(0, 1, 0, a), a);
    for (const i of [0, 1]) await n.engine.receiveVote(vote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks).toHaveLength(1);
  }

  it('one validator flooding next-height messages does not crowd out the honest round-0 proposal', async () => {
    const n = node(3, { futureMessagesMax: 64 });
    await n.engine.start();
    await decideHeight1(n);
    // Validator 2 floods height 2 with votes for many rounds (during the commit wait).
    for (let r = 0; r < 200; r++) await n.engine.receiveVote(vote(2, 'prevote', 2, r, null));
    // Forged messages in an honest validator's name do not use up its quota.
    for (let r = 0; r < 200; r++)
      await n.engine.receiveVote({
        ...vote(0, 'prevote', 2, r, null),
        signature: new Uint8Array(64).fill(7),
      });
    const c = makeBlock(2, 'C');
    await n.engine.receiveProposal(proposal(proposerOf(2, 0), 2, 0, c), c);
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    expect(n.network.votes.at(-1)?.vote).toMatchObject({
      type: 'prevote',
      height: 2,
      round: 0,
      blockHash: blockHash(c),
    });
  });
});

describe('#11.8 only inputs that can change the core reach the WAL', () => {
  it('the same vote many times is appended once', async () => {
    const n = node(3);
    await n.engine.start();
    const v = vote(1, 'prevote', 1, 0, makeBlock(1, 'A'));
    for (let i = 0; i < 50; i++) await n.engine.receiveVote(v);
    expect(n.walAppends('vote')).toBe(1);
  });

  it('the same proposal with its block many times is appended (and validated) once', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const p = proposal(0, 1, 0, a);
    for (let i = 0; i < 50; i++) await n.engine.receiveProposal(p, a);
    expect(n.walAppends('proposal')).toBe(1);
    expect(n.validations()).toBe(1);
  });

  it('a proposal first seen without its block is taken again with it, once', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const p = proposal(0, 1, 0, a);
    await n.engine.receiveProposal(p);
    for (let i = 0; i < 20; i++) await n.engine.receiveProposal(p, a);
    // The proposal once, then its block once (as a block input: the hash the proposal signed vouches for it).
    expect(n.walAppends('proposal')).toBe(1);
    expect(n.walAppends('block')).toBe(1);
    expect(n.validations()).toBe(1);
    expect(n.network.lines()).toEqual(['prevote 1/0 block']);
  });

  it('a block nobody asked for is neither validated nor appended; a requested one is taken once', async () => {
    const n = node(3);
    await n.engine.start();
    const x = makeBlock(1, 'X');
    for (let i = 0; i < 20; i++) await n.engine.receiveBlock(x);
    expect(n.walAppends('block')).toBe(0);
    expect(n.validations()).toBe(0);
    const a = makeBlock(1, 'A');
    for (const i of [0, 1, 2]) await n.engine.receiveVote(vote(i, 'prevote', 1, 0, a)); // asks for A
    for (let i = 0; i < 20; i++) await n.engine.receiveBlock(a);
    expect(n.walAppends('block')).toBe(1);
    expect(n.validations()).toBe(1);
  });

  it('after a restart the replayed inputs count as seen: repeats are not appended again', async () => {
    const a = node(3);
    await a.engine.start();
    const blockA = makeBlock(1, 'A');
    const p = proposal(0, 1, 0, blockA);
    const v = vote(1, 'prevote', 1, 0, blockA);
    await a.engine.receiveProposal(p, blockA);
    await a.engine.receiveVote(v);
    await a.wal.sync();
    const b = node(3, {}, a.wal);
    await b.engine.start();
    await b.settle();
    expect(b.engine.status()).toEqual(a.engine.status());
    await b.engine.receiveProposal(p, blockA);
    await b.engine.receiveVote(v);
    expect(b.walAppends('proposal') + b.walAppends('vote')).toBe(0);
    expect(b.validations()).toBe(0);
  });

  it('precommits of the decided height are not appended (a restart cannot use them), and repeats are ignored', async () => {
    const n = node(proposerOf(2, 0));
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(proposal(0, 1, 0, a), a);
    for (const i of [0, 2]) await n.engine.receiveVote(vote(i, 'prevote', 1, 0, a));
    for (const i of [0, 2]) await n.engine.receiveVote(vote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks).toHaveLength(1);
    const votesBefore = n.walAppends('vote');
    const late = vote(3, 'precommit', 1, 0, a);
    for (let i = 0; i < 20; i++) await n.engine.receiveVote(late); // during the commit wait
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    for (let i = 0; i < 20; i++) await n.engine.receiveVote(late); // at height 2
    expect(n.walAppends('vote')).toBe(votesBefore);
    // The late precommit still made it into the next block's last commit.
    expect(n.app.builds[0]?.lastCommit.signatures.map((s) => s.flag)).toEqual([
      'commit',
      'commit',
      'commit',
      'commit',
    ]);
  });

  it('timeouts of a round the node has left are not appended', async () => {
    const n = node(3);
    await n.engine.start();
    // Round skip to round 2 (f+1 messages), so the round-0 propose timeout is stale when it fires.
    for (const i of [0, 1]) await n.engine.receiveVote(vote(i, 'prevote', 1, 2, null));
    expect(n.engine.status()?.round).toBe(2);
    n.clock.advance(PARAMS.timeouts.proposeMs);
    await n.settle();
    expect(n.walAppends('timeout')).toBe(0);
  });
});

describe('#11.9 a proposal signature is checked before the round proposer is computed', () => {
  it('a far-round proposal with a bad signature never reaches proposer computation', async () => {
    const spy = vi.spyOn(ConsensusCore.prototype, 'proposer');
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const forged = { ...proposal(1, 1, 9_000, a), signature: new Uint8Array(64).fill(3) };
    await n.engine.receiveProposal(forged, a);
    expect(spy).not.toHaveBeenCalled();
    expect(n.validations()).toBe(0);
    expect(n.walAppends('proposal')).toBe(0);
  });
});

describe('#11.11 the WAL record limit', () => {
  it('an input whose WAL record would exceed LIMITS.walRecordBytesMax is dropped, not a halt', async () => {
    const n = node(proposerOf(1, 0), {
      application: {
        // A block above the codec's limit (no peer could decode it): 65 txs of 1 MiB.
        buildBlock: async (r) => ({
          ...makeBlock(r.height, 'huge', r.proposerAddress),
          txs: Array.from({ length: 65 }, () => new Uint8Array(LIMITS.txBytesMax)),
        }),
        validateBlock: async () => true,
        finalizeBlock: async () => ({ nextValidatorSet: set }),
      },
    });
    await n.engine.start();
    await n.settle();
    expect(n.halts).toEqual([]);
    expect(n.walAppends('value')).toBe(0);
    expect(n.network.proposals).toEqual([]);
  });
});
