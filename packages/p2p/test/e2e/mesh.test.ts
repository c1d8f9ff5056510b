import { addressFromPublicKey, keyPairFromSeed, toHex } from '@synod/crypto';
import { EMPTY_COMMIT } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/index.js';
import {
  connectAll,
  duplicateVoteEvidence,
  makeBlock,
  makeTx,
  makeValidators,
  seed,
  signProposal,
  startNodes,
  stopAll,
  vote,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);

describe('4 nodes on 127.0.0.1', () => {
  let nodes: Network[] = [];
  /** received[i] = keys of messages node i got, as `${topic}:${tag}` */
  const received: Set<string>[] = [];
  const senders: Map<string, string>[] = [];

  beforeAll(async () => {
    nodes = await startNodes(4, vals);
    nodes.forEach((n, i) => {
      const got = new Set<string>();
      const from = new Map<string, string>();
      received[i] = got;
      senders[i] = from;
      n.onVote(({ message, from: peer }) => {
        const tag = `votes:${message.vote.round}`;
        got.add(tag);
        from.set(tag, peer);
      });
      n.onProposal(({ message }) => {
        got.add(`proposals:${message.signedProposal.proposal.round}`);
      });
      n.onEvidence(({ message }) => {
        if (message.kind === 'duplicate-vote')
          got.add(`evidence:${toHex(message.voteA.vote.validatorAddress)}`);
      });
      n.onTx(({ message }) => {
        got.add(`txs:${message.tx.body.nonce}`);
      });
    });
    await connectAll(nodes);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('form a full mesh on every topic', async () => {
    await waitFor(
      () =>
        nodes.every((n) =>
          (['proposals', 'votes', 'evidence', 'txs'] as const).every((t) => n.meshPeers(t).length === 3),
        ),
      'every node has the 3 others in its mesh on every topic',
    );
    for (const n of nodes) expect(n.connectedPeers()).toHaveLength(3);
  });

  it('deliver every message type from every node to every other node', async () => {
    const expected: string[][] = nodes.map(() => []);
    for (const [i, n] of nodes.entries()) {
      // votes and proposals are tagged by round, evidence by the accused, txs by nonce: unique per sender
      const key = vals.keyAt(i);
      await n.publishVote(vote(key, 1, i));
      const block = makeBlock(1, new Uint8Array(32).fill(i), EMPTY_COMMIT, key, [new Uint8Array([i])]);
      await n.publishProposal(signProposal(key, block, i), block);
      await n.publishEvidence(duplicateVoteEvidence(vals, i, 1));
      await n.publishTx(makeTx(keyPairFromSeed(seed(60, i)), 100 + i).bytes);
      for (let j = 0; j < nodes.length; j++) {
        if (j === i) continue;
        expected[j]?.push(
          `votes:${i}`,
          `proposals:${i}`,
          `txs:${100 + i}`,
          `evidence:${toHex(addressFromPublicKey(key.publicKey))}`,
        );
      }
    }
    await waitFor(
      () => expected.every((keys, j) => keys.every((k) => received[j]?.has(k))),
      'every node received every vote, proposal, evidence and tx of the others',
    );
    for (const [j, got] of received.entries()) {
      expect([...got].filter((k) => k.startsWith('votes:')).sort()).toEqual(
        nodes
          .map((_, i) => `votes:${i}`)
          .filter((k) => k !== `votes:${j}`)
          .sort(),
      );
    }
    // the sending peer is reported with each message
    const ids = new Set(nodes.map((n) => n.peerId));
    expect(ids.has(senders[1]?.get('votes:0') ?? '')).toBe(true);
  });
});
