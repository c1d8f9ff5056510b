import { multiaddr } from '@multiformats/multiaddr';
import { blockHash, DecodeError, encodeCommit, encodeSignedProposal, ZERO_HASH } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  decodeProposalMessage,
  encodeProposalMessage,
  encodeProposalParts,
  readProposalEnvelope,
  SIGNED_PROPOSAL_BYTES_MAX,
} from '../../src/codec/proposal-message.js';
import {
  decodeBlockRangeRequest,
  decodeBlockWithCommit,
  decodeChunk,
  decodeStatus,
  encodeBlockRangeRequest,
  encodeBlockWithCommit,
  encodeChunk,
  encodeStatus,
} from '../../src/codec/reqresp-messages.js';
import { DEFAULT_MESSAGE_LIMITS, gossipDataBytesMax, proposalBytesMax } from '../../src/limits.js';
import { GOSSIP_TOPICS, protocolId, TopicNames, topicName, WIRE_VERSION } from '../../src/topics.js';
import { makeChain, makeValidators, signProposal } from '../fixtures.js';

const vals = makeValidators(4);
const chain = makeChain(vals, 3, 2);

describe('topics and protocols', () => {
  it('are versioned and scoped to the chain', () => {
    // wire version 2: transactions are gossiped in batches
    expect(WIRE_VERSION).toBe(2);
    expect(topicName('synod-1', 'votes')).toBe('/synod/synod-1/votes/2');
    expect(protocolId('synod-1', 'block-range')).toBe('/synod/synod-1/block-range/2');
    const names = new TopicNames('synod-1');
    expect(names.all()).toHaveLength(GOSSIP_TOPICS.length);
    for (const t of GOSSIP_TOPICS) expect(names.topicOf(names.byTopic[t])).toBe(t);
    expect(names.topicOf('/synod/synod-2/votes/2')).toBeUndefined();
    expect(names.topicOf('/synod/synod-1/votes/1')).toBeUndefined();
    expect(names.topicOf('/synod/synod-1/txs/1')).toBeUndefined();
  });
});

describe('proposal message', () => {
  const item = chain[1];
  if (item === undefined) throw new Error('fixture');
  const sp = signProposal(vals.keyAt(0), item.block);

  it('round-trips a signed proposal with its block', () => {
    const bytes = encodeProposalMessage({ signedProposal: sp, block: item.block });
    const back = decodeProposalMessage(bytes, DEFAULT_MESSAGE_LIMITS.blockBytesMax);
    expect(back.signedProposal).toEqual(sp);
    expect(blockHash(back.block)).toEqual(blockHash(item.block));
  });

  it('the signed proposal is read without decoding the block', () => {
    const garbage = new Uint8Array(1000).fill(0xff);
    const bytes = encodeProposalParts(encodeSignedProposal(sp), garbage);
    const envelope = readProposalEnvelope(bytes);
    expect(envelope.signedProposal).toEqual(sp);
    expect(envelope.blockBytes).toEqual(garbage);
    expect(() => decodeProposalMessage(bytes, 1_000_000)).toThrow(DecodeError);
  });

  it('refuses short input, an absurd prefix, a block over the limit', () => {
    const bytes = encodeProposalMessage({ signedProposal: sp, block: item.block });
    expect(() => decodeProposalMessage(new Uint8Array(3), 1000)).toThrow(DecodeError);
    const bad = new Uint8Array(bytes);
    new DataView(bad.buffer).setUint32(0, SIGNED_PROPOSAL_BYTES_MAX + 1);
    expect(() => decodeProposalMessage(bad, 1_000_000)).toThrow(DecodeError);
    expect(() => decodeProposalMessage(bytes, 100)).toThrow(DecodeError);
  });

  it('bounds gossip sizes from the limits', () => {
    expect(proposalBytesMax(DEFAULT_MESSAGE_LIMITS)).toBeGreaterThan(DEFAULT_MESSAGE_LIMITS.blockBytesMax);
    expect(gossipDataBytesMax(DEFAULT_MESSAGE_LIMITS)).toBeGreaterThan(
      proposalBytesMax(DEFAULT_MESSAGE_LIMITS),
    );
  });
});

describe('request/response messages', () => {
  it('status round-trips; bad lengths and inconsistent heights are refused', () => {
    const s = { height: 2 ** 40, earliestHeight: 5, lastBlockHash: new Uint8Array(32).fill(4) };
    expect(decodeStatus(encodeStatus(s))).toEqual(s);
    expect(() => decodeStatus(new Uint8Array(47))).toThrow(DecodeError);
    const inverted = encodeStatus({ height: 1, earliestHeight: 1, lastBlockHash: ZERO_HASH });
    new DataView(inverted.buffer).setBigUint64(8, 2n);
    expect(() => decodeStatus(inverted)).toThrow(DecodeError);
    const huge = encodeStatus(s);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 60n);
    expect(() => decodeStatus(huge)).toThrow(DecodeError);
    expect(() => encodeStatus({ ...s, height: -1 })).toThrow(RangeError);
  });

  it('block-range requests round-trip; empty or inverted ranges are refused', () => {
    expect(decodeBlockRangeRequest(encodeBlockRangeRequest({ from: 7, to: 9 }))).toEqual({ from: 7, to: 9 });
    expect(() => decodeBlockRangeRequest(encodeBlockRangeRequest({ from: 9, to: 7 }))).toThrow(DecodeError);
    expect(() => decodeBlockRangeRequest(encodeBlockRangeRequest({ from: 0, to: 7 }))).toThrow(DecodeError);
    expect(() => decodeBlockRangeRequest(new Uint8Array(15))).toThrow(DecodeError);
  });

  it('block-with-commit items round-trip within their bounds', () => {
    const item = chain[2];
    if (item === undefined) throw new Error('fixture');
    const bytes = encodeBlockWithCommit(item);
    const back = decodeBlockWithCommit(bytes, 1_000_000, 1_000_000);
    expect(blockHash(back.block)).toEqual(blockHash(item.block));
    expect(back.commit).toEqual(item.commit);
    expect(() => decodeBlockWithCommit(bytes, 10, 1_000_000)).toThrow(DecodeError);
    expect(() => decodeBlockWithCommit(bytes, 1_000_000, encodeCommit(item.commit).length - 1)).toThrow(
      DecodeError,
    );
    expect(() => decodeBlockWithCommit(new Uint8Array(2), 10, 10)).toThrow(DecodeError);
  });

  it('response chunks carry a result code', () => {
    const chunk = decodeChunk(encodeChunk({ result: 'RESOURCE_UNAVAILABLE', payload: new Uint8Array([1]) }));
    expect(chunk.result).toBe('RESOURCE_UNAVAILABLE');
    expect([...chunk.payload]).toEqual([1]);
    expect(() => decodeChunk(new Uint8Array([9]))).toThrow(DecodeError);
    expect(() => decodeChunk(new Uint8Array(0))).toThrow(DecodeError);
  });

  it('peer-exchange entries are binary multiaddrs', () => {
    const a = multiaddr('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSkF44MD4g734t56UaXRPKRsTDCJZEzY2twttwKBu1w6m');
    expect(multiaddr(a.bytes).toString()).toBe(a.toString());
  });
});
