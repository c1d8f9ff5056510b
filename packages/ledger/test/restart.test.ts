import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryKvStore, type NodeStorage, openNodeStorage } from '@synod/storage';
import { type Block, isSynodError, SynodError } from '@synod/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finalizeRequestFromBlock, handshake, Ledger } from '../src/index.js';
import {
  arrayBlockStore,
  type BuiltChain,
  buildChain,
  genesisValidatorSet,
  type Signers,
  workload,
} from './chain.js';
import { addr, genesisRequest, key, queryJson, TEST_PARAMS } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledger-restart-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Saves blocks 1..n of `chain` in the node's block store. */
async function saveBlocks(storage: NodeStorage, chain: BuiltChain, n: number): Promise<void> {
  for (let h = storage.blocks.height() + 1; h <= n; h++) {
    await storage.blocks.saveBlock(
      chain.blocks[h - 1] as Block,
      chain.commits[h - 1] as (typeof chain.commits)[number],
    );
  }
}

async function applyBlocks(ledger: Ledger, chain: BuiltChain, from: number, to: number): Promise<void> {
  for (let h = from; h <= to; h++) {
    await ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[h - 1] as Block));
    await ledger.commit();
  }
}

describe('restart handshake (LevelDB)', () => {
  it('persists the state; a ledger that crashed behind the block store replays the missing blocks', async () => {
    const chain = await buildChain(workload(11, 12));
    // --- first run: the node stores blocks 1..10, the app commits 1..7 and finalizes 8 without committing.
    let storage = await openNodeStorage({ dataDir: dir });
    let ledger = await Ledger.open({ kv: storage.state.appState });
    const first = await handshake({ app: ledger, blockStore: storage.blocks, genesis: chain.genesis });
    expect(first.initChain?.appHash).toEqual(chain.appHashes[0]);
    expect(first.replayed).toBe(0);
    await saveBlocks(storage, chain, 10);
    await applyBlocks(ledger, chain, 1, 7);
    await ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[7] as Block)); // crash before commit
    await storage.close();

    // --- restart: the app is at 7, the store at 10.
    storage = await openNodeStorage({ dataDir: dir });
    ledger = await Ledger.open({ kv: storage.state.appState });
    const info = await ledger.info();
    expect(info.lastBlockHeight).toBe(7);
    expect(info.lastBlockAppHash).toEqual(chain.appHashes[7]);
    const res = await handshake({ app: ledger, blockStore: storage.blocks, genesis: chain.genesis });
    expect(res).toEqual({ appHeight: 10, appHash: chain.appHashes[10], replayed: 3 });
    expect((await ledger.info()).lastBlockAppHash).toEqual(chain.appHashes[10]);

    // State, history and the mempool's view survive: queries at old heights, nonces for checkTx.
    const reference = await Ledger.open({ kv: await createMemoryKvStore() });
    await reference.initChain(genesisRequest());
    await applyBlocks(reference, chain, 1, 10);
    for (const h of [3, 7, 10]) {
      expect(await queryJson(ledger, 'account', addr(key(10)), h)).toEqual(
        await queryJson(reference, 'account', addr(key(10)), h),
      );
      expect(await queryJson(ledger, 'validators', new Uint8Array(0), h)).toEqual(
        await queryJson(reference, 'validators', new Uint8Array(0), h),
      );
    }
    expect(ledger.account(addr(key(10)))).toEqual(reference.account(addr(key(10))));

    // The node goes on: blocks 11 and 12 after the handshake give the reference hashes.
    await saveBlocks(storage, chain, 12);
    await applyBlocks(ledger, chain, 11, 12);
    expect((await ledger.info()).lastBlockAppHash).toEqual(chain.appHashes[12]);
    await storage.close();

    // A restart with nothing to replay replays nothing.
    storage = await openNodeStorage({ dataDir: dir });
    ledger = await Ledger.open({ kv: storage.state.appState });
    expect(await handshake({ app: ledger, blockStore: storage.blocks, genesis: chain.genesis })).toEqual({
      appHeight: 12,
      appHash: chain.appHashes[12],
      replayed: 0,
    });
    await storage.close();
  });

  it('an app that lost all its state runs InitChain and replays the whole chain', async () => {
    const chain = await buildChain(workload(12, 8));
    const storage = await openNodeStorage({ dataDir: dir });
    await saveBlocks(storage, chain, 8);
    const ledger = await Ledger.open({ kv: storage.state.appState });
    const res = await handshake({ app: ledger, blockStore: storage.blocks, genesis: chain.genesis });
    expect(res.replayed).toBe(8);
    expect(res.appHash).toEqual(chain.appHashes[8]);
    expect(res.initChain?.appHash).toEqual(chain.appHashes[0]);
    await storage.close();
  });

  it('replays downtime tracking when the node passes the signers of each last commit', async () => {
    const req = genesisRequest({
      consensusParams: { ...TEST_PARAMS, slashing: { ...TEST_PARAMS.slashing, signedBlocksWindow: 4 } },
    });
    const signers: Signers = { set: genesisValidatorSet(), signed: (index) => index !== 2 };
    const chain = await buildChain(workload(14, 12), req, signers);
    const toFinalizeRequest = (b: Block) => finalizeRequestFromBlock(b, signers.set);
    let storage = await openNodeStorage({ dataDir: dir });
    let ledger = await Ledger.open({ kv: storage.state.appState });
    await handshake({ app: ledger, blockStore: storage.blocks, genesis: chain.genesis, toFinalizeRequest });
    await saveBlocks(storage, chain, 12);
    for (let h = 1; h <= 5; h++) {
      await ledger.finalizeBlock(toFinalizeRequest(chain.blocks[h - 1] as Block));
      await ledger.commit();
    }
    await storage.close();
    storage = await openNodeStorage({ dataDir: dir });
    ledger = await Ledger.open({ kv: storage.state.appState });
    const res = await handshake({
      app: ledger,
      blockStore: storage.blocks,
      genesis: chain.genesis,
      toFinalizeRequest,
    });
    expect(res).toEqual({ appHeight: 12, appHash: chain.appHashes[12], replayed: 7 });
    // Validator 2 of the set never signed: jailed for downtime when its first window of 4 filled (block 5).
    const absent = signers.set.validators[2]?.address as Uint8Array;
    expect(ledger.slashingRecord(absent)).toMatchObject({
      downtimeJails: 1,
      lastHeight: 5,
      lastReason: 'downtime',
    });
    await storage.close();
  });
});

