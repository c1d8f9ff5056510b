import { RPC } from '@libp2p/gossipsub/message';
import { SynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { type GossipViolation, guardGossipRouter } from '../../src/gossip-guard.js';

/** The router members the guard wraps, with gossipsub's own RPC decoder. */
function fakeRouter() {
  const duplicates: string[] = [];
  return {
    duplicates,
    decodeRpc: (bytes: Uint8Array) => RPC.decode(bytes),
    streamsInbound: new Map(),
    pipePeerReadStream: async () => {},
    handlePeerReadStreamError: () => {},
    handleReceivedRpc: async () => {},
    score: {
      rejectInvalidMessage: () => {},
      duplicateMessage: (_from: string, msgId: string, _topic: string) => {
        duplicates.push(msgId);
      },
    },
  };
}

describe('the gossip guard', () => {
  it('gives a small message its own buffer instead of a view into the frame it arrived in', () => {
    const router = fakeRouter();
    guardGossipRouter(router, { isOurTopic: () => true, violation: () => {} });
    const vote = new Uint8Array(129).fill(7);
    const frame = RPC.encode({ subscriptions: [], messages: [{ topic: 't', data: vote }] });
    // the frame is itself a view into a 64 KiB read buffer
    const chunk = new Uint8Array(65_536);
    chunk.set(frame, 1_000);
    const rpc = router.decodeRpc(chunk.subarray(1_000, 1_000 + frame.length));
    const data = rpc.messages[0]?.data;
    expect(data).toEqual(vote);
    expect(data?.buffer.byteLength).toBe(129);
    // the same when the bytes are a Node Buffer (its slice() is a view, not a copy)
    const pooled = Buffer.alloc(65_536);
    pooled.set(frame, 2_000);
    const fromBuffer = router.decodeRpc(pooled.subarray(2_000, 2_000 + frame.length)).messages[0]?.data;
    expect(fromBuffer).toEqual(vote);
    expect(fromBuffer?.buffer.byteLength).toBe(129);
    // a message that fills its frame is left as it is
    const big = new Uint8Array(4_096).fill(1);
    const whole = RPC.encode({ subscriptions: [], messages: [{ topic: 't', data: big }] });
    expect(router.decodeRpc(whole).messages[0]?.data?.buffer).toBe(whole.buffer);
  });

  it('a copy of a message proven invalid is a violation; a copy of anything else is not', () => {
    const router = fakeRouter();
    const seen: [string, GossipViolation][] = [];
    const guard = guardGossipRouter(router, {
      isOurTopic: () => true,
      violation: (peer, kind) => seen.push([peer, kind]),
      rejectedIdsMax: 2,
    });
    router.score.duplicateMessage('p1', 'ok', 't');
    guard.provenInvalid('bad1');
    router.score.duplicateMessage('p2', 'bad1', 't');
    expect(seen).toEqual([['p2', 'invalid-duplicate']]);
    // gossipsub's own accounting still runs
    expect(router.duplicates).toEqual(['ok', 'bad1']);
    // bounded: the oldest ids are forgotten first
    guard.provenInvalid('bad2');
    guard.provenInvalid('bad3');
    router.score.duplicateMessage('p3', 'bad1', 't');
    router.score.duplicateMessage('p3', 'bad3', 't');
    expect(seen).toEqual([
      ['p2', 'invalid-duplicate'],
      ['p3', 'invalid-duplicate'],
    ]);
  });

  it('refuses a router without the members it wraps', () => {
    const { decodeRpc: _, ...withoutDecode } = fakeRouter();
    expect(() => guardGossipRouter(withoutDecode, { isOurTopic: () => true, violation: () => {} })).toThrow(
      SynodError,
    );
  });
});
