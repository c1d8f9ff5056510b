import { type KeyPair, sign } from '@synod/crypto';
import { ConflictingCommitDetector } from '@synod/fault-detector';
import {
  type Block,
  blockHash,
  type Commit,
  commitProblem,
  EMPTY_COMMIT,
  isSynodError,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type ValidatorSet,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  type CommitMonitor,
  type ConflictingCommits,
  ConsensusEngine,
  decodeWalEntry,
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
  RecordingMetrics,
  TestSigner,
  testValidators,
} from './fakes.js';

const { set, keyOf } = testValidators();

interface Node {
  readonly engine: ConsensusEngine;
  readonly log: EventLog;
  readonly wal: MemoryWal;
  readonly stateStore: MemoryStateStore;
  readonly signer: TestSigner | null;
  readonly network: FakeNetwork;
  readonly app: FakeApp;
  readonly store: FakeBlockStore;
  readonly clock: ManualClock;
  readonly evidence: EvidenceLog;
  readonly halts: Error[];
  /** Lets async port callbacks (buildBlock, fetchBlock) land, then waits for the queue. */
  settle(): Promise<void>;
}

function node(
  self: number | null,
  reuse?: {
    wal?: MemoryWal;
    stateStore?: MemoryStateStore;
    log?: EventLog;
    metrics?: RecordingMetrics;
    monitor?: CommitMonitor;
    alerts?: ConflictingCommits[];
  },
): Node {
  const log = reuse?.log ?? new EventLog();
  const wal = reuse?.wal ?? new MemoryWal(log);
  const stateStore = reuse?.stateStore ?? new MemoryStateStore();
  const signer = self === null ? null : new TestSigner(keyOf(self), stateStore, log);
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
    ...(reuse?.metrics ? { metrics: reuse.metrics } : {}),
    ...(reuse?.monitor ? { commitMonitor: reuse.monitor } : {}),
    ...(reuse?.alerts ? { onSecurityAlert: (a: ConflictingCommits) => reuse.alerts?.push(a) } : {}),
  });
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      await engine.idle();
    }
  };
  return { engine, log, wal, stateStore, signer, network, app, store, clock, evidence, halts, settle };
}

function key(index: number): KeyPair {
  return keyOf(index);
}

function signedVote(
  index: number,
  type: Vote['type'],
  height: number,
  round: number,
  block: Block | null,
): SignedVote {
  const vote: Vote = {
    type,
    height,
    round,
    blockHash: block === null ? null : blockHash(block),
    validatorAddress: (set.validators[index] as ValidatorSet['validators'][number]).address,
  };
  return { vote, signature: sign(key(index), voteSignBytes(CHAIN_ID, vote)) };
}

function signedProposal(
  index: number,
  height: number,
  round: number,
  block: Block,
  polRound = -1,
): SignedProposal {
  const proposal = {
    height,
    round,
    polRound,
    blockHash: blockHash(block),
    timestampMs: 1_700_000_000_000,
    proposerAddress: (set.validators[index] as ValidatorSet['validators'][number]).address,
  };
  return { proposal, signature: sign(key(index), proposalSignBytes(CHAIN_ID, proposal)) };
}

/** A commit of `block` at (height, round) signed by `signers`. */
function commitOf(block: Block, height: number, round: number, signers: number[]): Commit {
  return {
    height,
    round,
    blockHash: blockHash(block),
    signatures: set.validators.map((_, i) =>
      signers.includes(i)
        ? { flag: 'commit' as const, signature: signedVote(i, 'precommit', height, round, block).signature }
        : { flag: 'absent' as const, signature: new Uint8Array(64) },
    ),
  };
}

/** Proposer of (h, r) with four validators of equal power. */
const proposerOf = (h: number, r: number): number => (h - 1 + r) % 4;

/**
 * The written effect order, checked on the event log: every broadcast is
 * preceded by its WAL record with sync, then by the signer's answer — in that order.
 */