describe('handshake failures', () => {
  it('refuses to go on when a stored header disagrees with the replayed app hash', async () => {
    const chain = await buildChain(workload(13, 6));
    const tampered = chain.blocks.map((b, i) =>
      i === 4 ? { ...b, header: { ...b.header, appHash: new Uint8Array(32).fill(0xee) } } : b,
    );
    const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
    const err = await handshake({
      app: ledger,
      blockStore: arrayBlockStore(tampered),
      genesis: chain.genesis,
    }).catch((e: unknown) => e);
    expect(isSynodError(err, 'STORAGE_CORRUPT')).toBe(true);
    expect((err as SynodError).message).toMatch(/height 5: app hash mismatch/);
    expect((await ledger.info()).lastBlockHeight).toBe(4); // stopped before the bad block
  });

  it('checks the last replayed block against the next stored header', async () => {
    const chain = await buildChain(workload(14, 4));
    const store = arrayBlockStore(chain.blocks.slice(0, 3));
    const withNext = {
      height: store.height,
      loadBlock: async (h: number) =>
        h === 4
          ? {
              ...(chain.blocks[3] as Block),
              header: { ...(chain.blocks[3] as Block).header, appHash: new Uint8Array(32) },
            }
          : store.loadBlock(h),
    };
    const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
    await expect(handshake({ app: ledger, blockStore: withNext, genesis: chain.genesis })).rejects.toThrow(
      /after the last replayed block/,
    );
  });

  it('refuses an app ahead of the block store, and a missing block', async () => {
    const chain = await buildChain(workload(15, 4));
    const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
    await handshake({ app: ledger, blockStore: arrayBlockStore(chain.blocks), genesis: chain.genesis });
    await expect(
      handshake({
        app: ledger,
        blockStore: arrayBlockStore(chain.blocks.slice(0, 2)),
        genesis: chain.genesis,
      }),
    ).rejects.toThrow(/ahead of the block store/);
    const fresh = await Ledger.open({ kv: await createMemoryKvStore() });
    const holey = {
      height: async () => 4,
      loadBlock: async (h: number) => (h === 2 ? undefined : chain.blocks[h - 1]),
    };
    await expect(handshake({ app: fresh, blockStore: holey, genesis: chain.genesis })).rejects.toThrow(
      /block 2 is missing/,
    );
  });

  it('Ledger.open refuses a store whose state does not match its app hash', async () => {
    const chain = await buildChain(workload(16, 3));
    const kv = await createMemoryKvStore();
    const ledger = await Ledger.open({ kv });
    await handshake({ app: ledger, blockStore: arrayBlockStore(chain.blocks), genesis: chain.genesis });
    // Flip one byte of one latest-state value behind the ledger's back.
    const [entry] = await kv.entries({
      gte: Uint8Array.of(0x4c, 0x01),
      lt: Uint8Array.of(0x4c, 0x02),
      limit: 1,
    });
    if (entry === undefined) throw new Error('no account in the store');
    const value = new Uint8Array(entry.value);
    value[value.length - 1] = (value[value.length - 1] as number) ^ 1;
    await kv.put(entry.key, value);
    await expect(Ledger.open({ kv })).rejects.toThrow(/does not match the stored app hash/);
  });

  it('refuses finalizeBlock out of order and commit without a block', async () => {
    const chain = await buildChain(workload(17, 2));
    const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
    await expect(ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[0] as Block))).rejects.toThrow(
      /initChain/,
    );
    await ledger.initChain(genesisRequest());
    await expect(ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[1] as Block))).rejects.toThrow(
      /expected 1/,
    );
    await expect(ledger.commit()).rejects.toThrow(SynodError);
    await ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[0] as Block));
    await expect(ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[1] as Block))).rejects.toThrow(
      /not committed/,
    );
  });
});
