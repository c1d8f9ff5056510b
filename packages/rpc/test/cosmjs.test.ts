/**
 * `@cosmjs/tendermint-rpc` 0.39, unmodified, against a real node served by
 * the RPC: `connectComet` picks the CometBFT 0.38 client, every call decodes
 * and every value is checked against the node's own storage.
 */
import {
  BlockIdFlag,
  type Comet38Client,
  type CometClient,
  connectComet,
  isComet38Client,
} from '@cosmjs/tendermint-rpc';
import { sha256, toHex } from '@synod/crypto';
import { type Block, blockHash, txHash } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_CODE_NUMBERS } from '../src/index.js';
import {
  ACCOUNTS,
  address,
  BALANCE,
  CHAIN_ID,
  MIN_FEE,
  NODE_KEY,
  startChain,
  type TestChain,
  transfer,
  VALIDATOR,
} from './harness.js';

const hex = (b: Uint8Array): string => toHex(b);
const same = (a: Uint8Array, b: Uint8Array): void => expect(hex(a)).toBe(hex(b));

/** The first event of a cosmjs stream (xstream), or a timeout. */
function firstEvent<T>(
  stream: {
    subscribe(l: { next: (v: T) => void; error: (e: unknown) => void; complete: () => void }): {
      unsubscribe(): void;
    };
  },
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event')), timeoutMs);
    const sub = stream.subscribe({
      next: (v) => {
        clearTimeout(timer);
        setTimeout(() => sub.unsubscribe(), 0);
        resolve(v);
      },
      error: (e) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
      complete: () => undefined,
    });
  });
}

