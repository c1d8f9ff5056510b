import { blockHash } from '@synod/types';
import { afterAll, describe, expect, it } from 'vitest';
import { consensusPort, type Network } from '../../src/index.js';
import {
  chainProvider,
  makeChain,
  makeValidators,
  signProposal,
  startNodes,
  stopAll,
  vote,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);

describe('the consensus engine port', () => {
  let nodes: Network[] = [];

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('broadcasts votes and proposals, and fetches blocks by hash (undefined when nobody can answer)', async () => {
    const chain = makeChain(vals, 3);
    nodes = await startNodes(3, vals, (i) => (i === 0 ? { provider: chainProvider(chain) } : {}));
    const [server, client, alone] = nodes;
    if (server === undefined || client === undefined || alone === undefined) throw new Error('setup');
    await client.dial(server.addresses()[0] ?? '');
    await waitFor(() => server.meshPeers('votes').includes(client.peerId), 'server and client mesh');

    const rounds: number[] = [];
    const proposals: number[] = [];
    client.onVote(({ message }) => {
      rounds.push(message.vote.round);
    });
    client.onProposal(({ message }) => {
      proposals.push(message.block.header.height);
    });
    const port = consensusPort(server);
    await port.broadcastVote(vote(vals.keyAt(0), 1, 3));
    const block = chain[0]?.block;
    if (block === undefined) throw new Error('fixture');
    await port.broadcastProposal(signProposal(vals.keyAt(1), block, 1), block); // round 1's proposer
    await waitFor(() => rounds.includes(3) && proposals.includes(1), 'the vote and the proposal arrive');

    const fetched = await consensusPort(client).fetchBlock(blockHash(block));
    expect(fetched === undefined ? undefined : blockHash(fetched)).toEqual(blockHash(block));
    expect(await consensusPort(alone).fetchBlock(blockHash(block))).toBeUndefined();
  });
});
