/**
 * Four validators, each `createNode` over its own libp2p `Network` on
 * 127.0.0.1 (through @synod/p2p's `nodeTransport`), memory storage and the
 * ledger: they connect, commit blocks, one of them carrying a signed
 * transfer submitted on one node, and agree on every block.
 */
import '@synod/polyfills';
import { ProposerSchedule } from '@synod/consensus';
import { createVerifyCache, type KeyPair } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createNetwork, type Network, nodeTransport, type ValidationContext } from '@synod/p2p';
import { createMemoryNodeStorage, createSigner, type NodeStorage } from '@synod/storage';
import { blockHash, bytesEqual, type Genesis, type ValidatorSet } from '@synod/types';
import { afterAll, describe, expect, it } from 'vitest';
import { createNode, type NodeTransport, type SynodNode } from '../../src/index.js';
import {
  ACCOUNTS,
  address,
  heightReached,
  testGenesis,
  transfer,
  VALIDATORS,
  wallClock,
} from '../fixtures.js';

const loopbackOnly = (a: string): boolean => a.startsWith('/ip4/127.0.0.1/');

/** Polls `cond` every 20 ms until it holds (throws after `ms`). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What the host tells gossip validation about the chain: the validator sets
 * of the last executed height H to H + 2 (with their proposer schedules),
 * read from the node's state store after each block. The node's own view
 * (`attachValidation`) adds the evidence chain.
 */
class HostChainView {
  #height = 0;
  readonly #sets = new Map<number, { readonly set: ValidatorSet; readonly schedule: ProposerSchedule }>();

  constructor(private readonly storage: NodeStorage) {}

  async refresh(): Promise<void> {
    const info = await this.storage.state.loadStateInfo();
    if (info === undefined) return;
    for (let h = Math.max(info.height, 1); h <= info.height + 2; h++) {
      if (this.#sets.has(h)) continue;
      const set = await this.storage.state.loadValidatorSet(h);
      if (set !== undefined) this.#sets.set(h, { set, schedule: new ProposerSchedule(set.validators) });
    }
    this.#height = Math.max(this.#height, info.height);
    for (const h of this.#sets.keys()) if (h < this.#height - 2) this.#sets.delete(h);
  }

  context(chainId: string, verifySignature: ValidationContext['verifySignature']): ValidationContext {
    return {
      chainId,
      currentHeight: () => this.#height + 1,
      validatorSetAt: (h) => this.#sets.get(h)?.set,
      proposerIndex: (h, r) => this.#sets.get(h)?.schedule.proposer(r),
      verifySignature,
    };
  }
}

interface Validator {
  readonly network: Network;
  readonly node: SynodNode;
  readonly storage: NodeStorage;
  readonly view: HostChainView;
}

async function validator(index: number, genesis: Genesis): Promise<Validator> {
  const storage = await createMemoryNodeStorage();
  const view = new HostChainView(storage);
  // one verifier per node: gossip validation and the engine share its memory of checked signatures
  const verifier = createVerifyCache();
  const network = await createNetwork({
    chainId: genesis.chainId,
    nodeKey: { seed: new Uint8Array(32).fill(0x40 + index) },
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dialFilter: loopbackOnly,
    validation: view.context(genesis.chainId, verifier.verify),
    consensusParams: genesis.consensusParams,
    peerManager: { allowPrivateAddresses: true, pingTimeoutMs: 5_000, dialTimeoutMs: 10_000 },
    mesh: { heartbeatIntervalMs: 200 },
  });
  // the compile-time check: the adapter is the node's transport port
  const transport: NodeTransport = nodeTransport(network);
  const key = VALIDATORS[index] as KeyPair;
  const node = createNode(
    {
      storage,
      application: await Ledger.open({ kv: storage.state.appState }),
      transport,
      clock: wallClock,
      signer: await createSigner(key.seed, storage.signerState),
      verifySignature: verifier.verify,
    },
    { genesis },
  );
  node.on('block', () => {
    void view.refresh();
  });
  return { network, node, storage, view };
}

describe('four validators over libp2p on 127.0.0.1', () => {
  const validators: Validator[] = [];

  afterAll(async () => {
    for (const v of validators) await v.node.stop();
    await Promise.all(validators.map((v) => v.network.stop()));
  });

  it('connect, commit a transfer submitted on one node, and agree on every block', async () => {
    const genesis = testGenesis(4, { commitMs: 50 });
    for (let i = 0; i < 4; i++) validators.push(await validator(i, genesis));
    const [v0, v1, v2, v3] = validators;
    if (v0 === undefined || v1 === undefined || v2 === undefined || v3 === undefined)
      throw new Error('setup');
    await Promise.all(validators.map((v) => v.network.start()));
    for (let i = 1; i < 4; i++)
      for (let j = 0; j < i; j++)
        await validators[i]?.network.dial(validators[j]?.network.addresses()[0] ?? '');
    await until(
      () => validators.every((v) => v.network.connectedPeers().length === 3),
      'every pair connected',
    );

    const startedAt = Date.now();
    let firstBlockAt: number | undefined;
    v0.node.on('block', () => {
      firstBlockAt ??= Date.now();
    });
    await Promise.all(
      validators.map(async (v) => {
        await v.node.start();
        await v.view.refresh();
      }),
    );
    for (const v of validators) expect(v.node.status().peers).toBe(3);

    // a signed transfer, submitted on node 2: gossiped, proposed by whoever proposes, committed everywhere
    const tx = transfer(ACCOUNTS[0] as KeyPair, 0, ACCOUNTS[1], 1_000n);
    const committed = new Promise<number>((resolve) => {
      v3.node.on('block', (e) => {
        const i = e.block.txs.findIndex((t) => bytesEqual(t, tx));
        if (i >= 0) {
          expect(e.txResults[i]?.code).toBe('OK');
          resolve(e.height);
        }
      });
    });
    expect((await v2.node.broadcastTx(tx)).accepted).toBe(true);
    const txHeight = await committed;
    const top = Math.max(txHeight + 2, 8);
    await Promise.all(validators.map((v) => heightReached(v.node, top)));
    const elapsedMs = Date.now() - startedAt;

    // every node has the same block at every height
    for (let h = 1; h <= top; h++) {
      const hashes = await Promise.all(
        validators.map(async (v) => {
          const block = await v.storage.blocks.loadBlock(h);
          return block === undefined ? 'missing' : Buffer.from(blockHash(block)).toString('hex');
        }),
      );
      expect(new Set(hashes).size, `height ${h}: ${hashes.join(' ')}`).toBe(1);
      expect(hashes[0]).not.toBe('missing');
    }
    // the transfer took effect on every node
    for (const v of validators) {
      const account = await v.node.query({ path: 'account', data: address(ACCOUNTS[0] as KeyPair) });
      expect(new TextDecoder().decode(account.value)).toMatch(/"nonce":\s*1\b/);
    }
    // the liveness protocol answers over the real transport: a decided height comes back with its commit
    const reply = await nodeTransport(v1.network).requestConsensus(v0.network.peerId, {
      height: txHeight,
      round: 0,
    });
    expect(reply.decided?.block.header.height).toBe(txHeight);
    expect(reply.decided?.block.txs.some((t) => bytesEqual(t, tx))).toBe(true);
    console.info(
      `4 validators over libp2p: first block after ${(firstBlockAt ?? Number.NaN) - startedAt} ms; ` +
        `tx committed at height ${txHeight}; height ${top} on every node after ${elapsedMs} ms`,
    );
  });
});
