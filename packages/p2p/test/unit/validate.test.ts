import { addressFromPublicKey, createVerifyCache, keyPairFromSeed, sign } from '@synod/crypto';
import {
  blockHash,
  bytesEqual,
  canonicalEvidence,
  DEFAULT_CONSENSUS_PARAMS,
  EMPTY_COMMIT,
  type ErrorCode,
  type Evidence,
  encodeBlock,
  encodeEvidence,
  encodeSignedProposal,
  encodeSignedVote,
  type Proposal,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  voteSignBytes,
  ZERO_HASH,
} from '@synod/types';
import { describe, expect, it } from 'vitest';
import { encodeProposalMessage, encodeProposalParts } from '../../src/codec/proposal-message.js';
import { DEFAULT_MESSAGE_LIMITS } from '../../src/limits.js';
import { type GossipErrorCode, GossipValidationError } from '../../src/validation/gossip-error.js';
import { ProposalTracker } from '../../src/validation/proposal-tracker.js';
import {
  DEFAULT_HEIGHT_WINDOW,
  screenGossipMessage,
  type TxPrecheckVerdict,
  type ValidationContext,
  type ValidationParams,
  validateEvidence,
  validateGossipMessage,
  validateProposal,
  validateTx,
  validateVote,
} from '../../src/validation/validate.js';
import {
  CHAIN_ID,
  duplicateVoteEvidence,
  makeBlock,
  makeTx,
  makeValidators,
  roundRobinProposer,
  seed,
  signProposal,
  signVote,
  vote,
} from '../fixtures.js';

const vals = makeValidators(4);
const HEIGHT = 10;

function params(overrides: Partial<ValidationContext> = {}, height = HEIGHT): ValidationParams {
  return {
    ctx: {
      chainId: CHAIN_ID,
      currentHeight: () => height,
      validatorSetAt: () => vals.set,
      proposerIndex: roundRobinProposer(vals),
      ...overrides,
    },
    limits: DEFAULT_MESSAGE_LIMITS,
    window: DEFAULT_HEIGHT_WINDOW,
  };
}

function expectVerdict(
  fn: () => unknown,
  action: 'IGNORE' | 'REJECT',
  reason: GossipErrorCode,
  code?: ErrorCode,
): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(GossipValidationError);
  const e = thrown as GossipValidationError;
  expect({ action: e.action, reason: e.reason }).toEqual({ action, reason });
  if (code !== undefined) expect(e.code).toBe(code);
}

async function expectAsyncVerdict(
  p: Promise<unknown>,
  action: 'IGNORE' | 'REJECT',
  reason: GossipErrorCode,
): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GossipValidationError);
  expect({
    action: (e as GossipValidationError).action,
    reason: (e as GossipValidationError).reason,
  }).toEqual({ action, reason });
}

const outsider = keyPairFromSeed(seed(99, 1));

