import type { GossipSub } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { encodeSignedVote, SIGNED_VOTE_BYTES, type SignedVote } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/index.js';
import { topicName } from '../../src/topics.js';
import {
  CHAIN_ID,
  connectAll,
  makeValidators,
  RecordingMetrics,
  rawGossipPeer,
  startNodes,
  stopAll,
  vote,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const VOTES = topicName(CHAIN_ID, 'votes');
const BAD_ROUND = 99;

describe('a peer sending garbage and bad signatures', () => {
  let nodes: Network[] = [];
  const metrics = Array.from({ length: 4 }, () => new RecordingMetrics());
  let evil: Libp2p<{ pubsub: GossipSub }> | undefined;
  const rounds: number[][] = [[], [], [], []];

  beforeAll(async () => {
    nodes = await startNodes(4, vals, (i) => ({ metrics: metrics[i] }));
    for (const [i, n] of nodes.entries()) {
      n.onVote(({ message }) => {
        rounds[i]?.push(message.vote.round);
      });
    }
    await connectAll(nodes);
    evil = await rawGossipPeer();
  });

  afterAll(async () => {
    await stopAll(nodes);
    await evil?.stop();
  });

  it('is penalised through gossipsub scoring, banned at its first invalid signature with the rest of its burst unvalidated; the others carry on', async () => {
    if (evil === undefined) throw new Error('setup');
    const bad = evil;
    const evilId = bad.peerId.toString();
    const [n0, n1, n2, n3] = nodes;
    if (n0 === undefined || n1 === undefined || n2 === undefined || n3 === undefined)
      throw new Error('setup');
    // the adversary connects to two of the four honest nodes
    await bad.dial(multiaddr(n0.addresses()[0] ?? ''));
    await bad.dial(multiaddr(n1.addresses()[0] ?? ''));
    await waitFor(
      () => bad.services.pubsub.getSubscribers(VOTES).length === 2,
      'the adversary sees both honest subscriptions',
    );

    const forged = (i: number): SignedVote => {
      const sv = vote(vals.keyAt(i % 4), 1, BAD_ROUND, 'prevote', i);
      return { vote: sv.vote, signature: new Uint8Array(64).fill(i + 1) };
    };
    // garbage, then a vote one byte over the topic's bound (rejected before it is
    // queued): REJECT, penalty points, a negative gossipsub score, no ban yet
    await bad.services.pubsub.publish(VOTES, new Uint8Array([1, 2, 3, 4, 5]));
    await bad.services.pubsub.publish(VOTES, new Uint8Array(SIGNED_VOTE_BYTES + 1).fill(7));
    await waitFor(
      () => n0.penaltyPoints(evilId) > 19 && n1.penaltyPoints(evilId) > 19,
      'two rejects counted on both nodes',
    );
    // gossipsub caches scores for a heartbeat: wait for the P4 + P5 penalties to show
    await waitFor(
      () => n0.gossipScore(evilId) < 0 && n1.gossipScore(evilId) < 0,
      'a negative gossipsub score',
    );
    expect(n0.isBanned(evilId)).toBe(false);

    // a burst of forged votes: the first invalid signature bans it (a correct peer checks
    // signatures before it forwards), and what else it sent is dropped unvalidated
    for (let i = 0; i < 50; i++) {
      await bad.services.pubsub.publish(VOTES, encodeSignedVote(forged(i))).catch(() => {});
    }
    await waitFor(() => n0.isBanned(evilId) && n1.isBanned(evilId), 'both nodes ban the adversary');
    await waitFor(() => bad.getPeers().length === 0, 'the adversary is disconnected');

    for (const m of metrics.slice(0, 2)) {
      expect(m.total('synod_p2p_gossip_messages_total', { action: 'reject', topic: 'votes' })).toBe(3);
      expect(m.total('synod_p2p_gossip_messages_total', { reason: 'DECODE_FAILED' })).toBe(1);
      expect(m.total('synod_p2p_gossip_messages_total', { reason: 'MESSAGE_TOO_LARGE' })).toBe(1);
      // one signature checked, not fifty
      expect(m.total('synod_p2p_gossip_messages_total', { reason: 'INVALID_SIGNATURE' })).toBe(1);
      expect(m.total('synod_p2p_peer_bans_total', { reason: 'invalid-signature' })).toBe(1);
      expect(m.total('synod_p2p_peer_bans_total')).toBe(1);
    }
    // invalid data never spread: the two nodes the adversary was not connected to saw none of it
    for (const m of metrics.slice(2))
      expect(m.total('synod_p2p_gossip_messages_total', { action: 'reject' })).toBe(0);
    for (const r of rounds) expect(r).not.toContain(BAD_ROUND);

    // it cannot come back while banned: the connection gater refuses it once Noise has
    // authenticated its peer id (its dial may briefly look open on its side, then closes)
    const redial = await bad
      .dial(multiaddr(n0.addresses()[0] ?? ''), { signal: AbortSignal.timeout(3_000) })
      .then(
        () => 'open',
        () => 'refused',
      );
    await waitFor(() => bad.getPeers().length === 0, `the redial (${redial}) is cut`);
    expect(n0.connectedPeers()).not.toContain(evilId);
    expect(n0.bannedPeers().map((b) => b.peer)).toContain(evilId);

    // the honest nodes keep exchanging votes
    await n0.publishVote(vote(vals.keyAt(0), 1, 5));
    await n3.publishVote(vote(vals.keyAt(3), 1, 6));
    await waitFor(
      () =>
        rounds[1]?.includes(5) === true &&
        rounds[2]?.includes(5) === true &&
        rounds[3]?.includes(5) === true &&
        rounds[0]?.includes(6) === true,
      'honest votes still reach everyone',
    );
  });
});
