import { blockHash, DecodeError, LIMITS, SIGNED_VOTE_BYTES, type SignedVote } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  CONSENSUS_ITEM_KINDS,
  CONSENSUS_REPLY_LIMITS,
  CONSENSUS_REQUEST_BYTES,
  type ConsensusReply,
  consensusReplyBounds,
  consensusReplyItems,
  decodeConsensusReply,
  decodeConsensusRequest,
  encodeConsensusRequest,
  servableConsensusItems,
} from '../../src/codec/consensus-messages.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits, proposalBytesMax } from '../../src/limits.js';
import { makeChain, makeValidators, signProposal, vote } from '../fixtures.js';

const vals = makeValidators(4);
const chain = makeChain(vals, 3, 2);
const item = (h: number) => {
  const c = chain[h - 1];
  if (c === undefined) throw new Error('fixture');
  return c;
};

/** The prevotes and precommits of every validator at (height, round). */
function votesAt(height: number, round: number): SignedVote[] {
  return vals.keys.flatMap((_, i) => [
    vote(vals.keyAt(i), height, round, 'prevote'),
    vote(vals.keyAt(i), height, round, 'precommit'),
  ]);
}

const bounds = consensusReplyBounds(DEFAULT_MESSAGE_LIMITS, 4);

function expectDecodeError(f: () => unknown, code: string): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  expect((caught as DecodeError).code).toBe(code);
}

describe('consensus request', () => {
  it('round-trips (height u64, round u32: 12 bytes)', () => {
    const bytes = encodeConsensusRequest({ height: 2 ** 40 + 7, round: 3 });
    expect(bytes).toHaveLength(CONSENSUS_REQUEST_BYTES);
    expect(decodeConsensusRequest(bytes)).toEqual({ height: 2 ** 40 + 7, round: 3 });
    expect(decodeConsensusRequest(encodeConsensusRequest({ height: 1, round: LIMITS.roundMax }))).toEqual({
      height: 1,
      round: LIMITS.roundMax,
    });
  });

  it('refuses a malformed request with a DecodeError', () => {
    expectDecodeError(() => decodeConsensusRequest(new Uint8Array(11)), 'DECODE_INVALID_BYTES');
    expectDecodeError(() => decodeConsensusRequest(new Uint8Array(13)), 'DECODE_INVALID_BYTES');
    // height 0
    expectDecodeError(() => decodeConsensusRequest(new Uint8Array(12)), 'DECODE_INVALID_VALUE');
    // height above 2^53
    expectDecodeError(() => decodeConsensusRequest(new Uint8Array(12).fill(0xff)), 'DECODE_INVALID_VALUE');
    // round 0xffffffff (reserved)
    const bytes = encodeConsensusRequest({ height: 5, round: 0 });
    bytes.fill(0xff, 8);
    expectDecodeError(() => decodeConsensusRequest(bytes), 'DECODE_INVALID_VALUE');
    expect(() => encodeConsensusRequest({ height: 0, round: 0 })).toThrow(RangeError);
    expect(() => encodeConsensusRequest({ height: 1, round: -1 })).toThrow(RangeError);
  });
});

describe('consensus reply bounds', () => {
  it('follow the validator count and block.maxBytes', () => {
    const L = CONSENSUS_REPLY_LIMITS;
    expect(L.proposalsMax).toBe(L.roundsMax);
    expect(L.votesPerValidatorMax).toBe(2 * L.roundsMax);
    expect(bounds.proposalsMax).toBe(5);
    expect(bounds.votesMax).toBe(40);
    expect(bounds.proposalBytesMax).toBe(proposalBytesMax(DEFAULT_MESSAGE_LIMITS));
    const small: MessageLimits = { ...DEFAULT_MESSAGE_LIMITS, blockBytesMax: 1_000_000 };
    const b = consensusReplyBounds(small, 100);
    expect(b.votesMax).toBe(1_000);
    expect(b.bytesMax).toBe(
      5 * (1 + proposalBytesMax(small)) +
        1_000 * (1 + SIGNED_VOTE_BYTES) +
        (1 + 4 + 1_000_000 + small.commitBytesMax),
    );
    expect(() => consensusReplyBounds(small, 0)).toThrow(RangeError);
    expect(() => consensusReplyBounds(small, LIMITS.validatorsMax + 1)).toThrow(RangeError);
  });
});

