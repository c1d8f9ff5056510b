import { verify } from '@synod/crypto';
import {
  blockHash,
  bytesEqual,
  DEFAULT_CONSENSUS_PARAMS,
  type Evidence,
  encodeCommit,
  encodeSignedVote,
  type SignedVote,
} from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallerVerifiedBlockRangeOptions,
  type Network,
  type NodeSyncProvider,
  type NodeTransportMessages,
  nodeTransport,
  type P2PNodeTransport,
} from '../../src/index.js';
import {
  connectAll,
  duplicateVoteEvidence,
  EVIDENCE_TIME_MS,
  makeChain,
  makeTx,
  makeValidators,
  RecordingMetrics,
  signProposal,
  startNodes,
  stopAll,
  validationContext,
  vote,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const chain = makeChain(vals, 5, 1);

/** A node's provider over a fixed chain (decoded blocks, as the node's stores hand them over). */
function chainSyncProvider(): NodeSyncProvider {
  const last = chain[chain.length - 1];
  if (last === undefined) throw new Error('fixture');
  return {
    status: () => ({ height: chain.length, lastBlockHash: blockHash(last.block), earliestHeight: 1 }),
    blockByHash: (hash) => chain.find((c) => bytesEqual(blockHash(c.block), hash))?.block,
    blockRange: (from, to) => chain.slice(from - 1, to),
    consensus: () => ({ proposals: [], votes: [] }),
  };
}

describe('nodeTransport(network): the node transport port over two networks on 127.0.0.1', () => {
  let nodes: Network[] = [];
  let a: P2PNodeTransport;
  let b: P2PNodeTransport;
  const metrics = new RecordingMetrics();
  // without evidenceChain until the node attaches its view; the host's verifier counts its calls
  let verified = 0;
  const base = {
    ...validationContext(vals, () => 1),
    evidenceChain: undefined,
    verifySignature: (key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => {
      verified++;
      return verify(key, message, signature);
    },
  };

  beforeAll(async () => {
    nodes = await startNodes(2, vals, (i) => ({ validation: base, ...(i === 1 ? { metrics } : {}) }), 80);
    await connectAll(nodes);
    const [na, nb] = nodes;
    if (na === undefined || nb === undefined) throw new Error('setup');
    a = nodeTransport(na);
    b = nodeTransport(nb);
    await waitFor(
      () => na.meshPeers('votes').includes(nb.peerId) && na.meshPeers('evidence').includes(nb.peerId),
      'a mesh',
    );
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('publishes and delivers every topic, in the node shapes (a proposal with its block, a tx as its bytes)', async () => {
    const got: { [T in keyof NodeTransportMessages]: NodeTransportMessages[T][] } = {
      proposals: [],
      votes: [],
      evidence: [],
      txs: [],
    };
    const froms = new Set<string>();
    const offs = [
      b.subscribe('proposals', ({ message, from }) => {
        got.proposals.push(message);
        froms.add(from);
      }),
      b.subscribe('votes', ({ message }) => {
        got.votes.push(message);
      }),
      b.subscribe('txs', ({ message }) => {
        got.txs.push(message);
      }),
    ];
    const block = chain[0]?.block;
    if (block === undefined) throw new Error('fixture');
    const sv: SignedVote = vote(vals.keyAt(0), 1, 0);
    const { bytes } = makeTx(vals.keyAt(0), 1);
    await a.publish('votes', sv);
    await a.publish('proposals', { signedProposal: signProposal(vals.keyAt(1), block, 1), block });
    await a.publish('txs', bytes);
    await waitFor(
      () => got.votes.length === 1 && got.proposals.length === 1 && got.txs.length === 1,
      'the three messages',
    );
    expect(encodeSignedVote(got.votes[0] ?? vote(vals.keyAt(3), 9))).toEqual(encodeSignedVote(sv));
    expect(Object.keys(got.proposals[0] ?? {}).sort()).toEqual(['block', 'signedProposal']);
    expect(blockHash(got.proposals[0]?.block ?? block)).toEqual(blockHash(block));
    expect(got.txs[0]).toBeInstanceOf(Uint8Array);
    expect(bytesEqual(got.txs[0] ?? new Uint8Array(0), bytes)).toBe(true);
    expect([...froms]).toEqual([a.network.peerId]);
    for (const off of offs) off();
    // unsubscribed: a later message is not delivered
    await a.publish('votes', vote(vals.keyAt(1), 1, 0));
    await waitFor(
      () => metrics.total('synod_p2p_gossip_messages_total', { topic: 'votes' }) >= 2,
      'validated',
    );
    expect(got.votes).toHaveLength(1);
  });

  it("gives gossip validation the node's evidence chain while attached", async () => {
    const received: Evidence[] = [];
    const off = b.subscribe('evidence', ({ message }) => {
      received.push(message);
    });
    const ignoredBefore = (): number =>
      metrics.total('synod_p2p_gossip_messages_total', { topic: 'evidence', action: 'ignore' });
    // no view of the chain: evidence cannot be judged, it is ignored
    await a.publish('evidence', duplicateVoteEvidence(vals, 0, 1));
    await waitFor(() => ignoredBefore() >= 1, 'the evidence ignored');
    expect(received).toHaveLength(0);

    const view = {
      evidenceChain: () => ({
        height: 1,
        timeMs: EVIDENCE_TIME_MS,
        params: DEFAULT_CONSENSUS_PARAMS,
        blockTimeAt: () => EVIDENCE_TIME_MS,
      }),
    };
    const nb = b.network;
    const detach = b.attachValidation(view);
    expect(nb.validation).not.toBe(base);
    expect(nb.validation.validatorSetAt(1)).toBe(vals.set);
    const verifiedBefore = verified;
    await a.publish('evidence', duplicateVoteEvidence(vals, 1, 1));
    await waitFor(() => received.length === 1, 'the evidence delivered');
    // its two votes' signatures, through the host's verifier (kept by the attached context)
    expect(verified - verifiedBefore).toBeGreaterThanOrEqual(2);
    detach();
    expect(nb.validation).toBe(base);
    off();
  });

  it('serves the sync protocols from the node provider; block ranges leave the commit signatures to the caller', async () => {
    const stop = a.serve(chainSyncProvider());
    const server = a.network.peerId;
    expect(b.peers()).toEqual([server]);
    expect(a.peers()).toEqual([b.network.peerId]);

    const status = await b.requestStatus(server);
    expect(status.height).toBe(5);

    const items = await b.requestBlockRange(server, 2, 4);
    expect(items.map((i) => i.block.header.height)).toEqual([2, 3, 4]);
    expect(encodeCommit(items[0]?.commit ?? chain[0]!.commit)).toEqual(encodeCommit(chain[1]!.commit));

    const wanted = chain[2]?.block;
    if (wanted === undefined) throw new Error('fixture');
    const block = await b.requestBlockByHash(blockHash(wanted));
    expect(block === undefined ? undefined : blockHash(block)).toEqual(blockHash(wanted));
    expect(await b.requestBlockByHash(new Uint8Array(32).fill(7), { peer: server })).toBeUndefined();

    stop();
    // nobody serves any more: a block is not found, status and ranges reject
    expect(await b.requestBlockByHash(blockHash(wanted))).toBeUndefined();
    await expect(b.requestStatus(server)).rejects.toThrow();
    await expect(b.requestBlockRange(server, 1, 2)).rejects.toThrow();
    // a second serve() after the first's stop works, and stopping an old one leaves the new one
    const stop2 = a.serve(chainSyncProvider());
    stop();
    expect((await b.requestStatus(server)).height).toBe(5);
    stop2();
  });

  it('checks every block of a range but the commit signatures, which a caller with validatorSetAt gets checked', async () => {
    // the commits name the right blocks, but nobody signed them
    const unsigned = chain.map(({ block, commit }) => ({
      block,
      commit: {
        ...commit,
        signatures: commit.signatures.map((s) => ({ ...s, signature: new Uint8Array(64).fill(9) })),
      },
    }));
    const stop = a.serve({ ...chainSyncProvider(), blockRange: (from, to) => unsigned.slice(from - 1, to) });
    const server = a.network.peerId;
    const items = await b.requestBlockRange(server, 1, 3);
    expect(items).toHaveLength(3);
    await expect(
      b.network.requestBlockRange(1, 3, { peer: server, validatorSetAt: () => vals.set }),
    ).rejects.toMatchObject({ failure: 'invalid-response' });
    // a range whose blocks do not chain is refused either way
    const forked = [chain[0], makeChain(vals, 3, 2)[1]].filter((c) => c !== undefined);
    stop();
    const stop2 = a.serve({ ...chainSyncProvider(), blockRange: (from, to) => forked.slice(from - 1, to) });
    await expect(b.requestBlockRange(server, 1, 2)).rejects.toMatchObject({ failure: 'invalid-response' });
    await expect(
      b.network.requestBlockRange(1, 2, { peer: server } as unknown as CallerVerifiedBlockRangeOptions),
    ).rejects.toThrow(RangeError);
    stop2();
  });
});