describe('validateVote', () => {
  const good = vote(vals.keyAt(0), HEIGHT);
  const bytes = encodeSignedVote(good);

  it('[ACCEPT] a vote signed by a validator at the current height', () => {
    expect(validateVote(bytes, params())).toEqual(good);
  });

  it('[ACCEPT] the edges of the height window (height - 1 and height + 2)', () => {
    expect(validateVote(encodeSignedVote(vote(vals.keyAt(1), HEIGHT - 1)), params()).vote.height).toBe(
      HEIGHT - 1,
    );
    expect(validateVote(encodeSignedVote(vote(vals.keyAt(1), HEIGHT + 2)), params()).vote.height).toBe(
      HEIGHT + 2,
    );
  });

  it('[REJECT] more bytes than a vote can have', () => {
    expectVerdict(
      () => validateVote(new Uint8Array(513), params()),
      'REJECT',
      'MESSAGE_TOO_LARGE',
      'P2P_MESSAGE_TOO_LARGE',
    );
  });

  it('[REJECT] garbage that does not decode', () => {
    expectVerdict(
      () => validateVote(new Uint8Array([1, 2, 3]), params()),
      'REJECT',
      'DECODE_FAILED',
      'P2P_INVALID_MESSAGE',
    );
  });

  it('[IGNORE] a vote below the window', () => {
    expectVerdict(
      () => validateVote(encodeSignedVote(vote(vals.keyAt(0), HEIGHT - 2)), params()),
      'IGNORE',
      'HEIGHT_TOO_OLD',
    );
  });

  it('[IGNORE] a vote beyond the window', () => {
    expectVerdict(
      () => validateVote(encodeSignedVote(vote(vals.keyAt(0), HEIGHT + 3)), params()),
      'IGNORE',
      'HEIGHT_TOO_FAR',
    );
  });

  it('[IGNORE] a vote beyond the round look-ahead (from the current round)', () => {
    const far = encodeSignedVote(vote(vals.keyAt(0), HEIGHT, 10_001));
    expectVerdict(() => validateVote(far, params()), 'IGNORE', 'ROUND_TOO_FAR');
    expectVerdict(
      () => validateVote(encodeSignedVote(vote(vals.keyAt(0), HEIGHT, 2 ** 32 - 2)), params()),
      'IGNORE',
      'ROUND_TOO_FAR',
    );
    expect(validateVote(encodeSignedVote(vote(vals.keyAt(0), HEIGHT, 10_000)), params()).vote.round).toBe(
      10_000,
    );
    expect(validateVote(far, params({ currentRound: () => 1 })).vote.round).toBe(10_001);
  });

  it('[IGNORE] a vote for a height whose validator set is unknown', () => {
    expectVerdict(
      () => validateVote(bytes, params({ validatorSetAt: () => undefined })),
      'IGNORE',
      'VALIDATOR_SET_UNKNOWN',
    );
  });

  it('[REJECT] a vote from a key that is not a validator', () => {
    expectVerdict(
      () => validateVote(encodeSignedVote(vote(outsider, HEIGHT)), params()),
      'REJECT',
      'UNKNOWN_VALIDATOR',
      'VOTE_UNKNOWN_VALIDATOR',
    );
  });

  it('[REJECT] a vote with a bad signature', () => {
    const forged: SignedVote = { vote: good.vote, signature: new Uint8Array(64).fill(5) };
    expectVerdict(
      () => validateVote(encodeSignedVote(forged), params()),
      'REJECT',
      'INVALID_SIGNATURE',
      'VOTE_INVALID_SIGNATURE',
    );
  });

  it('[REJECT] a vote signed by another validator than the one it names', () => {
    const other = vote(vals.keyAt(1), HEIGHT);
    const stolen: SignedVote = { vote: good.vote, signature: other.signature };
    expectVerdict(() => validateVote(encodeSignedVote(stolen), params()), 'REJECT', 'INVALID_SIGNATURE');
  });

  it('[REJECT] a vote signed for another chain', () => {
    const foreign = signVote(
      vals.keyAt(0),
      { type: 'prevote', height: HEIGHT, round: 0, blockHash: null },
      'other-chain',
    );
    expectVerdict(() => validateVote(encodeSignedVote(foreign), params()), 'REJECT', 'INVALID_SIGNATURE');
  });

  it('checks the signature against the validator set of the vote height', () => {
    const asked: number[] = [];
    validateVote(
      bytes,
      params({
        validatorSetAt: (h) => {
          asked.push(h);
          return vals.set;
        },
      }),
    );
    expect(asked).toEqual([HEIGHT]);
  });
});

/** A proposal with these fields, signed by `key`. */
function signFields(key: ReturnType<typeof vals.keyAt>, proposal: Proposal): SignedProposal {
  return { proposal, signature: sign(key, proposalSignBytes(CHAIN_ID, proposal)) };
}