function expectPersistBeforeSend(log: EventLog, walAtStart?: MemoryWal): number {
  const ev = log.events;
  // After a restart: own messages and signatures already durable in the WAL the node found.
  const durable = new Set<string>();
  const signed = new Set<string>();
  for (const e of walAtStart?.entries ?? []) {
    if (e.type !== 'record') continue;
    const w = decodeWalEntry(e.data);
    if (w.kind === 'own-vote') durable.add(`${w.vote.height}/${w.vote.round}/${w.vote.type}`);
    if (w.kind === 'own-proposal') durable.add(`${w.proposal.height}/${w.proposal.round}/proposal`);
    if (w.kind === 'own-signature') signed.add(`${w.height}/${w.round}/${w.step}`);
  }
  let checked = 0;
  ev.forEach((e, i) => {
    if (e.port !== 'network' || e.op !== 'broadcast') return;
    const walAt = durable.has(e.key)
      ? -1
      : ev.findIndex((x) => x.port === 'wal' && x.op === 'append' && x.key === e.key && x.sync);
    if (!durable.has(e.key)) expect(walAt, `WAL record for ${e.key}`).toBeGreaterThanOrEqual(0);
    const signStart = ev.findIndex(
      (x, j) => j > walAt && x.port === 'signer' && x.op === 'sign-start' && x.key === e.key,
    );
    const signDone = ev.findIndex(
      (x, j) => j > signStart && x.port === 'signer' && x.op === 'sign-done' && x.key === e.key,
    );
    if (signed.has(e.key) && signStart < 0) {
      checked++;
      return; // re-sent with the signature recorded in the WAL
    }
    expect(signStart, `signing of ${e.key} after the WAL sync`).toBeGreaterThan(walAt);
    expect(signDone, `signature of ${e.key}`).toBeGreaterThan(signStart);
    expect(i, `broadcast of ${e.key} after the signature`).toBeGreaterThan(signDone);
    checked++;
  });
  return checked;
}

