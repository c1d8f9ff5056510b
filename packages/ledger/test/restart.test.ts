import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryKvStore, openNodeStorage } from '@synod/storage';
import { type Block, finalizeRequestFromBlock, SynodError } from '@synod/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger } from '../src/index.js';
import { type BuiltChain, buildChain, genesisValidatorSet, type Signers, workload } from './chain.js';
import { addr, genesisRequest, key, queryJson, TEST_PARAMS } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledger-restart-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function applyBlocks(ledger: Ledger, chain: BuiltChain, from: number, to: number): Promise<void> {
  for (let h = from; h <= to; h++) {
    await ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[h - 1] as Block));
    await ledger.commit();
  }
}

/** What the node's handshake does for the application: initChain when it has no state. */
async function initIfEmpty(ledger: Ledger): Promise<void> {
  const info = await ledger.info();
  if (info.lastBlockHeight === 0 && info.lastBlockAppHash.length === 0)
    await ledger.initChain(genesisRequest());
}

describe('restart (LevelDB)', () => {
  it('persists the state; a ledger that crashed before commit reopens at its last committed block', async () => {
    const chain = await buildChain(workload(11, 12));
    // --- first run: the app commits 1..7 and finalizes 8 without committing (a crash).
    let storage = await openNodeStorage({ dataDir: dir });
    let ledger = await Ledger.open({ kv: storage.state.appState });
    await initIfEmpty(ledger);
    expect((await ledger.info()).lastBlockAppHash).toEqual(chain.appHashes[0]);
    await applyBlocks(ledger, chain, 1, 7);
    await ledger.finalizeBlock(finalizeRequestFromBlock(chain.blocks[7] as Block)); // crash before commit
    await storage.close();

    // --- restart: the app says it is at 7 (the node's handshake replays from 8).
    storage = await openNodeStorage({ dataDir: dir });
    ledger = await Ledger.open({ kv: storage.state.appState });
    const info = await ledger.info();
    expect(info.lastBlockHeight).toBe(7);
    expect(info.lastBlockAppHash).toEqual(chain.appHashes[7]);
    await initIfEmpty(ledger); // no-op: it has state
    expect((await ledger.info()).lastBlockHeight).toBe(7);
    await applyBlocks(ledger, chain, 8, 10);
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

    // It goes on: blocks 11 and 12 give the reference hashes, and survive one more restart.
    await applyBlocks(ledger, chain, 11, 12);
    expect((await ledger.info()).lastBlockAppHash).toEqual(chain.appHashes[12]);
    await storage.close();
    storage = await openNodeStorage({ dataDir: dir });
    ledger = await Ledger.open({ kv: storage.state.appState });
    expect(await ledger.info()).toMatchObject({ lastBlockHeight: 12, lastBlockAppHash: chain.appHashes[12] });
    await storage.close();
  });

  it('replays downtime tracking when given the signers of each last commit', async () => {
    const req = genesisRequest({
      consensusParams: { ...TEST_PARAMS, slashing: { ...TEST_PARAMS.slashing, signedBlocksWindow: 4 } },
    });
    const signers: Signers = { set: genesisValidatorSet(), signed: (index) => index !== 2 };
    const chain = await buildChain(workload(14, 12), req, signers);
    const toRequest = (b: Block) => finalizeRequestFromBlock(b, signers.set);
    let storage = await openNodeStorage({ dataDir: dir });
    let ledger = await Ledger.open({ kv: storage.state.appState });
    await ledger.initChain(req);
    for (let h = 1; h <= 5; h++) {
      await ledger.finalizeBlock(toRequest(chain.blocks[h - 1] as Block));
      await ledger.commit();
    }
    await storage.close();
    storage = await openNodeStorage({ dataDir: dir });
    ledger = await Ledger.open({ kv: storage.state.appState });
    for (let h = 6; h <= 12; h++) {
      await ledger.finalizeBlock(toRequest(chain.blocks[h - 1] as Block));
      await ledger.commit();
    }
    expect((await ledger.info()).lastBlockAppHash).toEqual(chain.appHashes[12]);
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

describe('refusals', () => {
  it('Ledger.open refuses a store whose state does not match its app hash', async () => {
    const chain = await buildChain(workload(16, 3));
    const kv = await createMemoryKvStore();
    const ledger = await Ledger.open({ kv });
    await ledger.initChain(genesisRequest());
    await applyBlocks(ledger, chain, 1, 3);
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
