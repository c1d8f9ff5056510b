/**
 * `NodeComponents.verifySignatures`: the host's check of many signatures at
 * once (a pool of worker threads) reaches the transport's gossip validation
 * through the node's view; without one, the view has none.
 */
import { createVerifyCache, createVerifyPool, type KeyPair, sign } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, createSigner } from '@synod/storage';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createNode,
  type GossipValidationView,
  MemoryNetwork,
  type NodeTransport,
  type SynodNode,
  type VerifySignatures,
} from '../../src/index.js';
import { ACCOUNTS, testGenesis, VALIDATORS, wallClock } from '../fixtures.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A started node whose transport records the validation view the node attaches. */
async function nodeWith(verifySignatures: VerifySignatures | undefined) {
  const views: GossipValidationView[] = [];
  const inner = new MemoryNetwork().transport('v0');
  const transport = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'attachValidation')
        return (view: GossipValidationView) => {
          views.push(view);
          return () => undefined;
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as NodeTransport;
  const verifier = createVerifyCache();
  const storage = await createMemoryNodeStorage();
  const node: SynodNode = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState, verifySignature: verifier.verify }),
      transport,
      clock: wallClock,
      signer: await createSigner((VALIDATORS[0] as KeyPair).seed, storage.signerState),
      verifySignature: verifier.verify,
      ...(verifySignatures === undefined ? {} : { verifySignatures }),
    },
    { genesis: testGenesis(1, { proposeMs: 200, prevoteMs: 100, precommitMs: 100 }) },
  );
  cleanup.push(() => node.stop());
  await node.start();
  return { node, views };
}

describe('node: a host’s check of many signatures', () => {
  it('reaches gossip validation through the view, and answers there as verify does', async () => {
    const pool = createVerifyPool({ workers: 1 });
    cleanup.push(() => pool.close());
    const cache = createVerifyCache({ pool });
    const calls: number[] = [];
    const many: VerifySignatures = (items) => {
      calls.push(items.length);
      return cache.verifyMany(items);
    };
    const { views } = await nodeWith(many);
    expect(views).toHaveLength(1);
    const view = views[0] as GossipValidationView;
    expect(view.verifySignatures).toBeDefined();
    // what the transport would check for a gossiped batch: one good signature, one forged
    const key = ACCOUNTS[0] as KeyPair;
    const message = new Uint8Array([1, 2, 3]);
    const good = { publicKey: key.publicKey, message, signature: sign(key, message) };
    const forged = { ...good, signature: sign(ACCOUNTS[1] as KeyPair, message) };
    expect(await view.verifySignatures?.([good, forged])).toEqual([true, false]);
    expect(calls).toEqual([2]);
    expect(pool.stats().offloaded).toBe(2);
  }, 30_000);

  it('without one, the view has none (signatures are verified by verifySignature)', async () => {
    const { views } = await nodeWith(undefined);
    expect(views).toHaveLength(1);
    expect(views[0]?.verifySignatures).toBeUndefined();
    expect(typeof views[0]?.verifySignature).toBe('function');
  }, 30_000);
});