describe('ConsensusEngine', () => {
  it('runs a height as the proposer: build, propose, vote, decide, save, finalize, end the WAL height, next height', async () => {
    const n = node(proposerOf(1, 0));
    n.app.nextLabel = 'A';
    await n.engine.start();
    await n.settle();
    expect(n.network.lines()).toEqual(['proposal 1/0 A', 'prevote 1/0 block']);
    const a = n.network.proposals[0]?.block as Block;
    for (const i of [1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    expect(n.network.votes.map((v) => v.vote.type)).toEqual(['prevote', 'precommit']);
    for (const i of [1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
    const commit = n.store.blocks[0]?.commit;
    expect(
      commit && commitProblem(CHAIN_ID, set, commit, { height: 1, blockHash: blockHash(a) }),
    ).toBeUndefined();
    expect(commit?.signatures.map((s) => s.flag)).toEqual(['commit', 'commit', 'commit', 'absent']);
    expect(n.app.finalized).toHaveLength(1);
    expect(n.wal.kinds().at(-1)).toBe('end-1');
    // Save, finalize, end-of-height: in that order.
    const order = n.log.events.filter(
      (e) =>
        e.port === 'store' ||
        (e.port === 'app' && e.op === 'finalize') ||
        (e.port === 'wal' && e.op === 'end-height'),
    );
    expect(order.map((e) => `${e.port}:${e.op}`)).toEqual(['store:save', 'app:finalize', 'wal:end-height']);
    // The next height starts after the commit timeout.
    expect(n.engine.status()?.height).toBe(1);
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    expect(n.engine.status()).toMatchObject({ height: 2, round: 0, step: 'propose' });
    expect(expectPersistBeforeSend(n.log)).toBe(3);
  });

  it('builds the next block on the last commit, late precommits included', async () => {
    const n = node(proposerOf(2, 0));
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks).toHaveLength(1);
    await n.engine.receiveVote(signedVote(3, 'precommit', 1, 0, a)); // late, during the commit wait
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    const request = n.app.builds[0];
    expect(request?.height).toBe(2);
    expect(request?.lastCommit.signatures.map((s) => s.flag)).toEqual([
      'commit',
      'commit',
      'commit',
      'commit',
    ]);
    expect(request && commitProblem(CHAIN_ID, set, request.lastCommit)).toBeUndefined();
  });

  it('a signer whose state write fails releases no signature: nothing is broadcast and the engine halts', async () => {
    const n = node(1);
    n.stateStore.failSaves = true;
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    expect(n.signer?.released).toEqual([]);
    expect(n.network.votes).toEqual([]);
    expect(n.network.proposals).toEqual([]);
    expect(n.halts).toHaveLength(1);
    expect(isSynodError(n.halts[0], 'SIGNER_STATE_WRITE_FAILED')).toBe(true);
    expect(n.engine.status()?.halted).toBe('disk full');
    // The own prevote was made durable in the WAL before signing was even tried.
    expect(
      n.log.events
        .filter((e) => e.port === 'wal')
        .map((e) => (e.op === 'append' ? `${e.kind}${e.sync ? '+sync' : ''}` : e.op)),
    ).toEqual(['proposal', 'own-vote+sync']);
    // A halted engine ignores everything.
    for (const i of [0, 2, 3]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    expect(n.network.votes).toEqual([]);
  });

  it('a WAL that cannot be written halts the engine before anything is signed', async () => {
    const n = node(1);
    await n.engine.start();
    n.wal.failAppends = true;
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    expect(n.signer?.released).toEqual([]);
    expect(n.network.votes).toEqual([]);
    expect(n.halts).toHaveLength(1);
  });

  it('after a crash, replays the WAL to the same height, round, step and lock, and signs nothing new for old steps', async () => {
    const a = node(3);
    await a.engine.start();
    const blockA = makeBlock(1, 'A');
    const blockB = makeBlock(1, 'B', set.validators[1]?.address); // built by round 1's proposer
    await a.engine.receiveProposal(signedProposal(0, 1, 0, blockA), blockA);
    for (const i of [0, 1]) await a.engine.receiveVote(signedVote(i, 'prevote', 1, 0, blockA));
    for (const i of [0, 1]) await a.engine.receiveVote(signedVote(i, 'precommit', 1, 0, null));
    a.clock.advance(PARAMS.timeouts.precommitMs);
    await a.settle();
    await a.engine.receiveProposal(signedProposal(1, 1, 1, blockB), blockB); // locked on A: prevote nil
    const before = a.engine.status();
    expect(before).toMatchObject({
      height: 1,
      round: 1,
      step: 'prevote',
      lockedValue: expect.any(String),
      lockedRound: 0,
    });
    expect(a.network.lines()).toEqual(['prevote 1/0 block', 'precommit 1/0 block', 'prevote 1/1 nil']);

    // Power cut: the process dies; the WAL keeps what was synced, the signer its state.
    const log = new EventLog();
    const found = a.wal.crash(log);
    const b = node(3, { wal: found, stateStore: a.stateStore, log });
    const walAtStart = found.crash(new EventLog());
    await b.engine.start();
    await b.settle();
    expect(b.engine.status()).toEqual(before);
    // It re-sends its messages of this height with the same signatures: those recorded in
    // the WAL, and the last one (whose unsynced signature record was lost) from the
    // signer, which hands back its stored signature for identical bytes.
    const stateBefore = a.stateStore.state;
    expect(b.network.lines()).toEqual(a.network.lines());
    expect(b.network.votes.map((v) => v.signature)).toEqual(a.network.votes.map((v) => v.signature));
    expect(b.signer?.released.map((r) => r.key)).toEqual(['1/1/prevote']);
    expect(b.stateStore.state).toBe(stateBefore);
    expect(b.halts).toEqual([]);
    // And continues where it was: a polka for B in round 1 moves the lock (L36).
    for (const i of [0, 1, 2]) await b.engine.receiveVote(signedVote(i, 'prevote', 1, 1, blockB));
    expect(b.network.lines().at(-1)).toBe('precommit 1/1 block');
    expect(b.engine.status()).toMatchObject({ round: 1, step: 'precommit', lockedRound: 1 });
    // Across both lifetimes, one (height, round, step) never got two different sign bytes.
    const released = [...(a.signer?.released ?? []), ...(b.signer?.released ?? [])];
    const byKey = new Map<string, Set<string>>();
    for (const r of released) byKey.set(r.key, (byKey.get(r.key) ?? new Set()).add(r.signBytes));
    for (const [k, bytes] of byKey) expect(bytes.size, k).toBe(1);
    expect(expectPersistBeforeSend(b.log, walAtStart)).toBe(4);
  });

  it('with its WAL lost, the signer still refuses a conflicting signature; nothing is sent and the engine goes on', async () => {
    const a = node(3);
    await a.engine.start();
    const blockA = makeBlock(1, 'A');
    const blockB = makeBlock(1, 'B');
    await a.engine.receiveProposal(signedProposal(0, 1, 0, blockA), blockA);
    expect(a.network.lines()).toEqual(['prevote 1/0 block']);
    // Restart with an empty WAL (lost disk) but the signer state intact.
    const log = new EventLog();
    const b = node(3, { stateStore: a.stateStore, log });
    await b.engine.start();
    // A Byzantine proposer now shows B for the same round: prevoting B would be a double sign.
    await b.engine.receiveProposal(signedProposal(0, 1, 0, blockB), blockB);
    expect(b.network.votes).toEqual([]);
    expect(b.signer?.released).toEqual([]);
    expect(b.halts).toEqual([]);
    expect(b.engine.status()).toMatchObject({ round: 0, step: 'prevote' });
    // The refused prevote does not count: two prevotes for B (20 of 40) are no polka,
    // so we do not precommit B on the strength of a vote we never cast.
    for (const i of [0, 1]) await b.engine.receiveVote(signedVote(i, 'prevote', 1, 0, blockB));
    expect(b.network.votes).toEqual([]);
    expect(b.engine.status()).toMatchObject({ round: 0, step: 'prevote', lockedValue: null });
    // Later rounds are signed normally: skip to round 1 (f+1), its propose timeout
    // prevotes nil, and the nil polka already there precommits nil (L44).
    for (const i of [0, 1, 2]) await b.engine.receiveVote(signedVote(i, 'prevote', 1, 1, null));
    expect(b.engine.status()).toMatchObject({ round: 1, step: 'propose' });
    b.clock.advance(PARAMS.timeouts.proposeMs + PARAMS.timeouts.proposeDeltaMs);
    await b.settle();
    expect(b.network.lines()).toEqual(['prevote 1/1 nil', 'precommit 1/1 nil']);
  });

  it('the replayed proposer re-proposes the block it built, with the same timestamp', async () => {
    const a = node(proposerOf(1, 0));
    a.app.nextLabel = 'A';
    await a.engine.start();
    await a.settle();
    expect(a.network.lines()).toEqual(['proposal 1/0 A', 'prevote 1/0 block']);
    const log = new EventLog();
    const b = node(proposerOf(1, 0), { wal: a.wal.crash(log), stateStore: a.stateStore, log });
    b.app.nextLabel = 'Z';
    b.clock.advance(5000);
    await b.engine.start();
    await b.settle();
    expect(b.app.builds).toEqual([]);
    expect(b.network.lines()).toEqual(['proposal 1/0 A', 'prevote 1/0 block']);
    expect(b.network.proposals[0]?.proposal).toEqual(a.network.proposals[0]?.proposal);
  });

  it('writes the end-of-height marker unsynced: the first own record of the next height makes it durable', async () => {
    const n = node(proposerOf(1, 0));
    n.app.nextLabel = 'A';
    await n.engine.start();
    await n.settle();
    const a = n.network.proposals[0]?.block as Block;
    for (const i of [1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
    const ends = n.log.events.filter((e) => e.port === 'wal' && e.op === 'end-height');
    expect(ends).toEqual([{ port: 'wal', op: 'end-height', height: 1, sync: false }]);
    // A power cut now loses the marker (the block and its state are durable: replay writes it again).
    expect(n.wal.kinds()).toContain('end-1');
    expect(n.wal.crash(new EventLog()).kinds()).not.toContain('end-1');
    // Height 2: the first own record is synced before it is sent, and the marker before it with it.
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    expect(n.engine.status()).toMatchObject({ height: 2 });
    expect(n.wal.crash(new EventLog()).kinds()).not.toContain('end-1'); // nothing of height 2 signed yet
    n.clock.advance(PARAMS.timeouts.proposeMs); // no proposal from height 2's proposer: prevote nil
    await n.settle();
    expect(n.network.lines().at(-1)).toBe('prevote 2/0 nil');
    expect(n.wal.crash(new EventLog()).kinds()).toEqual(expect.arrayContaining(['end-1', 'own-vote']));
  });

  it('a WAL without the marker of the previous height gets it written, and the height starts empty', async () => {
    const log = new EventLog();
    const wal = new MemoryWal(log, 7);
    const n = node(1, { wal, log });
    await n.engine.start();
    expect(wal.kinds()).toEqual(['end-7', 'end-0']);
    expect(n.engine.status()).toMatchObject({ height: 1, round: 0 });
  });

  it('follows as a non-validator: same decisions, never signs or sends', async () => {
    const n = node(null);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
    expect(n.network.votes).toEqual([]);
    expect(n.log.events.filter((e) => e.port === 'signer')).toEqual([]);
  });

  it('ignores bad signatures, non-validators, wrong proposers and mismatched blocks', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const forged = { ...signedVote(0, 'prevote', 1, 0, a), signature: new Uint8Array(64).fill(1) };
    await n.engine.receiveVote(forged);
    const outsider = {
      ...signedVote(0, 'prevote', 1, 0, a),
      vote: { ...signedVote(0, 'prevote', 1, 0, a).vote, validatorAddress: new Uint8Array(20).fill(9) },
    };
    await n.engine.receiveVote(outsider);
    await n.engine.receiveProposal(signedProposal(1, 1, 0, a), a); // 1 is not the proposer of (1, 0)
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), makeBlock(1, 'other')); // block does not match
    expect(n.network.votes).toEqual([]);
    expect(n.log.events.filter((e) => e.port === 'app' && e.op === 'validate')).toEqual([]);
    expect(n.wal.kinds()).toEqual(['end-0', 'proposal']);
    // The valid proposal without its block: we wait for the block (propose timeout → nil).
    n.clock.advance(PARAMS.timeouts.proposeMs);
    await n.settle();
    expect(n.network.lines()).toEqual(['prevote 1/0 nil']);
  });

  it('asks the network for a block it lacks and decides once it arrives', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    n.network.served.set(Buffer.from(blockHash(a)).toString('hex'), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    await n.settle();
    expect(n.log.events.some((e) => e.port === 'network' && e.op === 'fetch')).toBe(true);
    expect(n.store.blocks.map((b) => label(b.block))).toEqual(['A']);
  });

  it('reports duplicate votes and double proposals as evidence once the height is decided (with its block time)', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const b = makeBlock(1, 'B');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    await n.engine.receiveProposal(signedProposal(0, 1, 0, b), b);
    await n.engine.receiveVote(signedVote(1, 'prevote', 1, 0, a));
    await n.engine.receiveVote(signedVote(1, 'prevote', 1, 0, b));
    expect(n.evidence.reported).toEqual([]);
    await n.engine.receiveVote(signedVote(2, 'prevote', 1, 0, a));
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.evidence.reported.map((e) => e.kind)).toEqual(['double-proposal', 'duplicate-vote']);
    expect(
      n.evidence.reported.every(
        (e) => e.timeMs === a.header.timeMs && e.totalVotingPower === 40 && e.validatorPower === 10,
      ),
    ).toBe(true);
  });

  it('a valid commit for another block at a decided height raises the security alert: halt, status, both commits kept', async () => {
    const alerts: ConflictingCommits[] = [];
    const n = node(3, { monitor: new ConflictingCommitDetector(), alerts });
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const b = makeBlock(1, 'B');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks.map((x) => label(x.block))).toEqual(['A']);
    expect(n.engine.status()?.securityAlert).toBeUndefined();
    // More than 1/3 equivocated: a second quorum signed B at height 1 (seen through sync, say).
    const other = commitOf(b, 1, 1, [0, 1, 2]);
    expect(commitProblem(CHAIN_ID, set, other, { height: 1, blockHash: blockHash(b) })).toBeUndefined();
    n.engine.observeCommit(other);
    expect(alerts).toHaveLength(1);
    expect(Buffer.from(alerts[0]?.commitA.blockHash ?? []).equals(blockHash(a))).toBe(true);
    expect(alerts[0]?.commitB).toBe(other);
    expect(n.engine.status()?.securityAlert).toEqual({
      height: 1,
      blockA: Buffer.from(blockHash(a)).toString('hex'),
      blockB: Buffer.from(blockHash(b)).toString('hex'),
    });
    const halted = n.engine.halted;
    expect(halted !== undefined && isSynodError(halted) && halted.code).toBe('SECURITY_CONFLICTING_COMMITS');
    expect(n.halts).toHaveLength(1);
    // Block production stopped: the commit timeout does not start height 2, nothing more is sent.
    const sent = n.network.lines().length;
    n.clock.advance(PARAMS.timeouts.commitMs * 10);
    await n.settle();
    await n.engine.receiveProposal(signedProposal(1, 2, 0, makeBlock(2, 'C')), makeBlock(2, 'C'));
    expect(n.network.lines()).toHaveLength(sent);
    expect(n.engine.status()?.height).toBe(1);
    // The alert is raised once.
    n.engine.observeCommit(commitOf(makeBlock(1, 'D'), 1, 2, [0, 1, 2]));
    expect(alerts).toHaveLength(1);
  });

  it('deciding a block when another commit for that height was already seen raises the alert before finalizing', async () => {
    const alerts: ConflictingCommits[] = [];
    const n = node(3, { monitor: new ConflictingCommitDetector(), alerts });
    await n.engine.start();
    const a = makeBlock(1, 'A');
    const b = makeBlock(1, 'B');
    n.engine.observeCommit(commitOf(b, 1, 0, [0, 1, 2]));
    expect(n.engine.halted).toBeUndefined();
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(alerts.map((x) => x.height)).toEqual([1]);
    expect(n.store.blocks).toHaveLength(1); // the decided block and its commit are kept
    expect(n.app.finalized).toHaveLength(0);
    expect(n.engine.status()?.halted).toContain('conflicting commits at height 1');
  });

  it('the same commit seen again, or a commit for the same block, raises nothing', async () => {
    const alerts: ConflictingCommits[] = [];
    const n = node(3, { monitor: new ConflictingCommitDetector(), alerts });
    await n.engine.start();
    const a = makeBlock(1, 'A');
    n.engine.observeCommit(commitOf(a, 1, 0, [0, 1, 2]));
    n.engine.observeCommit(commitOf(a, 1, 3, [1, 2, 3]));
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(alerts).toEqual([]);
    expect(n.app.finalized).toHaveLength(1);
    expect(n.engine.halted).toBeUndefined();
  });

  it('two honest engines forked by more than 1/3 Byzantine power each raise the alert on seeing the other commit', async () => {
    // Validators 0 and 3 are Byzantine (20 of 40: more than 1/3); 0 proposes at (1, 0).
    // It proposes X to engine 1 and Y to engine 2, and both back each side; the honest
    // engines never hear each other (a partition), so each decides its own block.
    const alerts1: ConflictingCommits[] = [];
    const alerts2: ConflictingCommits[] = [];
    const n1 = node(1, { monitor: new ConflictingCommitDetector(), alerts: alerts1 });
    const n2 = node(2, { monitor: new ConflictingCommitDetector(), alerts: alerts2 });
    const x = makeBlock(1, 'X');
    const y = makeBlock(1, 'Y');
    for (const [n, block] of [
      [n1, x],
      [n2, y],
    ] as const) {
      await n.engine.start();
      await n.engine.receiveProposal(signedProposal(0, 1, 0, block), block);
      for (const b of [0, 3]) await n.engine.receiveVote(signedVote(b, 'prevote', 1, 0, block));
      for (const b of [0, 3]) await n.engine.receiveVote(signedVote(b, 'precommit', 1, 0, block));
      expect(n.store.blocks.map((s) => label(s.block))).toEqual([label(block)]);
    }
    const c1 = n1.store.blocks[0]?.commit as Commit;
    const c2 = n2.store.blocks[0]?.commit as Commit;
    // Both commits are valid: the fork is real.
    expect(commitProblem(CHAIN_ID, set, c1, { height: 1, blockHash: blockHash(x) })).toBeUndefined();
    expect(commitProblem(CHAIN_ID, set, c2, { height: 1, blockHash: blockHash(y) })).toBeUndefined();
    // The partition heals and each sees the other's commit (sync, a block's last commit).
    n1.engine.observeCommit(c2);
    n2.engine.observeCommit(c1);
    const sameBlock = (a: Uint8Array, b: Block) => Buffer.from(a).equals(blockHash(b));
    expect(alerts1.map((a) => [a.height, sameBlock(a.commitA.blockHash, x), a.commitB === c2])).toEqual([
      [1, true, true],
    ]);
    expect(alerts2.map((a) => [a.height, sameBlock(a.commitA.blockHash, y), a.commitB === c1])).toEqual([
      [1, true, true],
    ]);
    for (const n of [n1, n2]) {
      expect(n.engine.status()?.securityAlert?.height).toBe(1);
      expect(n.engine.halted?.message).toContain('more than 1/3 of the voting power is Byzantine');
    }
  });

  it('buffers messages of the next height during the commit wait and processes them when it starts', async () => {
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks).toHaveLength(1);
    const c = makeBlock(2, 'C');
    await n.engine.receiveProposal(signedProposal(proposerOf(2, 0), 2, 0, c), c);
    expect(n.network.lines()).toEqual(['prevote 1/0 block', 'precommit 1/0 block']);
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    expect(n.network.votes.at(-1)?.vote).toMatchObject({
      type: 'prevote',
      height: 2,
      round: 0,
      blockHash: blockHash(c),
    });
  });

  it('skipCommitTimeout starts a decided height’s successor at once, and does nothing before the decision or twice', async () => {
    const n = node(3);
    await n.engine.start();
    // Not decided: nothing to skip.
    await n.engine.skipCommitTimeout();
    expect(n.engine.status()).toMatchObject({ height: 1, round: 0 });
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    expect(n.store.blocks).toHaveLength(1);
    // The next height's proposal, buffered during the commit wait, is processed as it starts.
    const c = makeBlock(2, 'C');
    await n.engine.receiveProposal(signedProposal(proposerOf(2, 0), 2, 0, c), c);
    expect(n.engine.status()?.height).toBe(1);
    await n.engine.skipCommitTimeout();
    await n.settle();
    expect(n.engine.status()).toMatchObject({ height: 2, round: 0 });
    expect(n.network.votes.at(-1)?.vote).toMatchObject({
      type: 'prevote',
      height: 2,
      blockHash: blockHash(c),
    });
    // Height 1's commit timer is cancelled: it does not start height 3 early once height 2 is
    // decided in turn; height 2's own timer does.
    const half = Math.floor(PARAMS.timeouts.commitMs / 2);
    n.clock.advance(half);
    await n.settle();
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'precommit', 2, 0, c));
    expect(n.store.blocks).toHaveLength(2);
    n.clock.advance(PARAMS.timeouts.commitMs - half);
    await n.settle();
    expect(n.engine.status()?.height).toBe(2);
    n.clock.advance(half);
    await n.settle();
    expect(n.engine.status()?.height).toBe(3);
  });

  it('records metrics: height, round, votes, rejections, commits, equivocations, halts', async () => {
    const metrics = new RecordingMetrics();
    const n = node(3, { metrics });
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(1, 1, 0, a), a);
    await n.engine.receiveVote({ ...signedVote(0, 'prevote', 1, 0, a), signature: new Uint8Array(64) });
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    await n.engine.receiveVote(signedVote(1, 'prevote', 1, 0, null));
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, a));
    n.clock.advance(PARAMS.timeouts.commitMs);
    await n.settle();
    expect(Object.fromEntries(metrics.values)).toEqual({
      synod_consensus_height: 2,
      synod_consensus_round: 0,
      'synod_consensus_messages_rejected_total{"reason":"wrong_proposer"}': 1,
      'synod_consensus_messages_rejected_total{"reason":"invalid_signature"}': 1,
      'synod_consensus_votes_received_total{"type":"prevote"}': 3,
      'synod_consensus_votes_received_total{"type":"precommit"}': 2,
      'synod_consensus_equivocations_total{"kind":"duplicate-vote"}': 1,
      synod_consensus_blocks_committed_total: 1,
    });
  });

  it('stop() cancels timers and ignores later input', async () => {
    const n = node(3);
    await n.engine.start();
    expect(n.clock.pending()).toBe(1);
    await n.engine.stop();
    expect(n.clock.pending()).toBe(0);
    await n.engine.receiveVote(signedVote(0, 'prevote', 1, 0, null));
    expect(n.wal.kinds()).toEqual(['end-0']);
  });
});

