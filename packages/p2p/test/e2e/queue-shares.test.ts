import type { GossipSub } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { SIGNED_TX_BYTES_MAX } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTxBatch } from '../../src/codec/tx-batch.js';
import type { Network, TxPrecheckVerdict } from '../../src/index.js';
import { DEFAULT_MESSAGE_LIMITS } from '../../src/limits.js';
import { topicName } from '../../src/topics.js';
import {
  CHAIN_ID,
  makeTx,
  makeValidators,
  RecordingMetrics,
  rawGossipPeer,
  startNodes,
  stopAll,
  validationContext,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const TXS = topicName(CHAIN_ID, 'txs');

/**
 * The victim's transaction precheck is held (one slot in flight), so whatever
 * arrives waits in the txs queue: 40 messages, 10 per peer (a share of 0.25).
 */
describe('gossip queues under a flood from one peer (#11.14, #11.25)', () => {
  const metrics = new RecordingMetrics();
  const prechecked: number[] = [];
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  let nodes: Network[] = [];
  let evil: Libp2p<{ pubsub: GossipSub }> | undefined;

  beforeAll(async () => {
    nodes = await startNodes(2, vals, (i) =>
      i === 0
        ? {
            metrics,
            validation: {
              ...validationContext(vals, () => 1),
              txPrecheck: async (tx): Promise<TxPrecheckVerdict> => {
                prechecked.push(tx.body.nonce);
                await held;
                return 'ACCEPT';
              },
            },
            queues: {
              asyncConcurrency: 1,
              peerShare: 0.25,
              topics: {
                proposals: { maxLength: 256, maxBytes: 32 * 1024 * 1024, dropPolicy: 'drop-oldest' },
                votes: { maxLength: 16_384, maxBytes: 4 * 1024 * 1024, dropPolicy: 'drop-oldest' },
                evidence: { maxLength: 1_024, maxBytes: 1024 * 1024, dropPolicy: 'drop-oldest' },
                txs: { maxLength: 40, maxBytes: 40 * SIGNED_TX_BYTES_MAX, dropPolicy: 'drop-oldest' },
              },
            },
          }
        : // one transaction per batch message: each of the honest node's txs is its own queue item
          { txBatching: { maxTxs: 1 } },
    );
    evil = await rawGossipPeer();
  });

  afterAll(async () => {
    release();
    await stopAll(nodes);
    await evil?.stop();
  });

  it('an honest peer keeps its share while another floods; a ban drops the flooder’s queue unvalidated', async () => {
    const [victim, honest] = nodes;
    if (victim === undefined || honest === undefined || evil === undefined) throw new Error('setup');
    const bad = evil;
    const evilId = bad.peerId.toString();
    await honest.dial(victim.addresses()[0] ?? '');
    await bad.dial(multiaddr(victim.addresses()[0] ?? ''));
    await waitFor(
      () => victim.meshPeers('txs').includes(honest.peerId),
      'the honest peer is in the victim’s txs mesh',
    );
    await waitFor(() => bad.services.pubsub.getSubscribers(TXS).length === 1, 'the flooder sees the victim');

    // honest txs (nonces 0-5): the first holds the precheck slot, five wait in the queue
    const honestKey = vals.keyAt(0);
    for (let n = 0; n <= 5; n++) await honest.publishTx(makeTx(honestKey, n).bytes);
    await waitFor(() => victim.queuedFrom(honest.peerId).txs === 5, 'five honest txs queued');
    expect(prechecked).toEqual([0]);

    // the flood: 100 valid txs (nonces 1000+). The flooder holds at most its share (10) and
    // pays for the rest with its own oldest; the honest txs stay
    const evilKey = vals.keyAt(1);
    for (let n = 1_000; n < 1_100; n++)
      await bad.services.pubsub.publish(TXS, encodeTxBatch([makeTx(evilKey, n).bytes]));
    await waitFor(
      () => metrics.total('synod_p2p_queue_dropped_total', { topic: 'txs' }) === 90,
      'the flooder’s overflow dropped',
    );
    expect(victim.queuedFrom(evilId).txs).toBe(10);
    expect(victim.queuedFrom(honest.peerId).txs).toBe(5);
    expect(victim.queueLengths().txs).toBe(15);
    // a batch of one: a 2-byte count and a 2-byte length around the transaction
    expect(victim.queueBytes().txs).toBe(15 * (makeTx(honestKey, 1).bytes.length + 4));

    // a batch larger than any batch is refused before it is queued
    await bad.services.pubsub.publish(
      TXS,
      new Uint8Array(DEFAULT_MESSAGE_LIMITS.txBatchBytesMax + 1).fill(3),
    );
    await waitFor(
      () => metrics.total('synod_p2p_gossip_messages_total', { reason: 'MESSAGE_TOO_LARGE' }) === 1,
      'the oversized tx rejected',
    );
    expect(victim.queueLengths().txs).toBe(15);

    // a ban drops what the flooder still has queued, at once and unvalidated
    victim.ban(evilId, 'test');
    expect(victim.queuedFrom(evilId).txs).toBe(0);
    expect(victim.queueLengths().txs).toBe(5);
    expect(metrics.total('synod_p2p_gossip_messages_total', { reason: 'PEER_BANNED' })).toBe(10);

    // the precheck runs for the honest txs only, in order
    release();
    await waitFor(() => prechecked.length === 6, 'the honest txs prechecked');
    expect(prechecked).toEqual([0, 1, 2, 3, 4, 5]);
    await waitFor(() => victim.queueLengths().txs === 0, 'the queue drained');
    expect(prechecked).toHaveLength(6);
  });
});
