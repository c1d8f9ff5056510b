/**
 * CometBFT 0.38's RPC against a real synodd process (one validator from
 * `synodd testnet --accounts 3`, default [rpc] config): @cosmjs/tendermint-rpc
 * 0.39, unmodified, picks its 0.38 client and every call decodes; each value
 * is checked against what the process wrote (genesis.json, the key files) or
 * against another method (a block's hash against the next block's last block
 * id, a commit's signature against the validator key). Then bad requests —
 * malformed JSON, an unknown method, wrong parameter types, a height above
 * the tip, an oversize body, a non-base64 transaction, too many
 * subscriptions, a client gone mid-subscription — each get their JSON-RPC
 * error or a clean close, and the process keeps serving; SIGTERM with
 * WebSockets open still exits 0.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockIdFlag, type Comet38Client, connectComet, isComet38Client } from '@cosmjs/tendermint-rpc';
import { addressFromPublicKey, type KeyPair, readKeyFile, sha256, sign, toHex, verify } from '@synod/crypto';
import { DEFAULT_MIN_FEE } from '@synod/ledger';
import { RESULT_CODE_NUMBERS } from '@synod/rpc';
import { encodeTx, type TxBody, txHash, txSignBytes, voteSignBytes } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freeBasePort, heightOf, NodeProcess, synodd, tempDir, waitForStatus } from './harness.js';

const hex = (b: Uint8Array): string => toHex(b);
const same = (a: Uint8Array | undefined | null, b: Uint8Array | undefined | null): void =>
  expect(hex(a ?? new Uint8Array()), 'bytes').toBe(hex(b ?? Uint8Array.of(0xff)));

const CHAIN_ID = 'rpc-e2e';
const GAS_LIMIT = 10_000;

interface GenesisFile {
  genesis_time: string;
  chain_id: string;
  consensus_params: { block: { max_bytes: string } };
  validators: { address: string; power: string }[];
  app_state: { accounts: { address: string; balance: string }[] };
}

/** The first event of a cosmjs stream, or a timeout. */
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

type RpcResponse = {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: string };
};

let dir: Awaited<ReturnType<typeof tempDir>>;
let node: NodeProcess;
let port: number;
let url: string;
let home: string;
let genesisFile: GenesisFile;
let accounts: KeyPair[];
let validator: KeyPair;
let nodeKey: KeyPair;
let client: Comet38Client;

/** A signed ledger transfer (the ledger's encoding: @synod/types' SSZ Tx). */
function transfer(from: KeyPair, nonce: number, to: KeyPair, amount: bigint): Uint8Array {
  const body: TxBody = {
    chainId: CHAIN_ID,
    sender: from.publicKey,
    nonce,
    fee: DEFAULT_MIN_FEE,
    gasLimit: GAS_LIMIT,
    msg: { kind: 'transfer', to: addressFromPublicKey(to.publicKey), amount },
    memo: new Uint8Array(0),
  };
  return encodeTx({ body, signature: sign(from, txSignBytes(CHAIN_ID, body)) });
}

async function post(body: string | Uint8Array): Promise<{ status: number; json: RpcResponse }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as RpcResponse };
}

const call = async (method: string, params: unknown = {}): Promise<RpcResponse> =>
  (await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }))).json;

/** The process still serves: a status from a fresh request, at the tip or later. */
async function stillServing(): Promise<void> {
  const s = await client.status();
  expect(s.syncInfo.latestBlockHeight).toBeGreaterThan(0);
  expect(node.child.exitCode).toBeNull();
}