describe('consensus reply', () => {
  const h2 = item(2);
  const proposal = { signedProposal: signProposal(vals.keyAt(0), h2.block, 0), block: h2.block };
  const reply: ConsensusReply = { proposals: [proposal], votes: votesAt(2, 0) };

  it('round-trips proposals and votes, and a decided block with its commit', () => {
    const back = decodeConsensusReply([...consensusReplyItems(reply)], bounds);
    expect(back.votes).toEqual(reply.votes);
    expect(back.proposals).toHaveLength(1);
    expect(back.proposals[0]?.signedProposal).toEqual(proposal.signedProposal);
    expect(blockHash(back.proposals[0]?.block ?? h2.block)).toEqual(blockHash(h2.block));
    expect(back.decided).toBeUndefined();

    const decided = decodeConsensusReply(
      [...consensusReplyItems({ proposals: [], votes: [], decided: h2 })],
      bounds,
    );
    expect(decided.proposals).toEqual([]);
    expect(decided.votes).toEqual([]);
    expect(decided.decided?.commit).toEqual(h2.commit);
    expect(blockHash(decided.decided?.block ?? h2.block)).toEqual(blockHash(h2.block));

    expect(decodeConsensusReply([], bounds)).toEqual({ proposals: [], votes: [] });
  });

  it('refuses more items than the bounds allow (DECODE_TOO_LARGE), before decoding them', () => {
    const manyVotes = [0, 1, 2, 3, 4, 5].flatMap((r) => votesAt(2, r)); // 6 rounds × 8 = 48 > 40
    expectDecodeError(
      () => decodeConsensusReply([...consensusReplyItems({ proposals: [], votes: manyVotes })], bounds),
      'DECODE_TOO_LARGE',
    );
    const sixProposals = Array.from({ length: 6 }, () => proposal);
    expectDecodeError(
      () => decodeConsensusReply([...consensusReplyItems({ proposals: sixProposals, votes: [] })], bounds),
      'DECODE_TOO_LARGE',
    );
    const twoDecided = [...consensusReplyItems({ proposals: [], votes: [], decided: h2 })];
    expectDecodeError(() => decodeConsensusReply([...twoDecided, ...twoDecided], bounds), 'DECODE_TOO_LARGE');
    // an item of an unknown kind would be cheap: a vote-kind chunk above the item bound is not
    const huge = new Uint8Array(bounds.itemBytesMax + 1);
    huge[0] = CONSENSUS_ITEM_KINDS.vote;
    expectDecodeError(() => decodeConsensusReply([huge], bounds), 'DECODE_TOO_LARGE');
    // a proposal whose block exceeds block.maxBytes
    const tight = consensusReplyBounds({ ...DEFAULT_MESSAGE_LIMITS, blockBytesMax: 200 }, 4);
    expectDecodeError(
      () => decodeConsensusReply([...consensusReplyItems({ proposals: [proposal], votes: [] })], tight),
      'DECODE_TOO_LARGE',
    );
    // the whole reply's byte cap, with each item within its own bound
    const capped = { ...bounds, bytesMax: 3 * (1 + SIGNED_VOTE_BYTES) };
    expectDecodeError(
      () => decodeConsensusReply([...consensusReplyItems({ proposals: [], votes: votesAt(2, 0) })], capped),
      'DECODE_TOO_LARGE',
    );
  });

  it('refuses malformed items with a DecodeError', () => {
    const [p0, v0] = [...consensusReplyItems(reply)];
    if (p0 === undefined || v0 === undefined) throw new Error('fixture');
    expectDecodeError(
      () => decodeConsensusReply([new Uint8Array([9, 1, 2])], bounds),
      'DECODE_INVALID_BYTES',
    );
    expectDecodeError(() => decodeConsensusReply([new Uint8Array(0)], bounds), 'DECODE_INVALID_BYTES');
    // a vote one byte short
    expectDecodeError(
      () => decodeConsensusReply([v0.subarray(0, v0.length - 1)], bounds),
      'DECODE_INVALID_BYTES',
    );
    // a proposal cut in its block, and garbage behind a proposal kind byte
    expect(() => decodeConsensusReply([p0.subarray(0, p0.length - 10)], bounds)).toThrow(DecodeError);
    expect(() => decodeConsensusReply([new Uint8Array(300).fill(0)], bounds)).toThrow(DecodeError);
    // a decided item whose block length runs past its end
    const d = new Uint8Array([CONSENSUS_ITEM_KINDS.decided, 0, 0, 0xff, 0xff, 1, 2, 3]);
    expect(() => decodeConsensusReply([d], bounds)).toThrow(DecodeError);
  });
});

describe('what a server sends (servableConsensusItems)', () => {
  const h2 = item(2);
  const proposalAt = (round: number) => ({
    signedProposal: signProposal(vals.keyAt(round % 4), h2.block, round),
    block: h2.block,
  });

  it('keeps items of the asked height, at most five rounds, within the counts: a correct requester accepts it', () => {
    const reply: ConsensusReply = {
      proposals: [0, 1, 2, 3, 4, 5, 6].map(proposalAt),
      votes: [
        ...votesAt(3, 0), // another height: left out
        ...[0, 1, 2, 3, 4, 5, 6].flatMap((r) => votesAt(2, r)),
      ],
      decided: item(1), // another height: left out
    };
    const payloads = [...servableConsensusItems(2, reply, bounds)];
    const back = decodeConsensusReply(payloads, bounds);
    expect(back.proposals.map((p) => p.signedProposal.proposal.round)).toEqual([0, 1, 2, 3, 4]);
    expect(back.votes).toHaveLength(40);
    expect(new Set(back.votes.map((v) => v.vote.round))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(back.votes.every((v) => v.vote.height === 2)).toBe(true);
    expect(back.decided).toBeUndefined();
  });

  it('leaves out a proposal above block.maxBytes and keeps the decided block of the asked height', () => {
    const tight = consensusReplyBounds({ ...DEFAULT_MESSAGE_LIMITS, blockBytesMax: 200 }, 4);
    const payloads = [
      ...servableConsensusItems(2, { proposals: [proposalAt(0)], votes: votesAt(2, 0) }, tight),
    ];
    expect(decodeConsensusReply(payloads, tight).proposals).toEqual([]);
    const decided = [...servableConsensusItems(2, { proposals: [], votes: [], decided: h2 }, bounds)];
    expect(decodeConsensusReply(decided, bounds).decided?.commit).toEqual(h2.commit);
  });
});
