/**
 * A transaction published while its node has no peer on the tx topic (it is
 * starting, or reconnecting after a cut) is not sent into the void: gossipsub
 * would record the batch as seen and send it nowhere, and nothing gossips it
 * again, so it would wait for ever in that node's mempool. It waits for a
 * peer instead.
 */
import { keyPairFromSeed } from '@synod/crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/index.js';
import { makeTx, makeValidators, seed, startNodes, stopAll, waitFor } from '../fixtures.js';

const vals = makeValidators(2);

describe('a transaction published with no peer on the topic', () => {
  let nodes: Network[] = [];
  afterAll(async () => {
    await stopAll(nodes);
  });

  it('goes out once a peer connects', async () => {
    nodes = await startNodes(2, vals);
    const [a, b] = nodes as [Network, Network];
    const got: number[] = [];
    b.onTx(({ message }) => {
      got.push(message.tx.body.nonce);
    });
    // A is alone: the batch has nobody to go to.
    expect(a.connectedPeers()).toEqual([]);
    await a.publishTx(makeTx(keyPairFromSeed(seed(61, 0)), 7).bytes);
    expect(a.flushTxs()).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    // Then B connects; A's held batch reaches it (and B validates and delivers it).
    await b.dial(a.addresses()[0] ?? '');
    await waitFor(
      () => got.includes(7),
      'B received the transaction A published before it had a peer',
      20_000,
    );
    expect(got).toEqual([7]);
  }, 60_000);
});