describe('validateProposal', () => {
  const ROUND = 2; // round 2's proposer is validator 2 (round robin in the tests)
  const proposer = vals.keyAt(ROUND);
  const block = makeBlock(HEIGHT, new Uint8Array(32).fill(8), EMPTY_COMMIT, proposer, [
    new Uint8Array([1, 2, 3]),
  ]);
  const sp = signProposal(proposer, block, ROUND);
  const bytes = encodeProposalMessage({ signedProposal: sp, block });

  it('[ACCEPT] a signed proposal with its block', () => {
    const out = validateProposal(bytes, params());
    expect(out.signedProposal).toEqual(sp);
    expect(out.block.header.height).toBe(HEIGHT);
    expect(out.blockHash).toEqual(blockHash(block));
  });

  it('[REJECT] larger than a block allows', () => {
    const p = { ...params(), limits: { ...DEFAULT_MESSAGE_LIMITS, blockBytesMax: 1000 } };
    expectVerdict(() => validateProposal(new Uint8Array(2000), p), 'REJECT', 'MESSAGE_TOO_LARGE');
  });

  it('[REJECT] garbage, a bad envelope length, a truncated block', () => {
    expectVerdict(() => validateProposal(new Uint8Array([0, 0]), params()), 'REJECT', 'DECODE_FAILED');
    expectVerdict(
      () => validateProposal(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2]), params()),
      'REJECT',
      'DECODE_FAILED',
    );
    expectVerdict(
      () => validateProposal(bytes.subarray(0, bytes.length - 10), params()),
      'REJECT',
      'DECODE_FAILED',
    );
  });

  it('[REJECT] a block of another chain', () => {
    const foreign = { ...block, header: { ...block.header, chainId: 'other-chain' } };
    const msg = encodeProposalMessage({
      signedProposal: signProposal(proposer, foreign, ROUND),
      block: foreign,
    });
    expectVerdict(() => validateProposal(msg, params()), 'REJECT', 'WRONG_CHAIN');
  });

  it('[IGNORE] outside the height window', () => {
    expectVerdict(() => validateProposal(bytes, params({}, HEIGHT + 5)), 'IGNORE', 'HEIGHT_TOO_OLD');
    expectVerdict(() => validateProposal(bytes, params({}, HEIGHT - 5)), 'IGNORE', 'HEIGHT_TOO_FAR');
  });

  it('[REJECT] a block at another height than the proposal', () => {
    const lying = signFields(proposer, { ...sp.proposal, height: HEIGHT + 1 });
    const msg = encodeProposalParts(encodeSignedProposal(lying), encodeBlock(block));
    expectVerdict(() => validateProposal(msg, params()), 'REJECT', 'BLOCK_HEIGHT_MISMATCH', 'BLOCK_INVALID');
  });

  it('[IGNORE] the validator set is unknown', () => {
    expectVerdict(
      () => validateProposal(bytes, params({ validatorSetAt: () => undefined })),
      'IGNORE',
      'VALIDATOR_SET_UNKNOWN',
    );
  });

  it('[REJECT] a proposer that is not a validator', () => {
    const msg = encodeProposalMessage({ signedProposal: signProposal(outsider, block), block });
    expectVerdict(() => validateProposal(msg, params()), 'REJECT', 'UNKNOWN_VALIDATOR', 'PROPOSAL_INVALID');
  });

  it('[REJECT] proposal.blockHash is not the hash of the block', () => {
    const other = makeBlock(HEIGHT, new Uint8Array(32).fill(9), EMPTY_COMMIT, proposer);
    const msg = encodeProposalMessage({ signedProposal: signProposal(proposer, other, ROUND), block });
    expectVerdict(() => validateProposal(msg, params()), 'REJECT', 'BLOCK_HASH_MISMATCH', 'BLOCK_INVALID');
  });

  it('[REJECT] a header that does not commit to the block contents', () => {
    const tampered = { ...block, txs: [new Uint8Array([9, 9, 9])] };
    const msg = encodeProposalMessage({
      signedProposal: signProposal(proposer, tampered, ROUND),
      block: tampered,
    });
    expectVerdict(() => validateProposal(msg, params()), 'REJECT', 'BLOCK_DATA_INVALID');
  });

  it('[REJECT] a fresh proposal (polRound -1) of a block credited to another validator', () => {
    const someoneElse = vals.keyAt(ROUND + 1);
    const credited = makeBlock(HEIGHT, new Uint8Array(32).fill(7), EMPTY_COMMIT, someoneElse);
    expect(bytesEqual(credited.header.proposerAddress, addressFromPublicKey(proposer.publicKey))).toBe(false);
    const msg = encodeProposalMessage({
      signedProposal: signProposal(proposer, credited, ROUND),
      block: credited,
    });
    expectVerdict(
      () => validateProposal(msg, params()),
      'REJECT',
      'BLOCK_PROPOSER_MISMATCH',
      'BLOCK_INVALID',
    );
    // the same block re-proposed with a POL round (L16: the valid value of an earlier round) passes
    const rePropose = signFields(proposer, {
      ...signProposal(proposer, credited, ROUND).proposal,
      polRound: 0,
    });
    const ok = encodeProposalParts(encodeSignedProposal(rePropose), encodeBlock(credited));
    expect(validateProposal(ok, params()).block.header.proposerAddress).toEqual(
      credited.header.proposerAddress,
    );
  });

  it('[REJECT] a bad proposal signature', () => {
    const forged = { ...sp, signature: new Uint8Array(64).fill(3) };
    const msg = encodeProposalMessage({ signedProposal: forged, block });
    expectVerdict(
      () => validateProposal(msg, params()),
      'REJECT',
      'INVALID_SIGNATURE',
      'PROPOSAL_INVALID_SIGNATURE',
    );
  });

  // #11.13: a body that cannot be decoded as a block, as large as a proposal may be. Decoding it
  // would fail with DECODE_FAILED; every other verdict below proves the block was never decoded.
  const hugeGarbage = new Uint8Array(DEFAULT_MESSAGE_LIMITS.blockBytesMax).fill(0xff);
  const withGarbage = (s: SignedProposal) => encodeProposalParts(encodeSignedProposal(s), hugeGarbage);

  it('checks the signed proposal before decoding the block: bad signature, height, round, proposer', () => {
    const forged = { ...sp, signature: new Uint8Array(64).fill(3) };
    expectVerdict(() => validateProposal(withGarbage(forged), params()), 'REJECT', 'INVALID_SIGNATURE');
    const farHeight = signFields(proposer, { ...sp.proposal, height: HEIGHT + 5 });
    expectVerdict(() => validateProposal(withGarbage(farHeight), params()), 'IGNORE', 'HEIGHT_TOO_FAR');
    const farRound = signFields(proposer, { ...sp.proposal, round: 10_002 });
    expectVerdict(() => validateProposal(withGarbage(farRound), params()), 'IGNORE', 'ROUND_TOO_FAR');
    const notProposer = signFields(vals.keyAt(1), {
      ...sp.proposal,
      proposerAddress: signProposal(vals.keyAt(1), block).proposal.proposerAddress,
    });
    expectVerdict(
      () => validateProposal(withGarbage(notProposer), params()),
      'REJECT',
      'WRONG_PROPOSER',
      'PROPOSAL_WRONG_PROPOSER',
    );
    // the same body behind a valid signed proposal of the round's proposer is decoded, and fails
    expectVerdict(() => validateProposal(withGarbage(sp), params()), 'REJECT', 'DECODE_FAILED');
  });

  it('asks for the proposer of (height, round) only after the round window and the signature', () => {
    const asked: number[] = [];
    const spying = params({
      proposerIndex: (_h, r) => {
        asked.push(r);
        return r % vals.keys.length;
      },
    });
    const forged = { ...sp, signature: new Uint8Array(64).fill(3) };
    expectVerdict(() => validateProposal(withGarbage(forged), spying), 'REJECT', 'INVALID_SIGNATURE');
    const farRound = signFields(proposer, { ...sp.proposal, round: 2 ** 32 - 2 });
    expectVerdict(() => validateProposal(withGarbage(farRound), spying), 'IGNORE', 'ROUND_TOO_FAR');
    expect(asked).toEqual([]);
    validateProposal(bytes, spying);
    expect(asked).toEqual([ROUND]);
  });

  it('[IGNORE] the proposer of the round is unknown', () => {
    expectVerdict(
      () => validateProposal(bytes, params({ proposerIndex: () => undefined })),
      'IGNORE',
      'VALIDATOR_SET_UNKNOWN',
    );
  });

  it('the round window starts at the current round', () => {
    const r = 10_000 + ROUND; // proposed by validator 2 as well
    const far = signFields(proposer, { ...sp.proposal, round: r });
    const msg = encodeProposalParts(encodeSignedProposal(far), encodeBlock(block));
    expectVerdict(() => validateProposal(msg, params()), 'IGNORE', 'ROUND_TOO_FAR');
    expect(validateProposal(msg, params({ currentRound: () => 2 })).signedProposal.proposal.round).toBe(r);
  });

  it('forwards only the first proposal of a (height, round); one conflicting one is delivered, not more', () => {
    const tracked = { ...params(), proposals: new ProposalTracker() };
    const proposalOf = (txByte: number, round = ROUND) => {
      const b = makeBlock(HEIGHT, new Uint8Array(32).fill(8), EMPTY_COMMIT, vals.keyAt(round % 4), [
        new Uint8Array([txByte]),
      ]);
      return encodeProposalMessage({
        signedProposal: signProposal(vals.keyAt(round % 4), b, round),
        block: b,
      });
    };
    expect(validateProposal(proposalOf(1), tracked).conflicting).toBe(false);
    // the same proposal again (e.g. re-published after gossipsub forgot its id): nothing new
    expectVerdict(() => validateProposal(proposalOf(1), tracked), 'IGNORE', 'DUPLICATE_PROPOSAL');
    // a different proposal of the same proposer, height and round: delivered as evidence, not forwarded
    const second = validateProposal(proposalOf(2), tracked);
    expect(second.conflicting).toBe(true);
    // a third one, or the second again: ignored before the block is decoded
    expectVerdict(() => validateProposal(proposalOf(3), tracked), 'IGNORE', 'DOUBLE_PROPOSAL');
    expectVerdict(() => validateProposal(proposalOf(2), tracked), 'IGNORE', 'DOUBLE_PROPOSAL');
    // another round is independent
    expect(validateProposal(proposalOf(4, ROUND + 4), tracked).conflicting).toBe(false);
    expect(tracked.proposals.size).toBe(2);
  });

  it('records only valid proposals, and forgets heights that left the window', () => {
    const tracker = new ProposalTracker();
    const tracked = { ...params(), proposals: tracker };
    const forged = { ...sp, signature: new Uint8Array(64).fill(3) };
    expectVerdict(() => validateProposal(withGarbage(forged), tracked), 'REJECT', 'INVALID_SIGNATURE');
    expectVerdict(() => validateProposal(withGarbage(sp), tracked), 'REJECT', 'DECODE_FAILED');
    expect(tracker.size).toBe(0);
    expect(validateProposal(bytes, tracked).conflicting).toBe(false);
    expect(tracker.size).toBe(1);
    // consensus moved two heights on: HEIGHT is below the window and is pruned on the next record
    const later = { ...params({}, HEIGHT + 2), proposals: tracker };
    const b = makeBlock(HEIGHT + 2, new Uint8Array(32).fill(8), EMPTY_COMMIT, proposer);
    validateProposal(
      encodeProposalMessage({ signedProposal: signProposal(proposer, b, ROUND), block: b }),
      later,
    );
    expect(tracker.size).toBe(1);
  });
});