describe('@cosmjs/tendermint-rpc 0.39 against a Synod node', () => {
  let chain: TestChain;
  let client: CometClient;
  let comet: Comet38Client;

  const stored = async (height: number): Promise<Block> => {
    const b = await chain.storage.blocks.loadBlock(height);
    if (b === undefined) throw new Error(`no block ${height}`);
    return b;
  };

  beforeAll(async () => {
    chain = await startChain();
    await chain.waitForHeight(3);
    client = await connectComet(chain.url);
    comet = client as Comet38Client;
  });

  afterAll(async () => {
    client?.disconnect();
    await chain?.stop();
  });

  it('connectComet picks the CometBFT 0.38 client', () => {
    expect(isComet38Client(client)).toBe(true);
  });

  it('status', async () => {
    const s = await comet.status();
    const height = s.syncInfo.latestBlockHeight;
    expect(height).toBeGreaterThanOrEqual(3);
    expect(s.nodeInfo.network).toBe(CHAIN_ID);
    expect(s.nodeInfo.version.startsWith('0.38.')).toBe(true);
    same(s.nodeInfo.id, address(NODE_KEY));
    expect(s.nodeInfo.moniker).toBe('test-node');
    expect(s.nodeInfo.listenAddr).toBe('tcp://127.0.0.1:26656');
    expect(s.nodeInfo.protocolVersion).toEqual({ p2p: 1, block: 1, app: 1 });
    expect(s.nodeInfo.other.get('tx_index')).toBe('on');
    expect(s.nodeInfo.other.get('rpc_address')).toBe(`tcp://${chain.url.slice('http://'.length)}`);
    const block = await stored(height);
    same(s.syncInfo.latestBlockHash, blockHash(block));
    const next = await chain.storage.state.loadStateInfo();
    expect(next?.height).toBeGreaterThanOrEqual(height);
    expect(s.syncInfo.latestAppHash.length).toBe(32);
    expect(s.syncInfo.latestBlockTime.getTime()).toBe(block.header.timeMs);
    expect(s.syncInfo.catchingUp).toBe(false);
    expect(s.syncInfo.earliestBlockHeight).toBe(1);
    same(s.syncInfo.earliestBlockHash as Uint8Array, blockHash(await stored(1)));
    same(s.syncInfo.earliestAppHash as Uint8Array, (await stored(2)).header.appHash);
    same(s.validatorInfo.address, address(VALIDATOR));
    expect(s.validatorInfo.pubkey?.algorithm).toBe('ed25519');
    same(s.validatorInfo.pubkey?.data as Uint8Array, VALIDATOR.publicKey);
    expect(s.validatorInfo.votingPower).toBe(10n);
  });

  it('block, at a height and the latest', async () => {
    const b2 = await stored(2);
    const r = await comet.block(2);
    same(r.blockId.hash, blockHash(b2));
    expect(r.blockId.parts.total).toBe(1);
    expect(r.blockId.parts.hash.length).toBe(32);
    const h = r.block.header;
    expect(h.chainId).toBe(CHAIN_ID);
    expect(h.height).toBe(2);
    expect(h.time.getTime()).toBe(b2.header.timeMs);
    expect(h.version).toEqual({ block: 1, app: 0 });
    same(h.lastBlockId?.hash as Uint8Array, blockHash(await stored(1)));
    same(h.appHash, b2.header.appHash);
    same(h.dataHash, b2.header.txsRoot);
    same(h.validatorsHash, b2.header.validatorsHash);
    same(h.nextValidatorsHash, b2.header.nextValidatorsHash);
    same(h.consensusHash, b2.header.consensusParamsHash);
    same(h.lastResultsHash, b2.header.lastResultsHash);
    same(h.evidenceHash, b2.header.evidenceHash);
    same(h.lastCommitHash, b2.header.lastCommitHash);
    same(h.proposerAddress, address(VALIDATOR));
    expect(r.block.txs.length).toBe(b2.txs.length);
    const lc = r.block.lastCommit;
    expect(lc?.height).toBe(1);
    same(lc?.blockId.hash as Uint8Array, blockHash(await stored(1)));
    expect(lc?.signatures.length).toBe(1);
    expect(lc?.signatures[0]?.blockIdFlag).toBe(BlockIdFlag.Commit);
    same(lc?.signatures[0]?.validatorAddress as Uint8Array, address(VALIDATOR));
    same(lc?.signatures[0]?.signature as Uint8Array, b2.lastCommit.signatures[0]?.signature as Uint8Array);
    // Height 1: no last block id, an empty last commit.
    const r1 = await comet.block(1);
    expect(r1.block.header.lastBlockId).toBeNull();
    expect(r1.block.lastCommit).toBeNull();
    // No height: the latest.
    const latest = await comet.block();
    expect(latest.block.header.height).toBeGreaterThanOrEqual(3);
    same(latest.blockId.hash, blockHash(await stored(latest.block.header.height)));
  });

  it('blockchain', async () => {
    const r = await comet.blockchain(1, 3);
    expect(r.lastHeight).toBeGreaterThanOrEqual(3);
    expect(r.blockMetas.map((m) => m.header.height)).toEqual([3, 2, 1]);
    for (const m of r.blockMetas) {
      const b = await stored(m.header.height);
      same(m.blockId.hash, blockHash(b));
      expect(m.numTxs).toBe(b.txs.length);
      expect(m.blockSize).toBeGreaterThan(0);
    }
  });

  it('commit', async () => {
    const r = await comet.commit(2);
    expect(r.canonical).toBe(true);
    expect(r.header.height).toBe(2);
    expect(r.commit.height).toBe(2);
    same(r.commit.blockId.hash, blockHash(await stored(2)));
    expect(r.commit.signatures[0]?.blockIdFlag).toBe(BlockIdFlag.Commit);
    same(r.commit.signatures[0]?.validatorAddress as Uint8Array, address(VALIDATOR));
    const stored3 = await stored(3);
    same(
      r.commit.signatures[0]?.signature as Uint8Array,
      stored3.lastCommit.signatures[0]?.signature as Uint8Array,
    );
  });

  it('validators', async () => {
    const r = await comet.validators({ height: 2 });
    expect(r.blockHeight).toBe(2);
    expect(r.total).toBe(1);
    expect(r.count).toBe(1);
    same(r.validators[0]?.address as Uint8Array, address(VALIDATOR));
    same(r.validators[0]?.pubkey?.data as Uint8Array, VALIDATOR.publicKey);
    expect(r.validators[0]?.votingPower).toBe(10n);
    const all = await comet.validatorsAll();
    expect(all.total).toBe(1);
  });

  it('genesis', async () => {
    const g = await comet.genesis();
    expect(g.chainId).toBe(CHAIN_ID);
    expect(g.genesisTime.getTime()).toBe(chain.genesis.genesisTimeMs);
    expect(g.validators.length).toBe(1);
    same(g.validators[0]?.address as Uint8Array, address(VALIDATOR));
    expect(g.validators[0]?.votingPower).toBe(10n);
    expect(g.consensusParams.block?.maxBytes).toBe(chain.genesis.consensusParams.block.maxBytes);
    expect(g.consensusParams.evidence?.maxAgeNumBlocks).toBe(
      chain.genesis.consensusParams.evidence.maxAgeBlocks,
    );
    expect((g.appState as { minFee: string }).minFee).toBe('10');
  });

  it('abciInfo', async () => {
    const r = await comet.abciInfo();
    expect(r.data).toBe('synod-ledger/1');
    const info = await chain.ledger.info();
    expect(r.lastBlockHeight).toBeGreaterThanOrEqual(3);
    if (r.lastBlockHeight === info.lastBlockHeight)
      same(r.lastBlockAppHash as Uint8Array, info.lastBlockAppHash);
  });

  it('abciQuery: an account balance', async () => {
    const r = await comet.abciQuery({ path: '/account', data: address(ACCOUNTS[1]!) });
    expect(r.code).toBe(0);
    expect(r.codespace).toBe('');
    expect(r.height).toBeGreaterThanOrEqual(3);
    const account = JSON.parse(new TextDecoder().decode(r.value)) as { balance: string; nonce: number };
    expect(account.balance).toBe(BALANCE.toString());
    expect(account.nonce).toBe(0);
    const missing = await comet.abciQuery({ path: 'account', data: new Uint8Array(3) });
    expect(missing.code).toBe(RESULT_CODE_NUMBERS.QUERY_BAD_DATA);
    expect(missing.codespace).toBe('QUERY_BAD_DATA');
  });

  describe('transactions', () => {
    const sender = ACCOUNTS[0]!;
    const recipient = ACCOUNTS[3]!;
    const txSync = transfer(sender, 0, recipient, 100n);
    const txAsync = transfer(sender, 1, recipient, 200n);
    const txCommit = transfer(sender, 2, recipient, 300n);

    it('broadcastTxSync, broadcastTxAsync and broadcastTxCommit of signed transfers', async () => {
      const sync = await comet.broadcastTxSync({ tx: txSync });
      expect(sync.code).toBe(0);
      same(sync.hash, sha256(txSync));
      const asyncR = await comet.broadcastTxAsync({ tx: txAsync });
      same(asyncR.hash, txHash(txAsync));
      const commit = await comet.broadcastTxCommit({ tx: txCommit });
      expect(commit.checkTx.code).toBe(0);
      expect(commit.txResult?.code).toBe(0);
      expect(commit.txResult?.gasUsed).toBeGreaterThan(0n);
      expect(commit.txResult?.gasWanted).toBe(10_000n);
      same(commit.hash, txHash(txCommit));
      expect(commit.height).toBeGreaterThan(0);
      const block = await stored(commit.height);
      expect(block.txs.some((t) => hex(t) === hex(txCommit))).toBe(true);
      const events = commit.txResult?.events ?? [];
      expect(events.map((e) => e.type)).toEqual(['fee', 'transfer']);
      const t = events[1]?.attributes ?? [];
      expect(t).toEqual([
        { key: 'from', value: hex(address(sender)) },
        { key: 'to', value: hex(address(recipient)) },
        { key: 'amount', value: '300' },
      ]);
    });

    it('a rejected transaction: its code and codespace', async () => {
      const r = await comet.broadcastTxSync({ tx: transfer(sender, 1000, recipient) });
      expect(r.code).toBe(RESULT_CODE_NUMBERS.TX_BAD_NONCE);
      expect(r.codespace).toBe('TX_BAD_NONCE');
      expect(r.log).toMatch(/nonce/);
    });

    it('tx by hash, and blockResults of its block', async () => {
      // The async one was checked and gossiped; the commit one is in a block after it (nonce order).
      const r = await comet.tx({ hash: txHash(txSync) });
      same(r.hash, txHash(txSync));
      same(r.tx, txSync);
      expect(r.result.code).toBe(0);
      expect(r.result.gasWanted).toBe(10_000n);
      const block = await stored(r.height);
      same(block.txs[r.index] as Uint8Array, txSync);
      const withProof = await comet.tx({ hash: txHash(txSync), prove: true });
      same(withProof.proof?.rootHash as Uint8Array, block.header.txsRoot);
      same(withProof.proof?.data as Uint8Array, txSync);
      expect(withProof.proof?.proof.total).toBe(block.txs.length);
      const results = await comet.blockResults(r.height);
      expect(results.height).toBe(r.height);
      expect(results.results.length).toBe(block.txs.length);
      expect(results.results[r.index]?.code).toBe(0);
      expect(results.results[r.index]?.events.map((e) => e.type)).toEqual(['fee', 'transfer']);
      expect(results.validatorUpdates).toEqual([]);
    });

    it('txSearch by sender, by height and by hash', async () => {
      const bySender = await comet.txSearch({ query: `transfer.from='${hex(address(sender))}'` });
      expect(bySender.totalCount).toBe(3);
      expect(bySender.txs.map((t) => hex(t.hash))).toEqual(
        [txSync, txAsync, txCommit].map((t) => hex(txHash(t))),
      );
      const heights = bySender.txs.map((t) => t.height);
      expect([...heights].sort((a, b) => a - b)).toEqual(heights);
      const first = bySender.txs[0]!;
      const byHeight = await comet.txSearch({ query: `tx.height=${first.height}` });
      expect(byHeight.txs.map((t) => hex(t.hash))).toContain(hex(first.hash));
      const byHash = await comet.txSearch({ query: `tx.hash='${hex(first.hash).toUpperCase()}'` });
      expect(byHash.totalCount).toBe(1);
      const paged = await comet.txSearch({
        query: `transfer.from='${hex(address(sender))}'`,
        per_page: 2,
        page: 2,
        order_by: 'desc',
      });
      expect(paged.totalCount).toBe(3);
      expect(paged.txs.map((t) => hex(t.hash))).toEqual([hex(txHash(txSync))]);
      const amount = await comet.txSearch({
        query: `transfer.amount > 150 AND transfer.to='${hex(address(recipient))}'`,
      });
      expect(amount.txs.map((t) => hex(t.hash))).toEqual([txAsync, txCommit].map((t) => hex(txHash(t))));
      const none = await comet.txSearch({ query: `transfer.from='${'00'.repeat(20)}'` });
      expect(none.totalCount).toBe(0);
    });

    it('numUnconfirmedTxs', async () => {
      const r = await comet.numUnconfirmedTxs();
      expect(r.total).toBe(chain.node.status().mempoolTxs);
      expect(r.totalBytes).toBeGreaterThanOrEqual(0);
      const queried = await comet.abciQuery({ path: 'account', data: address(recipient) });
      const account = JSON.parse(new TextDecoder().decode(queried.value)) as { balance: string };
      expect(BigInt(account.balance)).toBe(BALANCE + 600n);
      const spent = await comet.abciQuery({ path: 'account', data: address(sender) });
      const senderAccount = JSON.parse(new TextDecoder().decode(spent.value)) as {
        balance: string;
        nonce: number;
      };
      expect(BigInt(senderAccount.balance)).toBe(BALANCE - 600n - 3n * MIN_FEE);
      expect(senderAccount.nonce).toBe(3);
    });
  });

  describe('over WebSocket', () => {
    let ws: Comet38Client;

    beforeAll(async () => {
      ws = (await connectComet(chain.wsUrl)) as Comet38Client;
    });

    afterAll(() => {
      ws?.disconnect();
    });

    it('the same calls work over WebSocket', async () => {
      expect(isComet38Client(ws)).toBe(true);
      const s = await ws.status();
      expect(s.nodeInfo.network).toBe(CHAIN_ID);
    });

    it('subscribeNewBlock and subscribeNewBlockHeader', async () => {
      const block = await firstEvent(ws.subscribeNewBlock());
      expect(block.header.chainId).toBe(CHAIN_ID);
      expect(block.header.height).toBeGreaterThan(0);
      await chain.rpc.idle();
      const b = await stored(block.header.height);
      same(block.header.appHash, b.header.appHash);
      same(block.header.lastBlockId?.hash as Uint8Array, b.header.lastBlockHash);
      expect(block.txs.length).toBe(b.txs.length);
      const header = await firstEvent(ws.subscribeNewBlockHeader());
      expect(header.chainId).toBe(CHAIN_ID);
      expect(header.height).toBeGreaterThan(block.header.height - 1);
    });

    it('subscribeTx: the transfer of a sender', async () => {
      const sender = ACCOUNTS[1]!;
      const tx = transfer(sender, 0, ACCOUNTS[2]!, 5n);
      // The subscribe request goes first on the socket; the server answers a connection's requests in order.
      const event = firstEvent(ws.subscribeTx(`transfer.from='${hex(address(sender))}'`));
      const sent = await ws.broadcastTxSync({ tx });
      expect(sent.code).toBe(0);
      const e = await event;
      same(e.hash, txHash(tx));
      same(e.tx, tx);
      expect(e.result.code).toBe(0);
      expect(e.result.events.map((x) => x.type)).toEqual(['fee', 'transfer']);
      const block = await stored(e.height);
      expect(block.txs.some((t) => hex(t) === hex(tx))).toBe(true);
    });
  });
});
