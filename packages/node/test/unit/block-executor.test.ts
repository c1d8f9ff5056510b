import { sign, verify } from '@synod/crypto';
import {
  type Application,
  BLOCK_TX_OVERHEAD_BYTES,
  type Block,
  blockHash,
  commitHash,
  DEFAULT_CONSENSUS_PARAMS,
  type Evidence,
  encodeBlock,
  evidenceListHash,
  type FinalizeBlockRequest,
  type Header,
  type Logger,
  noopLogger,
  noopMetrics,
  txsRoot,
  voteSignBytes,
  ZERO_HASH,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import { BlockExecutor, executeBlock } from '../../src/index.js';
import {
  ACCOUNTS,
  address,
  CHAIN_ID,
  commitOf,
  type ExecutorFixture,
  executorFixture,
  fixedClock,
  GENESIS_TIME_MS,
  testGenesis,
  transfer,
  VALIDATORS,
} from '../fixtures.js';

const V0 = VALIDATORS[0]!;
const NOW = GENESIS_TIME_MS + 60_000;

async function build(f: ExecutorFixture, height = f.chain.height + 1): Promise<Block> {
  const lastCommit =
    height === 1
      ? { height: 0, round: 0, blockHash: ZERO_HASH, signatures: [] }
      : ((await f.storage.blocks.loadSeenCommit()) as Block['lastCommit']);
  return f.executor.buildBlock({
    height,
    round: 0,
    proposerAddress: address(V0),
    lastCommit,
    timeMs: NOW - 1000,
  });
}

/** Saves and executes `block` as consensus would (store, then finalize). */
async function decide(f: ExecutorFixture, block: Block): Promise<void> {
  const set = f.chain.setAt(block.header.height)!;
  const commit = commitOf(
    block,
    [V0],
    set.validators.map((v) => v.address),
  );
  await f.storage.blocks.saveBlock(block, commit);
  await f.executor.finalizeBlock(block, commit);
}

const withHeader = (b: Block, h: Partial<Header>): Block => ({ ...b, header: { ...b.header, ...h } });
const flipped = (bytes: Uint8Array): Uint8Array => {
  const out = bytes.slice();
  out[0] = (out[0] as number) ^ 0xff;
  return out;
};

describe('block executor: proposals', () => {
  it('builds a block from the mempool that it then accepts, and finalizes it', async () => {
    const f = await executorFixture();
    for (let n = 0; n < 3; n++) expect((await f.mempool.add(transfer(ACCOUNTS[0]!, n))).accepted).toBe(true);
    const block = await build(f);
    expect(block.txs).toHaveLength(3);
    expect(await f.executor.blockProblem(block, { proposal: true })).toBeUndefined();
    expect(await f.executor.validateBlock(block)).toBe(true);
    await decide(f, block);
    expect(f.chain.height).toBe(1);
    expect(f.mempool.size).toBe(0);
    // The next block builds on it: its last commit verifies, its hashes match.
    const next = await build(f);
    expect(next.header.lastBlockHash).toEqual(blockHash(block));
    expect(await f.executor.blockProblem(next, { proposal: true })).toBeUndefined();
  });

  it('keeps the proposal within block.maxBytes counting header, last commit and evidence', async () => {
    const maxBytes = 4096;
    const genesis = testGenesis(1);
    const small = {
      ...genesis,
      consensusParams: {
        ...genesis.consensusParams,
        block: { ...genesis.consensusParams.block, maxBytes },
        evidence: { ...genesis.consensusParams.evidence, maxBytes: 1024 },
      },
    };
    const f = await executorFixture(small);
    // 20 transfers of ~400 bytes each: far more than fits.
    for (let n = 0; n < 20; n++) await f.mempool.add(transfer(ACCOUNTS[1]!, n, ACCOUNTS[3], 1n, 200));
    expect(f.mempool.size).toBe(20);
    const block = await build(f);
    const size = encodeBlock(block).length;
    const txBytes = block.txs.reduce((a, tx) => a + tx.length + BLOCK_TX_OVERHEAD_BYTES, 0);
    expect(block.txs.length).toBeGreaterThan(0);
    expect(block.txs.length).toBeLessThan(20);
    expect(size).toBeLessThanOrEqual(maxBytes);
    // One more transaction would not have fitted.
    expect(size + (block.txs[0]?.length ?? 0) + BLOCK_TX_OVERHEAD_BYTES).toBeGreaterThan(maxBytes);
    expect(size - txBytes).toBeGreaterThan(0);
    expect(await f.executor.blockProblem(block, { proposal: true })).toBeUndefined();
  });

  it('refuses a block above block.maxBytes', async () => {
    const genesis = testGenesis(1);
    const f = await executorFixture({
      ...genesis,
      consensusParams: {
        ...genesis.consensusParams,
        block: { ...genesis.consensusParams.block, maxBytes: 2048 },
        evidence: { ...genesis.consensusParams.evidence, maxBytes: 100 },
      },
    });
    const empty = await build(f);
    expect(await f.executor.blockProblem(empty, { proposal: false })).toBeUndefined();
    // Valid transactions, but more bytes than the params allow.
    const txs = Array.from({ length: 8 }, (_, n) => transfer(ACCOUNTS[0]!, n, ACCOUNTS[3], 1n, 200));
    const block = withHeader({ ...empty, txs }, { txsRoot: txsRoot(txs) });
    expect(encodeBlock(block).length).toBeGreaterThan(2048);
    expect((await f.executor.blockProblem(block, { proposal: false }))?.code).toBe('TOO_LARGE');
  });
});

describe('block executor: header checks', () => {
  const cases: [string, (b: Block) => Block, string][] = [
    ['another chain', (b) => withHeader(b, { chainId: 'other-chain' }), 'WRONG_CHAIN'],
    ['another height', (b) => withHeader(b, { height: 2 }), 'WRONG_HEIGHT'],
    [
      'another parent',
      (b) => withHeader(b, { lastBlockHash: flipped(b.header.lastBlockHash) }),
      'WRONG_PARENT',
    ],
    [
      'time not after the last block',
      (b) => withHeader(b, { timeMs: GENESIS_TIME_MS }),
      'TIME_NOT_INCREASING',
    ],
    [
      'time too far ahead of the clock',
      (b) => withHeader(b, { timeMs: NOW + DEFAULT_CONSENSUS_PARAMS.block.maxTimeDriftMs + 1 }),
      'TIME_TOO_FAR_AHEAD',
    ],
    [
      'validators hash',
      (b) => withHeader(b, { validatorsHash: flipped(b.header.validatorsHash) }),
      'WRONG_VALIDATORS_HASH',
    ],
    [
      'next validators hash',
      (b) => withHeader(b, { nextValidatorsHash: flipped(b.header.nextValidatorsHash) }),
      'WRONG_NEXT_VALIDATORS_HASH',
    ],
    [
      'consensus params hash',
      (b) => withHeader(b, { consensusParamsHash: flipped(b.header.consensusParamsHash) }),
      'WRONG_PARAMS_HASH',
    ],
    ['app hash', (b) => withHeader(b, { appHash: flipped(b.header.appHash) }), 'WRONG_APP_HASH'],
    [
      'results hash',
      (b) => withHeader(b, { lastResultsHash: flipped(b.header.lastResultsHash) }),
      'WRONG_RESULTS_HASH',
    ],
    [
      'proposer not a validator',
      (b) => withHeader(b, { proposerAddress: address(ACCOUNTS[0]!) }),
      'UNKNOWN_PROPOSER',
    ],
    ['txs root', (b) => ({ ...b, txs: [transfer(ACCOUNTS[0]!, 0)] }), 'DATA_MISMATCH'],
    [
      'evidence hash',
      (b) => withHeader(b, { evidenceHash: flipped(b.header.evidenceHash) }),
      'DATA_MISMATCH',
    ],
    [
      'a transaction the application rejects',
      (b) => {
        const bad = transfer(ACCOUNTS[0]!, 0);
        bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1; // breaks the signature
        return withHeader({ ...b, txs: [bad] }, { txsRoot: txsRoot([bad]) });
      },
      'APP_REJECTED',
    ],
  ];

  for (const [name, mutate, code] of cases) {
    it(`refuses a block with a wrong ${name} (${code})`, async () => {
      const f = await executorFixture();
      const good = await build(f);
      expect(await f.executor.blockProblem(good, { proposal: true })).toBeUndefined();
      const found = await f.executor.blockProblem(mutate(good), { proposal: true });
      expect(found?.code).toBe(code);
      expect(found?.reason.length).toBeGreaterThan(0);
      expect(await f.executor.validateBlock(mutate(good))).toBe(false);
    });
  }

  it('judges a synced block by its commit, not by the clock', async () => {
    const f = await executorFixture();
    const future = withHeader(await build(f), { timeMs: NOW + 3_600_000 });
    expect((await f.executor.blockProblem(future, { proposal: true }))?.code).toBe('TIME_TOO_FAR_AHEAD');
    expect(await f.executor.blockProblem(future, { proposal: false })).toBeUndefined();
  });
});

describe('block executor: last commit and evidence', () => {
  async function atHeight2(): Promise<{ f: ExecutorFixture; block: Block }> {
    const f = await executorFixture();
    await decide(f, await build(f));
    return { f, block: await build(f) };
  }

  const withCommit = (b: Block, lastCommit: Block['lastCommit']): Block =>
    withHeader({ ...b, lastCommit }, { lastCommitHash: commitHash(lastCommit) });

  it('refuses a first block that carries a commit', async () => {
    const f = await executorFixture();
    const b = await build(f);
    const c = commitOf(b, [V0], [address(V0)]);
    const found = await f.executor.blockProblem(withCommit(b, { ...c, height: 0 }), { proposal: true });
    expect(found?.code).toBe('BAD_LAST_COMMIT');
  });

  it('refuses a last commit with a bad signature', async () => {
    const { f, block } = await atHeight2();
    const sig = block.lastCommit.signatures[0]!;
    const bad = {
      ...block.lastCommit,
      signatures: [{ flag: 'commit' as const, signature: flipped(sig.signature) }],
    };
    const found = await f.executor.blockProblem(withCommit(block, bad), { proposal: true });
    expect(found).toEqual({ code: 'BAD_LAST_COMMIT', reason: 'invalid signature of validator 0' });
  });

  it('refuses a last commit without a quorum', async () => {
    const { f, block } = await atHeight2();
    const absent = {
      ...block.lastCommit,
      signatures: [{ flag: 'absent' as const, signature: new Uint8Array(64) }],
    };
    const found = await f.executor.blockProblem(withCommit(block, absent), { proposal: true });
    expect(found?.code).toBe('BAD_LAST_COMMIT');
    expect(found?.reason).toContain('2/3');
  });

  function duplicateVote(f: ExecutorFixture, signatureOk: boolean): Evidence {
    const set = f.chain.setAt(1)!;
    const vote = (hash: Uint8Array) => ({
      type: 'prevote' as const,
      height: 1,
      round: 0,
      blockHash: hash,
      validatorAddress: address(V0),
    });
    const a = vote(new Uint8Array(32).fill(1));
    const b = vote(new Uint8Array(32).fill(2));
    const sigB = sign(V0, voteSignBytes(CHAIN_ID, b));
    return {
      kind: 'duplicate-vote',
      voteA: { vote: a, signature: sign(V0, voteSignBytes(CHAIN_ID, a)) },
      voteB: { vote: b, signature: signatureOk ? sigB : flipped(sigB) },
      validatorPower: set.validators[0]!.votingPower,
      totalVotingPower: 10,
      timeMs: f.chain.snapshot.lastBlockTimeMs,
    };
  }

  const withEvidence = (b: Block, evidence: Evidence[]): Block =>
    withHeader({ ...b, evidence }, { evidenceHash: evidenceListHash(evidence) });

  it('accepts valid evidence and refuses forged, duplicated or committed evidence', async () => {
    const { f, block } = await atHeight2();
    const ev = duplicateVote(f, true);
    expect(await f.executor.blockProblem(withEvidence(block, [ev]), { proposal: true })).toBeUndefined();
    const forged = await f.executor.blockProblem(withEvidence(block, [duplicateVote(f, false)]), {
      proposal: true,
    });
    expect(forged?.code).toBe('BAD_EVIDENCE');
    expect(forged?.reason).toContain('invalid evidence');
    const twice = await f.executor.blockProblem(withEvidence(block, [ev, ev]), { proposal: true });
    expect(twice).toEqual({ code: 'BAD_EVIDENCE', reason: 'duplicate evidence in block' });
    // Committed in block 2: a later block may not carry it again.
    await decide(f, withEvidence(block, [ev]));
    expect(await f.storage.evidence.status(ev)).toBe('committed');
    const again = withEvidence(await build(f), [ev]);
    expect(await f.executor.blockProblem(again, { proposal: true })).toEqual({
      code: 'BAD_EVIDENCE',
      reason: 'evidence already committed',
    });
  });

  it('puts pending evidence in its proposal', async () => {
    const { f } = await atHeight2();
    const ev = duplicateVote(f, true);
    const ctx = await f.chain.evidenceContext([1], () => true);
    expect(f.pool.add(ev, ctx).status).toBe('added');
    const block = await build(f);
    expect(block.evidence).toHaveLength(1);
    expect(await f.executor.blockProblem(block, { proposal: true })).toBeUndefined();
  });
});

describe('block executor: the application requests', () => {
  it('finalizeBlock tells the application a nil precommit counts as signed, only absent is a miss (#11.21)', async () => {
    const f = await executorFixture(testGenesis(3));
    const first = await build(f);
    await decide(f, first);
    // The last commit of block 2: validator 0 for the block, 1 for nil, 2 absent (signatures are not
    // checked by execution, only by validation).
    const order = f.chain.setAt(1)!.validators;
    const sig = new Uint8Array(64).fill(1);
    const flags = ['commit', 'nil', 'absent'] as const;
    const lastCommit = {
      height: 1,
      round: 0,
      blockHash: blockHash(first),
      signatures: order.map((_, i) => ({ flag: flags[i]!, signature: i === 2 ? new Uint8Array(64) : sig })),
    };
    const second = await f.executor.buildBlock({
      height: 2,
      round: 0,
      proposerAddress: address(V0),
      lastCommit,
      timeMs: NOW - 500,
    });
    const requests: FinalizeBlockRequest[] = [];
    const recording: Application = Object.assign(Object.create(f.ledger) as Application, {
      finalizeBlock: (req: FinalizeBlockRequest) => {
        requests.push(req);
        return f.ledger.finalizeBlock(req);
      },
    });
    await executeBlock(recording, f.chain, second);
    expect(requests[0]?.decidedLastCommit.votes.map((v) => v.signed)).toEqual([true, true, false]);
    expect(requests[0]?.decidedLastCommit.votes.map((v) => v.validatorAddress)).toEqual(
      order.map((v) => v.address),
    );
  });
});

describe('block executor: the application verdict', () => {
  function badTxBlock(b: Block): Block {
    const bad = transfer(ACCOUNTS[0]!, 5); // nonce 5 while the account is at 0
    return withHeader({ ...b, txs: [bad] }, { txsRoot: txsRoot([bad]) });
  }

  it("surfaces processProposal's reason in the block problem and the log", async () => {
    const f = await executorFixture();
    const block = badTxBlock(await build(f));
    const found = await f.executor.blockProblem(block, { proposal: true });
    expect(found).toEqual({
      code: 'APP_REJECTED',
      reason: expect.stringMatching(/^processProposal: tx 0: TX_BAD_NONCE/),
    });
    const warnings: { msg: string; ctx: Record<string, unknown> | undefined }[] = [];
    const logger: Logger = {
      ...noopLogger,
      warn: (msg, ctx) => {
        warnings.push({ msg, ctx });
      },
      child: () => logger,
    };
    const executor = new BlockExecutor({
      application: f.ledger,
      storage: f.storage,
      chain: f.chain,
      mempool: f.mempool,
      evidencePool: f.pool,
      clock: fixedClock(NOW),
      verifySignature: verify,
      logger,
      metrics: noopMetrics,
      onExecuted: () => undefined,
    });
    expect(await executor.validateBlock(block)).toBe(false);
    expect(warnings).toContainEqual({
      msg: 'invalid block',
      ctx: { height: 1, code: 'APP_REJECTED', reason: found?.reason },
    });
  });

  it('bounds the reason, and names a verdict that is not one', async () => {
    const f = await executorFixture();
    const block = badTxBlock(await build(f));
    const withVerdict = (verdict: unknown): BlockExecutor =>
      new BlockExecutor({
        application: Object.assign(Object.create(f.ledger) as Application, {
          processProposal: async () => verdict,
        }),
        storage: f.storage,
        chain: f.chain,
        mempool: f.mempool,
        evidencePool: f.pool,
        clock: fixedClock(NOW),
        verifySignature: verify,
        logger: noopLogger,
        metrics: noopMetrics,
        onExecuted: () => undefined,
      });
    const long = await withVerdict({ reject: 'x'.repeat(10_000) }).blockProblem(block, { proposal: true });
    expect(long?.reason.length).toBeLessThan(600);
    const legacy = await withVerdict('reject').blockProblem(block, { proposal: true });
    expect(legacy).toEqual({ code: 'APP_REJECTED', reason: 'processProposal: no reason given (reject)' });
  });
});