describe('validateEvidence', () => {
  // The fixtures' chain: committed up to HEIGHT - 1, every block at EV_TIME.
  const EV_TIME = 1_700_000_000_000;
  const chain = (committed = HEIGHT - 1, timeMs = EV_TIME) => ({
    height: committed,
    timeMs,
    params: DEFAULT_CONSENSUS_PARAMS,
    blockTimeAt: (h: number) => (h <= committed ? EV_TIME : undefined),
  });
  const eparams = (overrides: Partial<ValidationContext> = {}) =>
    params({ evidenceChain: () => chain(), ...overrides });
  const ev = duplicateVoteEvidence(vals, 1, HEIGHT - 3);
  const bytes = encodeEvidence(ev);
  const enc = (e: Evidence) => encodeEvidence(e);

  it('[ACCEPT] duplicate-vote evidence signed by the accused validator', () => {
    expect(validateEvidence(bytes, eparams())).toEqual(ev);
  });

  it('[ACCEPT] double-proposal evidence', () => {
    const key = vals.keyAt(3);
    const a = makeBlock(HEIGHT - 2, ZERO_HASH, EMPTY_COMMIT, key, [new Uint8Array([1])]);
    const b = makeBlock(HEIGHT - 2, ZERO_HASH, EMPTY_COMMIT, key, [new Uint8Array([2])]);
    const dp: Evidence = canonicalEvidence({
      kind: 'double-proposal',
      proposalA: signProposal(key, a),
      proposalB: signProposal(key, b),
      validatorPower: 10,
      totalVotingPower: 40,
      timeMs: EV_TIME,
    });
    expect(validateEvidence(enc(dp), eparams()).kind).toBe('double-proposal');
    const forged: Evidence = { ...dp, proposalB: { ...dp.proposalB, signature: new Uint8Array(64).fill(1) } };
    expectVerdict(
      () => validateEvidence(enc(forged), eparams()),
      'REJECT',
      'INVALID_SIGNATURE',
      'EVIDENCE_INVALID',
    );
  });

  it('[REJECT] too large, garbage', () => {
    expectVerdict(
      () => validateEvidence(new Uint8Array(64 * 1024 + 1), eparams()),
      'REJECT',
      'MESSAGE_TOO_LARGE',
    );
    expectVerdict(() => validateEvidence(new Uint8Array([7, 7, 7]), eparams()), 'REJECT', 'DECODE_FAILED');
  });

  it('[REJECT] two votes for the same block are no conflict', () => {
    const same: Evidence = { ...ev, voteB: ev.voteA };
    expectVerdict(() => validateEvidence(enc(same), eparams()), 'REJECT', 'EVIDENCE_MALFORMED');
  });

  it('[REJECT] the swapped copy of valid evidence (canonical order: A before B)', () => {
    const swapped: Evidence = { ...ev, voteA: ev.voteB, voteB: ev.voteA };
    expectVerdict(() => validateEvidence(enc(swapped), eparams()), 'REJECT', 'EVIDENCE_MALFORMED');
    expect(validateEvidence(enc(canonicalEvidence(swapped)), eparams())).toEqual(ev);
  });

  it('[IGNORE] evidence from a height not committed yet (the current height included)', () => {
    for (const h of [HEIGHT, HEIGHT + 1]) {
      expectVerdict(
        () => validateEvidence(enc(duplicateVoteEvidence(vals, 1, h)), eparams()),
        'IGNORE',
        'EVIDENCE_FROM_FUTURE',
      );
    }
  });

  it('[IGNORE] expired evidence: older than maxAgeBlocks AND maxAgeDurationMs', () => {
    const { maxAgeBlocks, maxAgeDurationMs } = DEFAULT_CONSENSUS_PARAMS.evidence;
    const old = enc(duplicateVoteEvidence(vals, 1, 5));
    const far = 6 + maxAgeBlocks;
    const expired = eparams({ evidenceChain: () => chain(far, EV_TIME + maxAgeDurationMs + 1) });
    expectVerdict(() => validateEvidence(old, expired), 'IGNORE', 'EVIDENCE_EXPIRED');
    // As many blocks but not as much time (a fast chain): still punishable, as fault-detector says.
    const fast = eparams({ evidenceChain: () => chain(far, EV_TIME + maxAgeDurationMs) });
    expect(validateEvidence(old, fast).kind).toBe('duplicate-vote');
  });

  it('[REJECT] a time after the last block, or not the block time of its height', () => {
    expectVerdict(
      () => validateEvidence(enc({ ...ev, timeMs: EV_TIME + 1 }), eparams()),
      'REJECT',
      'EVIDENCE_WRONG_TIME',
      'EVIDENCE_INVALID',
    );
    expectVerdict(
      () => validateEvidence(enc({ ...ev, timeMs: EV_TIME - 1 }), eparams()),
      'REJECT',
      'EVIDENCE_WRONG_TIME',
    );
  });

  it('[IGNORE] without a view of the committed chain, or with the block time pruned', () => {
    expectVerdict(() => validateEvidence(bytes, params()), 'IGNORE', 'VALIDATOR_SET_UNKNOWN');
    const pruned = eparams({ evidenceChain: () => ({ ...chain(), blockTimeAt: () => undefined }) });
    expectVerdict(() => validateEvidence(bytes, pruned), 'IGNORE', 'VALIDATOR_SET_UNKNOWN');
  });

  it('[IGNORE] the validator set of that height is unknown', () => {
    expectVerdict(
      () => validateEvidence(bytes, eparams({ validatorSetAt: () => undefined })),
      'IGNORE',
      'VALIDATOR_SET_UNKNOWN',
    );
  });

  it('[REJECT] evidence against a non-validator', () => {
    const fake: Evidence = {
      ...ev,
      voteA: vote(outsider, HEIGHT - 3, 0, 'prevote', 1),
      voteB: vote(outsider, HEIGHT - 3, 0, 'prevote', 2),
    };
    expectVerdict(() => validateEvidence(enc(fake), eparams()), 'REJECT', 'UNKNOWN_VALIDATOR');
  });

  it('[REJECT] power that does not match the validator set', () => {
    expectVerdict(
      () => validateEvidence(enc({ ...ev, validatorPower: 11 }), eparams()),
      'REJECT',
      'EVIDENCE_WRONG_POWER',
    );
    expectVerdict(
      () => validateEvidence(enc({ ...ev, totalVotingPower: 41 }), eparams()),
      'REJECT',
      'EVIDENCE_WRONG_POWER',
    );
  });

  it('[REJECT] a vote in it not signed by the accused', () => {
    const forged: Evidence = { ...ev, voteB: { ...ev.voteB, signature: new Uint8Array(64).fill(9) } };
    expectVerdict(() => validateEvidence(enc(forged), eparams()), 'REJECT', 'INVALID_SIGNATURE');
  });
});