/** A raw WebSocket client that collects every message. */
async function wsClient(): Promise<{
  ws: WebSocket;
  request(body: unknown): Promise<RpcResponse>;
  messages: RpcResponse[];
  closed: Promise<number>;
}> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`);
  const messages: RpcResponse[] = [];
  const waiting = new Map<unknown, (m: RpcResponse) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as RpcResponse;
    messages.push(m);
    const w = waiting.get(m.id);
    if (w !== undefined && (m.error !== undefined || Object.keys(m.result ?? {}).length === 0)) {
      waiting.delete(m.id);
      w(m);
    }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const request = (body: unknown): Promise<RpcResponse> =>
    new Promise((resolve) => {
      waiting.set((body as { id: unknown }).id, resolve);
      ws.send(JSON.stringify(body));
    });
  return { ws, messages, closed, request };
}

beforeAll(async () => {
  dir = await tempDir('synodd-rpc-');
  const base = await freeBasePort(1);
  const out = join(dir.path, 'net');
  const written = await synodd([
    'testnet',
    '--validators',
    '1',
    '--accounts',
    '3',
    '--chain-id',
    CHAIN_ID,
    '--base-port',
    String(base),
    '--out',
    out,
  ]);
  expect(written.code, written.stderr).toBe(0);
  home = join(out, 'node0');
  port = base + 1;
  url = `http://127.0.0.1:${port}`;
  genesisFile = JSON.parse(await readFile(join(home, 'config/genesis.json'), 'utf8')) as GenesisFile;
  accounts = await Promise.all(
    [0, 1, 2].map(async (i) => (await readKeyFile(join(out, 'keys', `account${i}.json`))).keyPair),
  );
  validator = (await readKeyFile(join(home, 'config/priv_validator_key.json'))).keyPair;
  nodeKey = (await readKeyFile(join(home, 'config/node_key.json'))).keyPair;
  node = new NodeProcess(['--home', home]);
  await waitForStatus(port, (s) => heightOf(s) >= 3);
  client = (await connectComet(url)) as Comet38Client;
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  if (node !== undefined && node.child.exitCode === null && node.child.signalCode === null)
    node.child.kill('SIGKILL');
  await dir?.remove();
});

