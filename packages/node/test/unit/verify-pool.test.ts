/**
 * `NodeComponents.verifySignatures`: a submitted transaction's signature is
 * checked by the host's pool of worker threads before checkTx, whose own
 * check then answers from the verifier's memory; the verdict stays checkTx's.
 */
import { createVerifyCache, createVerifyPool, type KeyPair, type VerifyItem } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, createSigner } from '@synod/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, MemoryNetwork, type SynodNode } from '../../src/index.js';
import { ACCOUNTS, heightReached, testGenesis, transfer, VALIDATORS, wallClock } from '../fixtures.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function nodeWithPool() {
  const pool = createVerifyPool({ workers: 1 });
  cleanup.push(() => pool.close());
  const verifier = createVerifyCache({ pool });
  const batches: VerifyItem[][] = [];
  const storage = await createMemoryNodeStorage();
  const node: SynodNode = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState, verifySignature: verifier.verify }),
      transport: new MemoryNetwork().transport('v0'),
      clock: wallClock,
      signer: await createSigner((VALIDATORS[0] as KeyPair).seed, storage.signerState),
      verifySignature: verifier.verify,
      verifySignatures: (items) => {
        batches.push([...items]);
        return verifier.verifyMany(items);
      },
    },
    { genesis: testGenesis(1, { proposeMs: 200, prevoteMs: 100, precommitMs: 100 }) },
  );
  cleanup.push(() => node.stop());
  await node.start();
  return { node, pool, verifier, batches };
}

describe('node: signatures verified by the host’s pool', () => {
  it('a submitted transaction is verified off the event loop once; checkTx finds it verified', async () => {
    const { node, pool, verifier, batches } = await nodeWithPool();
    const tx = transfer(ACCOUNTS[0] as KeyPair, 0);
    const before = verifier.stats();
    expect((await node.broadcastTx(tx)).accepted).toBe(true);
    expect(batches.map((b) => b.length)).toEqual([1]);
    expect(pool.stats().offloaded).toBe(1);
    // checkTx's check was a hit, not a second verification
    const after = verifier.stats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(1);
    await heightReached(node, node.status().height + 2);
    expect(node.unconfirmedTxs()).toEqual([]);
  }, 30_000);

  it('the verdict stays checkTx’s: a forged signature and bytes that are no transaction are refused', async () => {
    const { node, batches } = await nodeWithPool();
    const forged = transfer(ACCOUNTS[1] as KeyPair, 0);
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    const r = await node.broadcastTx(forged);
    expect(r.accepted).toBe(false);
    expect(r.code).toBe('TX_BAD_SIGNATURE');
    expect(batches.length).toBe(1);
    const junk = await node.broadcastTx(new Uint8Array([1, 2, 3]));
    expect(junk.accepted).toBe(false);
    expect(batches.length).toBe(1); // not decoded as a transaction: left to checkTx, no pool call
    expect(node.unconfirmedTxs()).toEqual([]);
  }, 30_000);
});