describe('validateTx', () => {
  const key = keyPairFromSeed(seed(50, 1));
  const { tx, bytes } = makeTx(key, 1);

  it('[ACCEPT] a signed transaction of this chain', () => {
    expect(validateTx(bytes, params())).toEqual({ tx, bytes });
  });

  it('[REJECT] too large, garbage', () => {
    const p = { ...params(), limits: { ...DEFAULT_MESSAGE_LIMITS, txBytesMax: 100 } };
    expectVerdict(() => validateTx(new Uint8Array(101), p), 'REJECT', 'MESSAGE_TOO_LARGE');
    expectVerdict(
      () => validateTx(new Uint8Array([1, 2]), params()),
      'REJECT',
      'DECODE_FAILED',
      'P2P_INVALID_MESSAGE',
    );
  });

  it('[REJECT] a transaction of another chain', () => {
    expectVerdict(() => validateTx(makeTx(key, 1, 'other-chain').bytes, params()), 'REJECT', 'WRONG_CHAIN');
  });

  it('[REJECT] a bad transaction signature', () => {
    const forged = new Uint8Array(bytes);
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    expectVerdict(() => validateTx(forged, params()), 'REJECT', 'INVALID_SIGNATURE', 'TX_INVALID');
  });

  it('runs the application precheck, synchronous or not', async () => {
    const verdict = (v: TxPrecheckVerdict) => params({ txPrecheck: () => v });
    expect(validateTx(bytes, verdict('ACCEPT'))).toEqual({ tx, bytes });
    expectVerdict(() => validateTx(bytes, verdict('REJECT')), 'REJECT', 'TX_REJECTED', 'TX_INVALID');
    expectVerdict(() => validateTx(bytes, verdict('IGNORE')), 'IGNORE', 'TX_IGNORED');
    const later = (v: TxPrecheckVerdict) => params({ txPrecheck: async () => v });
    await expect(validateTx(bytes, later('ACCEPT'))).resolves.toEqual({ tx, bytes });
    await expectAsyncVerdict(Promise.resolve(validateTx(bytes, later('REJECT'))), 'REJECT', 'TX_REJECTED');
    await expectAsyncVerdict(Promise.resolve(validateTx(bytes, later('IGNORE'))), 'IGNORE', 'TX_IGNORED');
  });

  it('does not call the precheck for an invalid signature', () => {
    let called = false;
    const forged = new Uint8Array(bytes);
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    expect(() =>
      validateTx(
        forged,
        params({
          txPrecheck: () => {
            called = true;
            return 'ACCEPT';
          },
        }),
      ),
    ).toThrow(GossipValidationError);
    expect(called).toBe(false);
  });
});