describe('synodd RPC with @cosmjs/tendermint-rpc 0.39', () => {
  it('connectComet picks the CometBFT 0.38 client', () => {
    expect(isComet38Client(client)).toBe(true);
  });

  it('status', async () => {
    const s = await client.status();
    expect(s.nodeInfo.network).toBe(CHAIN_ID);
    expect(s.nodeInfo.version).toMatch(/^0\.38\.\d+\+synod\.\d+\.\d+\.\d+/);
    same(s.nodeInfo.id, addressFromPublicKey(nodeKey.publicKey));
    expect(s.nodeInfo.moniker).toBe('node0');
    expect(s.nodeInfo.listenAddr).toBe(`tcp://127.0.0.1:${port - 1}`);
    const peerId = (await synodd(['show-node-id', '--home', home])).stdout.trim();
    expect(s.nodeInfo.other.get('peer_id')).toBe(peerId);
    expect(s.nodeInfo.other.get('tx_index')).toBe('on');
    expect(s.nodeInfo.other.get('rpc_address')).toBe(`tcp://127.0.0.1:${port}`);
    expect(s.nodeInfo.protocolVersion.app).toBe(1);
    const height = s.syncInfo.latestBlockHeight;
    expect(height).toBeGreaterThanOrEqual(3);
    const latest = await client.block(height);
    same(s.syncInfo.latestBlockHash, latest.blockId.hash);
    expect(s.syncInfo.latestBlockTime.getTime()).toBe(latest.block.header.time.getTime());
    expect(s.syncInfo.latestAppHash.length).toBe(32);
    expect(s.syncInfo.catchingUp).toBe(false);
    expect(s.syncInfo.earliestBlockHeight).toBe(1);
    same(s.syncInfo.earliestBlockHash, (await client.block(1)).blockId.hash);
    same(s.syncInfo.earliestAppHash, (await client.block(2)).block.header.appHash);
    same(s.validatorInfo.address, addressFromPublicKey(validator.publicKey));
    expect(s.validatorInfo.pubkey?.algorithm).toBe('ed25519');
    same(s.validatorInfo.pubkey?.data, validator.publicKey);
    expect(s.validatorInfo.votingPower).toBe(10n);
  });

  it("block: header, the chain of block ids, and a last commit signed by the validator's key", async () => {
    const [b1, b2, b3] = [await client.block(1), await client.block(2), await client.block(3)];
    const h = b2.block.header;
    expect(h.chainId).toBe(CHAIN_ID);
    expect(h.height).toBe(2);
    expect(h.version).toEqual({ block: 1, app: 0 });
    same(h.lastBlockId?.hash, b1.blockId.hash);
    same(b3.block.header.lastBlockId?.hash, b2.blockId.hash);
    same(h.proposerAddress, addressFromPublicKey(validator.publicKey));
    expect(h.time.getTime()).toBeGreaterThan(b1.block.header.time.getTime());
    expect(b2.blockId.parts.total).toBe(1);
    expect(b1.block.header.lastBlockId).toBeNull();
    expect(b1.block.lastCommit).toBeNull();
    const lc = b2.block.lastCommit;
    expect(lc?.height).toBe(1);
    same(lc?.blockId.hash, b1.blockId.hash);
    const sig = lc?.signatures[0];
    expect(sig?.blockIdFlag).toBe(BlockIdFlag.Commit);
    same(sig?.validatorAddress, addressFromPublicKey(validator.publicKey));
    const signBytes = voteSignBytes(CHAIN_ID, {
      type: 'precommit',
      height: 1,
      round: lc?.round ?? -1,
      blockHash: b1.blockId.hash,
      validatorAddress: addressFromPublicKey(validator.publicKey),
    });
    expect(verify(validator.publicKey, signBytes, sig?.signature ?? new Uint8Array(64))).toBe(true);
    const tip = await client.block();
    expect(tip.block.header.height).toBeGreaterThanOrEqual(3);
  });

  it('blockchain and commit', async () => {
    const chain = await client.blockchain(1, 3);
    expect(chain.lastHeight).toBeGreaterThanOrEqual(3);
    expect(chain.blockMetas.map((m) => m.header.height)).toEqual([3, 2, 1]);
    for (const m of chain.blockMetas) {
      const b = await client.block(m.header.height);
      same(m.blockId.hash, b.blockId.hash);
      expect(m.numTxs).toBe(b.block.txs.length);
      expect(m.blockSize).toBeGreaterThan(0);
    }
    const c = await client.commit(2);
    expect(c.canonical).toBe(true);
    expect(c.header.height).toBe(2);
    same(c.commit.blockId.hash, (await client.block(2)).blockId.hash);
    same(
      c.commit.signatures[0]?.signature,
      (await client.block(3)).block.lastCommit?.signatures[0]?.signature,
    );
  });

  it('validators and genesis (as genesis.json holds them)', async () => {
    const v = await client.validators({ height: 2 });
    expect(v.blockHeight).toBe(2);
    expect(v.total).toBe(1);
    same(v.validators[0]?.address, addressFromPublicKey(validator.publicKey));
    same(v.validators[0]?.pubkey?.data, validator.publicKey);
    expect(v.validators[0]?.votingPower).toBe(10n);
    const g = await client.genesis();
    expect(g.chainId).toBe(genesisFile.chain_id);
    expect(g.genesisTime.getTime()).toBe(Date.parse(genesisFile.genesis_time));
    expect(g.validators.map((x) => hex(x.address).toUpperCase())).toEqual(
      genesisFile.validators.map((x) => x.address.toUpperCase()),
    );
    expect(g.validators[0]?.votingPower).toBe(BigInt(genesisFile.validators[0]?.power ?? -1));
    expect(g.consensusParams.block?.maxBytes).toBe(Number(genesisFile.consensus_params.block.max_bytes));
    expect(g.appState).toEqual(genesisFile.app_state);
  });

  it('abciInfo: the app hash after its last block is the next header’s', async () => {
    const info = await client.abciInfo();
    expect(info.data).toBe('synod-ledger/1');
    const h = info.lastBlockHeight ?? 0;
    expect(h).toBeGreaterThanOrEqual(3);
    await waitForStatus(port, (s) => heightOf(s) >= h + 1);
    same(info.lastBlockAppHash, (await client.block(h + 1)).block.header.appHash);
  });

  it('abciQuery: an account balance', async () => {
    const r = await client.abciQuery({
      path: '/account',
      data: addressFromPublicKey(accounts[1]!.publicKey),
    });
    expect(r.code).toBe(0);
    expect(r.height).toBeGreaterThanOrEqual(3);
    const account = JSON.parse(new TextDecoder().decode(r.value)) as { balance: string; nonce: number };
    expect(account.balance).toBe(genesisFile.app_state.accounts[1]?.balance);
    expect(account.nonce).toBe(0);
    const bad = await client.abciQuery({ path: 'account', data: new Uint8Array(3) });
    expect(bad.code).toBe(RESULT_CODE_NUMBERS.QUERY_BAD_DATA);
    expect(bad.codespace).toBe('QUERY_BAD_DATA');
  });

  describe('a signed transfer', () => {
    const sender = (): KeyPair => accounts[0]!;
    const recipient = (): KeyPair => accounts[2]!;
    let txSync: Uint8Array;
    let txAsync: Uint8Array;
    let txCommit: Uint8Array;

    beforeAll(() => {
      txSync = transfer(sender(), 0, recipient(), 100n);
      txAsync = transfer(sender(), 1, recipient(), 200n);
      txCommit = transfer(sender(), 2, recipient(), 300n);
    });

    it('broadcastTxSync, broadcastTxAsync, broadcastTxCommit', async () => {
      const sync = await client.broadcastTxSync({ tx: txSync });
      expect(sync.code).toBe(0);
      same(sync.hash, sha256(txSync));
      const asyncR = await client.broadcastTxAsync({ tx: txAsync });
      same(asyncR.hash, txHash(txAsync));
      const commit = await client.broadcastTxCommit({ tx: txCommit });
      expect(commit.checkTx.code).toBe(0);
      expect(commit.checkTx.gasWanted).toBe(BigInt(GAS_LIMIT));
      expect(commit.txResult?.code).toBe(0);
      expect(commit.txResult?.gasWanted).toBe(BigInt(GAS_LIMIT));
      expect(commit.txResult?.gasUsed).toBeGreaterThan(0n);
      same(commit.hash, txHash(txCommit));
      const block = await client.block(commit.height);
      expect(block.block.txs.map(hex)).toContain(hex(txCommit));
      expect(commit.txResult?.events.map((e) => e.type)).toEqual(['fee', 'transfer']);
      expect(commit.txResult?.events[1]?.attributes).toEqual([
        { key: 'from', value: hex(addressFromPublicKey(sender().publicKey)) },
        { key: 'to', value: hex(addressFromPublicKey(recipient().publicKey)) },
        { key: 'amount', value: '300' },
      ]);
    });

    it('tx by hash, and blockResults of its block', async () => {
      for (const tx of [txSync, txAsync, txCommit]) {
        const r = await client.tx({ hash: txHash(tx) });
        same(r.hash, txHash(tx));
        same(r.tx, tx);
        expect(r.result.code).toBe(0);
        const block = await client.block(r.height);
        same(block.block.txs[r.index], tx);
        const results = await client.blockResults(r.height);
        expect(results.height).toBe(r.height);
        expect(results.results.length).toBe(block.block.txs.length);
        expect(results.results[r.index]?.code).toBe(0);
        expect(results.results[r.index]?.gasUsed).toBe(r.result.gasUsed);
        expect(results.validatorUpdates).toEqual([]);
      }
      const proved = await client.tx({ hash: txHash(txSync), prove: true });
      same(proved.proof?.data, txSync);
      same(proved.proof?.rootHash, (await client.block(proved.height)).block.header.dataHash);
    });

    it('txSearch by sender', async () => {
      const from = hex(addressFromPublicKey(sender().publicKey));
      const r = await client.txSearch({ query: `transfer.from='${from}'` });
      expect(r.totalCount).toBe(3);
      expect(r.txs.map((t) => hex(t.hash))).toEqual([txSync, txAsync, txCommit].map((t) => hex(txHash(t))));
      const byHeight = await client.txSearch({ query: `tx.height=${r.txs[0]?.height}` });
      expect(byHeight.txs.map((t) => hex(t.hash))).toContain(hex(txHash(txSync)));
      expect((await client.txSearch({ query: `transfer.from='${'00'.repeat(20)}'` })).totalCount).toBe(0);
    });

    it('numUnconfirmedTxs: a transaction ahead of its nonce waits; balances moved', async () => {
      const ahead = transfer(recipient(), 50, sender(), 1n);
      expect((await client.broadcastTxSync({ tx: ahead })).code).toBe(0);
      const n = await client.numUnconfirmedTxs();
      expect(n.total).toBe(1);
      expect(n.totalBytes).toBe(ahead.length);
      const pending = await call('unconfirmed_txs', { limit: '5' });
      expect(pending.result).toEqual({
        n_txs: '1',
        total: '1',
        total_bytes: String(ahead.length),
        txs: [Buffer.from(ahead).toString('base64')],
      });
      const balanceOf = async (k: KeyPair) =>
        JSON.parse(
          new TextDecoder().decode(
            (await client.abciQuery({ path: 'account', data: addressFromPublicKey(k.publicKey) })).value,
          ),
        ) as { balance: string; nonce: number };
      const initial = BigInt(genesisFile.app_state.accounts[0]?.balance ?? 0);
      expect(BigInt((await balanceOf(recipient())).balance)).toBe(initial + 600n);
      const s = await balanceOf(sender());
      expect(BigInt(s.balance)).toBe(initial - 600n - 3n * DEFAULT_MIN_FEE);
      expect(s.nonce).toBe(3);
    });
  });

  describe('over WebSocket', () => {
    let ws: Comet38Client;

    beforeAll(async () => {
      ws = (await connectComet(`ws://127.0.0.1:${port}`)) as Comet38Client;
    });

    afterAll(() => {
      ws?.disconnect();
    });

    it('subscribeNewBlock', async () => {
      expect(isComet38Client(ws)).toBe(true);
      const block = await firstEvent(ws.subscribeNewBlock());
      expect(block.header.chainId).toBe(CHAIN_ID);
      const stored = await client.block(block.header.height);
      same(block.header.appHash, stored.block.header.appHash);
      same(block.header.lastBlockId?.hash, stored.block.header.lastBlockId?.hash);
      expect(block.header.time.getTime()).toBe(stored.block.header.time.getTime());
    });

    it('subscribeTx: the transfer of a sender', async () => {
      const from = accounts[1]!;
      const tx = transfer(from, 0, accounts[2]!, 5n);
      const event = firstEvent(
        ws.subscribeTx(`transfer.from='${hex(addressFromPublicKey(from.publicKey))}'`),
      );
      expect((await ws.broadcastTxSync({ tx })).code).toBe(0);
      const e = await event;
      same(e.hash, txHash(tx));
      same(e.tx, tx);
      expect(e.result.code).toBe(0);
      expect(e.result.events.map((x) => x.type)).toEqual(['fee', 'transfer']);
      const found = await client.tx({ hash: txHash(tx) });
      expect(found.height).toBe(e.height);
      same((await client.block(e.height)).block.txs[found.index], tx);
    });
  });
});