describe('ConsensusEngine: a fresh proposal must carry its proposer’s block', () => {
  it('ignores a polRound −1 proposal whose block names another validator, and takes a re-proposal that keeps the original proposer', async () => {
    const n = node(3);
    const metrics = new RecordingMetrics();
    const m = node(3, { metrics });
    for (const x of [n, m]) await x.engine.start();
    // Round 0's proposer (validator 0) proposes, as fresh, a block that credits validator 2.
    const stolen = makeBlock(1, 'A', set.validators[2]?.address);
    await m.engine.receiveProposal(signedProposal(0, 1, 0, stolen), stolen);
    await m.settle();
    expect(m.network.lines()).toEqual([]); // no prevote for it: the proposal was not taken
    expect(
      metrics.values.get('synod_consensus_messages_rejected_total{"reason":"block_proposer_mismatch"}'),
    ).toBe(1);
    m.clock.advance(PARAMS.timeouts.proposeMs);
    await m.settle();
    expect(m.network.lines()).toEqual(['prevote 1/0 nil']);
    // A re-proposal with a proof of lock keeps the block's proposer: round 1's proposer re-proposes
    // validator 0's block A of round 0, polka included, and it is taken.
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1, 2]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'precommit', 1, 0, null));
    await n.engine.receiveVote(signedVote(2, 'precommit', 1, 0, null));
    n.clock.advance(PARAMS.timeouts.precommitMs);
    await n.settle();
    await n.engine.receiveProposal(signedProposal(1, 1, 1, a, 0), a);
    await n.settle();
    expect(n.network.lines()).toContain('prevote 1/1 block');
  });
});