describe('validateGossipMessage', () => {
  it('dispatches by topic', () => {
    const sv = vote(vals.keyAt(0), HEIGHT);
    expect(validateGossipMessage('votes', encodeSignedVote(sv), params())).toEqual(sv);
    expectVerdict(
      () => validateGossipMessage('evidence', encodeSignedVote(sv), params()),
      'REJECT',
      'DECODE_FAILED',
    );
  });
});

describe('ValidationContext.verifySignature (one verifier per node)', () => {
  it("checks every vote signature with the context's verifier, and obeys its answer", () => {
    const seen: number[] = [];
    const counting: ValidationContext['verifySignature'] = (_pk, message) => {
      seen.push(message.length);
      return false; // a verifier that says no: the vote is REJECTed even though its signature is good
    };
    const bytes = encodeSignedVote(vote(vals.keyAt(0), HEIGHT));
    expectVerdict(
      () => validateVote(bytes, params({ verifySignature: counting })),
      'REJECT',
      'INVALID_SIGNATURE',
    );
    expect(seen).toHaveLength(1);
    // With a verifier that remembers accepted signatures, the engine's second check of the same vote is a hit.
    const cache = createVerifyCache();
    const good = vote(vals.keyAt(1), HEIGHT);
    expect(validateVote(encodeSignedVote(good), params({ verifySignature: cache.verify }))).toEqual(good);
    const key = vals.set.validators[1]!.pubKey;
    expect(cache.verify(key, voteSignBytes(CHAIN_ID, good.vote), good.signature)).toBe(true);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });
});