describe('synodd RPC: bad requests against the running process', () => {
  it('malformed JSON, an unknown method, wrong param types, a height above the tip, a non-base64 tx', async () => {
    const malformed = await post('{"jsonrpc":"2.0","id":1,"method":');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error?.code).toBe(-32700);
    await stillServing();
    const unknown = await call('no_such_method');
    expect(unknown.error).toMatchObject({ code: -32601, message: 'Method not found' });
    expect(unknown.id).toBe(7);
    await stillServing();
    const wrongType = await call('block', { height: 'abc' });
    expect(wrongType.error?.code).toBe(-32602);
    expect(wrongType.error?.data).toBe(
      'error converting json params to arguments: height: expected an integer (a decimal string or a number), got "abc"',
    );
    const tip = (await client.status()).syncInfo.latestBlockHeight;
    const above = await call('block', { height: String(tip + 1_000_000) });
    expect(above.error?.code).toBe(-32603);
    expect(above.error?.data).toMatch(
      new RegExp(
        `^height ${tip + 1_000_000} must be less than or equal to the current blockchain height \\d+$`,
      ),
    );
    const notBase64 = await call('broadcast_tx_sync', { tx: '!!not base64!!' });
    expect(notBase64.error?.code).toBe(-32602);
    expect(notBase64.error?.data).toMatch(/^error converting json params to arguments: tx: /);
    // The URI form answers with id -1, as CometBFT.
    const uri = (await (await fetch(`${url}/block?height=2`)).json()) as RpcResponse;
    expect(uri.id).toBe(-1);
    same(
      Buffer.from(String((uri.result?.block_id as { hash?: string } | undefined)?.hash), 'hex'),
      (await client.block(2)).blockId.hash,
    );
    await stillServing();
  });

  it('an oversize body gets 413 and the connection closed; the next request is served', async () => {
    const big = new Uint8Array(1_100_000).fill(0x20);
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.json.error?.code).toBe(-32600);
    expect(r.json.error?.data).toMatch(/max_body_bytes 1000000/);
    await stillServing();
  });

  it('too many subscriptions on one client; a client gone mid-subscription; others keep their events', async () => {
    const a = await wsClient();
    const queries = [
      "tm.event='NewBlock'",
      "tm.event='NewBlockHeader'",
      "tm.event='Tx'",
      "tm.event='ValidatorSetUpdates'",
      "tm.event='Tx' AND tx.height > 1",
      "tm.event='Tx' AND tx.height > 2",
    ];
    const answers: RpcResponse[] = [];
    for (const [i, query] of queries.entries())
      answers.push(await a.request({ jsonrpc: '2.0', id: `s${i}`, method: 'subscribe', params: { query } }));
    expect(answers.slice(0, 5).map((x) => x.result)).toEqual([{}, {}, {}, {}, {}]);
    expect(answers[5]?.error).toMatchObject({ code: -32603, data: 'max_subscriptions_per_client 5 reached' });
    // A second client subscribes, then goes away without a word.
    const b = await wsClient();
    expect(
      (
        await b.request({
          jsonrpc: '2.0',
          id: 'x',
          method: 'subscribe',
          params: { query: "tm.event='NewBlock'" },
        })
      ).result,
    ).toEqual({});
    b.ws.terminate();
    // The first still gets its NewBlock events.
    const seen = a.messages.filter((m) => m.id === 's0' && m.result?.data !== undefined).length;
    const deadline = Date.now() + 5000;
    while (a.messages.filter((m) => m.id === 's0' && m.result?.data !== undefined).length <= seen + 1) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    await stillServing();
    const gone = await call('status');
    expect(gone.result).toBeDefined();
    // It stays connected: SIGTERM below closes it.
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('SIGTERM with WebSockets open exits 0; no error was logged', async () => {
    const stop = await node.stop('SIGTERM');
    expect(stop.code).toBe(0);
    expect(stop.ms).toBeLessThan(5000);
    expect(node.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    expect(node.lines.some((l) => l.msg === 'rpc listening')).toBe(true);
  });
});