describe('ConsensusEngine.heldMessages (the liveness protocol)', () => {
  it("answers a stuck peer with the height's proposal, its block and the votes held, of the rounds that matter", async () => {
    // Validator 3 (not the proposer of 1/0) takes proposal A and the prevotes of validators 0 and 1.
    const n = node(3);
    await n.engine.start();
    const a = makeBlock(1, 'A');
    await n.engine.receiveProposal(signedProposal(0, 1, 0, a), a);
    for (const i of [0, 1]) await n.engine.receiveVote(signedVote(i, 'prevote', 1, 0, a));
    await n.settle();
    const held = n.engine.heldMessages(1, 0);
    expect(held?.proposals.map((p) => label(p.block))).toEqual(['A']);
    expect(held?.proposals[0]?.signedProposal.proposal.round).toBe(0);
    // Two received prevotes and our own prevote for A.
    const prevotes = held?.votes.filter((v) => v.vote.type === 'prevote') ?? [];
    expect(prevotes.map((v) => v.vote.validatorAddress.toString()).sort()).toEqual(
      [0, 1, 3].map((i) => set.validators[i]?.address.toString()).sort(),
    );
    // An equivocator's second vote is handed out too: a proof-of-lock may rest on it.
    const nilFirst = signedVote(2, 'prevote', 1, 0, null);
    const forA = signedVote(2, 'prevote', 1, 0, a);
    await n.engine.receiveVote(nilFirst);
    await n.engine.receiveVote(forA);
    await n.settle();
    const both = n.engine
      .heldMessages(1, 0)
      ?.votes.filter((v) => v.vote.validatorAddress === forA.vote.validatorAddress);
    expect(both?.map((v) => (v.vote.blockHash === null ? 'nil' : 'A'))).toEqual(['nil', 'A']);
    // Another height: nothing; a round nobody spoke in adds nothing.
    expect(n.engine.heldMessages(2, 0)).toBeUndefined();
    expect(n.engine.heldMessages(1, 7)?.votes.length).toBe(held?.votes.length ? held.votes.length + 2 : -1);
    // A proposal whose block the engine found invalid is not handed out.
    const m = node(3);
    await m.engine.start();
    const b = makeBlock(1, 'bad B');
    await m.engine.receiveProposal(signedProposal(0, 1, 0, b), b);
    await m.settle();
    expect(m.engine.heldMessages(1, 0)?.proposals).toEqual([]);
  });
});
