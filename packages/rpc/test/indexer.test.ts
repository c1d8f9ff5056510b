/** The transaction indexer over a real LevelDB (a prefixed view, as the daemon gives it). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '@synod/crypto';
import { type KvStore, openLevelKvStore, prefixedKvStore } from '@synod/storage';
import { DEFAULT_CONSENSUS_PARAMS, txHash } from '@synod/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Query, TxIndexer, txEventMap } from '../src/index.js';
import { ACCOUNTS, address, indexedTransfers, transfer } from './harness.js';

const A = ACCOUNTS[0]!;
const B = ACCOUNTS[1]!;
const C = ACCOUNTS[2]!;
const hexOf = (k: (typeof ACCOUNTS)[number]): string => toHex(address(k));

const blockOf = indexedTransfers;

describe('TxIndexer.resultsJson', () => {
  it("writes the block's validator updates and consensus param updates as ABCI's, null when none", () => {
    const plain = TxIndexer.resultsJson(blockOf(4, [], []));
    expect(plain.consensus_param_updates).toBeNull();
    expect(plain.validator_updates).toEqual([]);
    const pubKey = new Uint8Array(32).fill(9);
    const changed = TxIndexer.resultsJson({
      ...blockOf(5, [], []),
      validatorUpdates: [{ pubKey, power: 0 }],
      consensusParamUpdates: {
        ...DEFAULT_CONSENSUS_PARAMS,
        block: { ...DEFAULT_CONSENSUS_PARAMS.block, maxBytes: 12345 },
      },
    });
    expect(changed.validator_updates).toEqual([
      {
        pub_key: {
          Sum: {
            type: 'tendermint.crypto.PublicKey_Ed25519',
            value: { ed25519: Buffer.from(pubKey).toString('base64') },
          },
        },
        power: '0',
      },
    ]);
    expect(changed.consensus_param_updates).toMatchObject({
      block: { max_bytes: '12345', max_gas: String(DEFAULT_CONSENSUS_PARAMS.block.maxGas) },
      validator: { pub_key_types: ['ed25519'] },
    });
  });
});

describe('TxIndexer', () => {
  let dir: string;
  let db: KvStore;
  let store: KvStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synod-rpc-index-'));
    db = await openLevelKvStore(dir);
    store = prefixedKvStore(db, Uint8Array.of(0x40));
  });

  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const txs = [0, 1, 2, 3, 4, 5].map((n) => transfer(A, n, C, BigInt(n + 1)));
  const blocks = [
    blockOf(1, txs.slice(0, 2), [1n, 2n]),
    blockOf(2, [], []),
    blockOf(3, txs.slice(2), [3n, 4n, 50n, 600n]),
  ];

  it("stores an empty block's results as 0x00 ‖ app hash and reads them back as the same JSON", async () => {
    const ix = await TxIndexer.open(store, 'kv');
    for (const b of blocks) await ix.index(b);
    const key = Uint8Array.of(0x52, 0, 0, 0, 0, 0, 0, 0, 2);
    const raw = await store.get(key);
    expect(raw?.length).toBe(33);
    expect(raw?.[0]).toBe(0);
    expect(await ix.results(2)).toEqual(TxIndexer.resultsJson(blocks[1]!));
    // A block with transactions keeps its JSON.
    expect(await ix.results(3)).toEqual(TxIndexer.resultsJson(blocks[2]!));
    expect((await store.get(Uint8Array.of(0x52, 0, 0, 0, 0, 0, 0, 0, 3)))?.[0]).toBe(0x7b);
  });

  it('finds transactions by hash, height, attribute and ranges, in (height, index) order', async () => {
    const ix = await TxIndexer.open(store, 'kv');
    for (const b of blocks) await ix.index(b);
    const t = await ix.get(txHash(txs[3]!));
    expect(t).toMatchObject({ height: 3, index: 1 });
    expect(toHex(t?.tx as Uint8Array)).toBe(toHex(txs[3]!));
    expect(t?.result).toMatchObject({ code: 0, codespace: '', gas_used: '1001', gas_wanted: '10000' });
    expect(await ix.get(new Uint8Array(32))).toBeUndefined();
    const search = async (q: string): Promise<string[]> =>
      (await ix.search(Query.parse(q))).map((x) => `${x.height}:${x.index}`);
    expect(await search(`transfer.from='${hexOf(A)}'`)).toEqual(['1:0', '3:0', '3:2']);
    expect(await search(`transfer.from='${hexOf(B)}'`)).toEqual(['1:1', '3:1', '3:3']);
    expect(await search('tx.height=3')).toEqual(['3:0', '3:1', '3:2', '3:3']);
    expect(await search('tx.height<3')).toEqual(['1:0', '1:1']);
    expect(await search('tx.height>1 AND tx.height<=3')).toEqual(['3:0', '3:1', '3:2', '3:3']);
    expect(await search('transfer.amount >= 50')).toEqual(['3:2', '3:3']);
    expect(await search(`transfer.amount > 2 AND transfer.from='${hexOf(A)}'`)).toEqual(['3:0', '3:2']);
    expect(await search(`tx.hash='${toHex(txHash(txs[1]!)).toUpperCase()}'`)).toEqual(['1:1']);
    expect(await search("tm.event='Tx'")).toHaveLength(6);
    expect(await search("tm.event='NewBlock'")).toEqual([]);
    expect(await search("transfer.to CONTAINS 'zz'")).toEqual([]);
    expect(await search('fee.payer EXISTS AND tx.height=1')).toEqual(['1:0', '1:1']);
    expect(await ix.searchBlocks(Query.parse('block.height >= 2'))).toEqual([2, 3]);
    expect(await ix.searchBlocks(Query.parse("tm.event='NewBlock' AND block.height=1"))).toEqual([1]);
    expect(await ix.searchBlocks(Query.parse("begin.x='y'"))).toEqual([]);
  });

  it('keeps block results of every height, also with the null indexer', async () => {
    const ix = await TxIndexer.open(store, 'null');
    for (const b of blocks) await ix.index(b);
    expect(ix.enabled).toBe(false);
    expect(await ix.get(txHash(txs[0]!))).toBeUndefined();
    const r = await ix.results(3);
    expect(r?.height).toBe('3');
    expect((r?.txs_results as unknown[] | undefined)?.length).toBe(4);
    expect(r?.app_hash).toBe(Buffer.from(new Uint8Array(32).fill(3)).toString('base64'));
    expect(await ix.results(4)).toBeUndefined();
  });

  it("survives a restart (the store is the node's database)", async () => {
    const ix = await TxIndexer.open(store, 'kv');
    for (const b of blocks) await ix.index(b);
    await db.close();
    db = await openLevelKvStore(dir);
    store = prefixedKvStore(db, Uint8Array.of(0x40));
    const again = await TxIndexer.open(store, 'kv');
    expect((await again.get(txHash(txs[5]!)))?.height).toBe(3);
    expect((await again.search(Query.parse(`transfer.from='${hexOf(B)}'`))).length).toBe(3);
  });

  it('a search scans a bounded number of index entries', async () => {
    const ix = await TxIndexer.open(store, 'kv', { scanMax: 3 });
    for (const b of blocks) await ix.index(b);
    expect((await ix.search(Query.parse('tx.height=1'))).length).toBe(2);
    await expect(ix.search(Query.parse('transfer.amount > 0'))).rejects.toThrow(
      /transfer.amount matches more than 3 index entries/,
    );
    await expect(ix.search(Query.parse("tm.event='Tx'"))).rejects.toThrow(/more than 3/);
  });

  it('refuses a store of another schema version', async () => {
    await store.put(Uint8Array.of(0x4d), Uint8Array.of(9));
    await expect(TxIndexer.open(store, 'kv')).rejects.toThrow(/schema version 9/);
  });

  it("flattens a transaction's events as CometBFT (tm.event, tx.hash, tx.height, type.key)", () => {
    const m = txEventMap(blocks[0]!, 1);
    expect(m['tm.event']).toEqual(['Tx']);
    expect(m['tx.hash']).toEqual([toHex(txHash(txs[1]!)).toUpperCase()]);
    expect(m['tx.height']).toEqual(['1']);
    expect(m['transfer.from']).toEqual([hexOf(B)]);
    expect(m['fee.amount']).toEqual(['10']);
  });
});