describe('screenGossipMessage (before gossipsub)', () => {
  /** The IGNORE reason validation gives, or undefined when it does not IGNORE for the window. */
  const windowVerdict = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (err) {
      const e = err as GossipValidationError;
      if (e.action === 'IGNORE' && ['HEIGHT_TOO_OLD', 'HEIGHT_TOO_FAR', 'ROUND_TOO_FAR'].includes(e.reason))
        return e.reason;
    }
    return undefined;
  };

  it('drops exactly the votes validation IGNOREs for their height or round, with the same reason', () => {
    const cases = [
      vote(vals.keyAt(0), HEIGHT),
      vote(vals.keyAt(0), HEIGHT - 1),
      vote(vals.keyAt(0), HEIGHT - 2),
      vote(vals.keyAt(0), HEIGHT + 2),
      vote(vals.keyAt(0), HEIGHT + 3),
      vote(vals.keyAt(0), HEIGHT, 10_000),
      vote(vals.keyAt(0), HEIGHT, 10_001),
      vote(vals.keyAt(0), HEIGHT + 9, 2 ** 32 - 2),
      // a forged signature is validation's business (REJECT), not the screen's
      { ...vote(vals.keyAt(0), HEIGHT), signature: new Uint8Array(64).fill(1) },
    ];
    const screened = cases.map((v) => screenGossipMessage('votes', encodeSignedVote(v), params())?.reason);
    expect(screened).toEqual([
      undefined,
      undefined,
      'HEIGHT_TOO_OLD',
      undefined,
      'HEIGHT_TOO_FAR',
      undefined,
      'ROUND_TOO_FAR',
      'HEIGHT_TOO_FAR',
      undefined,
    ]);
    expect(cases.map((v) => windowVerdict(() => validateVote(encodeSignedVote(v), params())))).toEqual(
      screened,
    );
  });

  it('reads a proposal’s signed head only: far heights and rounds are dropped whatever the block', () => {
    const proposer = vals.keyAt(2);
    const block = makeBlock(HEIGHT, new Uint8Array(32).fill(8), EMPTY_COMMIT, proposer, []);
    const sp = signProposal(proposer, block, 2);
    const garbage = new Uint8Array(1_000).fill(0xff);
    const far = { ...sp.proposal, height: HEIGHT + 5 };
    expect(
      screenGossipMessage(
        'proposals',
        encodeProposalParts(encodeSignedProposal({ ...sp, proposal: far }), garbage),
        params(),
      ),
    ).toEqual({ reason: 'HEIGHT_TOO_FAR', message: `height ${HEIGHT + 5} > ${HEIGHT} + 2` });
    const farRound = { ...sp.proposal, round: 10_002 };
    expect(
      screenGossipMessage(
        'proposals',
        encodeProposalParts(encodeSignedProposal({ ...sp, proposal: farRound }), garbage),
        params(),
      )?.reason,
    ).toBe('ROUND_TOO_FAR');
    expect(
      screenGossipMessage('proposals', encodeProposalMessage({ signedProposal: sp, block }), params()),
    ).toBe(undefined);
  });

  it('lets through what does not decode, is oversized, or is not a vote or proposal (validation judges it)', () => {
    expect(screenGossipMessage('votes', new Uint8Array([1, 2, 3]), params())).toBeUndefined();
    expect(screenGossipMessage('votes', new Uint8Array(513), params())).toBeUndefined();
    expect(screenGossipMessage('proposals', new Uint8Array(7), params())).toBeUndefined();
    const far = encodeSignedVote(vote(vals.keyAt(0), HEIGHT + 50));
    expect(screenGossipMessage('txs', far, params())).toBeUndefined();
    expect(screenGossipMessage('evidence', far, params())).toBeUndefined();
  });
});
