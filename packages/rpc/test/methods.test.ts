/**
 * Every method of the surface over raw HTTP/WebSocket JSON: CometBFT 0.38's
 * result shapes and encodings (int64 as strings, upper-case hex, base64,
 * RFC 3339 nanosecond times), validator updates, the null indexer and the
 * unsafe methods.
 */
import { addressFromPublicKey, keyPairFromSeed, sign, toHex } from '@synod/crypto';
import { POWER_REDUCTION } from '@synod/ledger';
import {
  blockHash,
  canonicalEvidence,
  type Evidence,
  encodeEvidence,
  evidenceHash,
  txHash,
  type Vote,
  voteSignBytes,
} from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { COMETBFT_RPC_VERSION, RPC_ERROR_CODES } from '../src/index.js';
import {
  ACCOUNTS,
  address,
  CHAIN_ID,
  call,
  signedTx,
  startChain,
  type TestChain,
  transfer,
  VALIDATOR,
} from './harness.js';

const HASH = /^[0-9A-F]{64}$/;
const ADDRESS = /^[0-9A-F]{40}$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
const INT = /^\d+$/;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const HEX = (b: Uint8Array): string => toHex(b).toUpperCase();

type Obj = Record<string, unknown>;
const ok = async (url: string, method: string, params: unknown = {}): Promise<Obj> => {
  const r = await call(url, method, params);
  if (r.error !== undefined) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
  return r.result as Obj;
};

describe('the methods, in CometBFT 0.38 JSON', () => {
  let chain: TestChain;
  const dialled: string[] = [];

  beforeAll(async () => {
    chain = await startChain({
      init: { rpc: { unsafe: true } },
      dialPeers: async (peers, o) => {
        dialled.push(`dial ${peers.join(',')} ${o.persistent}`);
        if (peers.includes('bad')) throw new Error('bad: not a peer address');
      },
    });
    await chain.waitForHeight(3);
  });

  afterAll(async () => {
    await chain?.stop();
  });

  it('health, status, net_info', async () => {
    expect(await ok(chain.url, 'health')).toEqual({});
    const s = await ok(chain.url, 'status');
    const ni = s.node_info as Obj;
    expect(ni.version).toBe(`${COMETBFT_RPC_VERSION}+synod.0.1.0`);
    expect(ni.id).toMatch(/^[0-9a-f]{40}$/);
    expect(ni.protocol_version).toEqual({ p2p: '1', block: '1', app: '1' });
    const si = s.sync_info as Obj;
    expect(si.latest_block_hash).toMatch(HASH);
    expect(si.latest_app_hash).toMatch(HASH);
    expect(si.latest_block_height).toMatch(INT);
    expect(si.latest_block_time).toMatch(TIME);
    expect(si.earliest_block_height).toBe('1');
    expect(si.catching_up).toBe(false);
    expect((s.validator_info as Obj).voting_power).toBe('10');
    expect((s.validator_info as Obj).address).toMatch(ADDRESS);
    const net = await ok(chain.url, 'net_info');
    expect(net).toMatchObject({ listening: true, n_peers: '0', peers: [] });
  });

  it('genesis and genesis_chunked', async () => {
    const g = (await ok(chain.url, 'genesis')).genesis as Obj;
    expect(g.chain_id).toBe(chain.genesis.chainId);
    expect(g.genesis_time).toMatch(TIME);
    expect(g.initial_height).toBe('1');
    expect((g.validators as Obj[])[0]).toEqual({
      address: HEX(address(VALIDATOR)),
      pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(VALIDATOR.publicKey) },
      power: '10',
      name: 'v0',
    });
    const cp = g.consensus_params as Record<string, Obj>;
    expect(cp.block).toEqual({ max_bytes: '4194304', max_gas: '100000000' });
    expect(cp.evidence?.max_age_duration).toBe('172800000000000');
    const chunk = await ok(chain.url, 'genesis_chunked', { chunk: '0' });
    expect(chunk.chunk).toBe('0');
    expect(chunk.total).toBe('1');
    expect(JSON.parse(Buffer.from(chunk.data as string, 'base64').toString('utf8'))).toEqual(g);
    const bad = await call(chain.url, 'genesis_chunked', { chunk: '1' });
    expect(bad.error?.data).toBe('there are 1 chunks, 1 is invalid (first: 0, last: 0)');
  });

  it('block, block_by_hash, header, header_by_hash, commit, blockchain', async () => {
    const stored = await chain.storage.blocks.loadBlock(2);
    if (stored === undefined) throw new Error('no block 2');
    const hash = blockHash(stored);
    const r = await ok(chain.url, 'block', { height: 2 });
    const id = r.block_id as { hash: string; parts: { total: number; hash: string } };
    expect(id.hash).toBe(HEX(hash));
    expect(id.parts.total).toBe(1);
    expect(id.parts.hash).toMatch(HASH);
    const header = (r.block as Obj).header as Obj;
    expect(Object.keys(header)).toEqual([
      'version',
      'chain_id',
      'height',
      'time',
      'last_block_id',
      'last_commit_hash',
      'data_hash',
      'validators_hash',
      'next_validators_hash',
      'consensus_hash',
      'app_hash',
      'last_results_hash',
      'evidence_hash',
      'proposer_address',
    ]);
    expect(header.height).toBe('2');
    expect(header.time).toMatch(TIME);
    const lastCommit = (r.block as Obj).last_commit as Obj;
    expect(lastCommit.height).toBe('1');
    expect(lastCommit.round).toBe(0);
    const sig = (lastCommit.signatures as Obj[])[0] as Obj;
    expect(sig.block_id_flag).toBe(2);
    expect(sig.validator_address).toBe(HEX(address(VALIDATOR)));
    expect(sig.timestamp).toMatch(TIME);
    expect(sig.signature).toBe(b64(stored.lastCommit.signatures[0]?.signature as Uint8Array));
    expect((r.block as Obj).evidence).toEqual({ evidence: [] });
    const byHash = await ok(chain.url, 'block_by_hash', { hash: b64(hash) });
    expect(byHash).toEqual(r);
    const none = await ok(chain.url, 'block_by_hash', { hash: b64(new Uint8Array(32)) });
    expect(none).toEqual({ block_id: { hash: '', parts: { total: 0, hash: '' } }, block: null });
    expect((await ok(chain.url, 'header', { height: '2' })).header).toEqual(header);
    expect((await ok(chain.url, 'header_by_hash', { hash: HEX(hash) })).header).toEqual(header);
    expect((await ok(chain.url, 'header_by_hash', { hash: '00'.repeat(32) })).header).toBeNull();
    const commit = await ok(chain.url, 'commit', { height: 2 });
    expect(commit.canonical).toBe(true);
    expect((commit.signed_header as Obj).header).toEqual(header);
    const metas = await ok(chain.url, 'blockchain', { minHeight: '1', maxHeight: '2' });
    expect(metas.last_height).toMatch(INT);
    expect((metas.block_metas as Obj[]).map((m) => (m.header as Obj).height)).toEqual(['2', '1']);
    expect((metas.block_metas as Obj[])[0]?.block_size).toMatch(INT);
    const all = await ok(chain.url, 'blockchain');
    expect((all.block_metas as Obj[]).length).toBeLessThanOrEqual(20);
    const bad = await call(chain.url, 'blockchain', { minHeight: '5', maxHeight: '2' });
    expect(bad.error?.data).toMatch(/^min height \d+ can't be greater than max height 2$/);
  });

  it('validators, consensus_params, consensus_state, dump_consensus_state', async () => {
    const before = chain.node.status().height;
    const v = await ok(chain.url, 'validators');
    const after = chain.node.status().height;
    // The next height's set (the chain may move on during the call).
    expect(Number(v.block_height)).toBeGreaterThanOrEqual(before + 1);
    expect(Number(v.block_height)).toBeLessThanOrEqual(after + 1);
    expect(v).toMatchObject({ count: '1', total: '1' });
    expect((v.validators as Obj[])[0]).toEqual({
      address: HEX(address(VALIDATOR)),
      pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(VALIDATOR.publicKey) },
      voting_power: '10',
      proposer_priority: expect.stringMatching(/^-?\d+$/),
    });
    const cp = await ok(chain.url, 'consensus_params', { height: 1 });
    expect(cp.block_height).toBe('1');
    expect((cp.consensus_params as Obj).validator).toEqual({ pub_key_types: ['ed25519'] });
    expect(((cp.consensus_params as Obj).synod as Obj).staking).toEqual(
      chain.genesis.consensusParams.staking,
    );
    const cs = await ok(chain.url, 'consensus_state');
    expect((cs.round_state as Obj)['height/round/step']).toMatch(/^\d+\/\d+\/\d$/);
    const dump = await ok(chain.url, 'dump_consensus_state');
    expect((dump.round_state as Obj).height).toMatch(INT);
    expect(dump.peers).toEqual([]);
  });

  it('check_tx, broadcast, unconfirmed_txs, num_unconfirmed_txs, tx, tx_search, block_search', async () => {
    const from = ACCOUNTS[0]!;
    const good = transfer(from, 0, ACCOUNTS[1]!, 7n);
    const check = await ok(chain.url, 'check_tx', { tx: b64(good) });
    expect(check).toMatchObject({ code: 0, codespace: '', gas_wanted: '10000', gas_used: '0' });
    // Ahead of the account's nonce: pending in the mempool, listed by unconfirmed_txs.
    const ahead = transfer(from, 2, ACCOUNTS[1]!, 7n);
    const sync = await ok(chain.url, 'broadcast_tx_sync', { tx: b64(ahead) });
    expect(sync).toEqual({ code: 0, codespace: '', data: '', log: '', hash: HEX(txHash(ahead)) });
    const pending = await ok(chain.url, 'unconfirmed_txs', { limit: '5' });
    expect(pending).toMatchObject({
      n_txs: '1',
      total: '1',
      total_bytes: String(ahead.length),
      txs: [b64(ahead)],
    });
    expect(await ok(chain.url, 'num_unconfirmed_txs')).toEqual({
      n_txs: '1',
      total: '1',
      total_bytes: String(ahead.length),
      txs: null,
    });
    const dup = await call(chain.url, 'broadcast_tx_sync', { tx: b64(ahead) });
    expect(dup.error?.data).toBe('tx already exists in cache');
    const committed = await ok(chain.url, 'broadcast_tx_commit', { tx: b64(good) });
    expect(committed.check_tx as Obj).toMatchObject({ code: 0, gas_wanted: '10000' });
    expect((committed.tx_result as Obj).code).toBe(0);
    expect(committed.height).toMatch(INT);
    const middle = transfer(from, 1, ACCOUNTS[1]!, 7n);
    const async = await ok(chain.url, 'broadcast_tx_async', { tx: b64(middle) });
    expect(async).toEqual({ code: 0, codespace: '', data: '', log: '', hash: HEX(txHash(middle)) });
    // The gap closes: both pending ones go in.
    const deadline = Date.now() + 10_000;
    while (chain.node.status().mempoolTxs > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await chain.waitForHeight(chain.node.status().height + 1);
    expect((await ok(chain.url, 'unconfirmed_txs')).txs).toEqual([]);
    const t = await ok(chain.url, 'tx', { hash: b64(txHash(ahead)) });
    expect(t).toMatchObject({ hash: HEX(txHash(ahead)), tx: b64(ahead) });
    expect(t.height).toMatch(INT);
    expect(typeof t.index).toBe('number');
    expect(t.proof).toBeUndefined();
    const txResult = t.tx_result as Obj;
    expect(Object.keys(txResult).sort()).toEqual(
      ['code', 'codespace', 'data', 'events', 'gas_used', 'gas_wanted', 'info', 'log'].sort(),
    );
    expect((txResult.events as Obj[])[0]).toEqual({
      type: 'fee',
      attributes: [
        { key: 'payer', value: toHex(address(from)), index: true },
        { key: 'amount', value: '10', index: true },
      ],
    });
    const search = await ok(chain.url, 'tx_search', {
      query: `fee.payer='${toHex(address(from))}'`,
      order_by: 'desc',
    });
    expect(search.total_count).toBe('3');
    expect((search.txs as Obj[]).map((x) => x.hash)).toEqual(
      [ahead, middle, good].map((x) => HEX(txHash(x))),
    );
    const proved = await ok(chain.url, 'tx_search', { query: `tx.hash='${HEX(txHash(good))}'`, prove: true });
    const proof = ((proved.txs as Obj[])[0] as Obj).proof as Obj;
    expect(proof.data).toBe(b64(good));
    expect(proof.root_hash).toMatch(HASH);
    const blocks = await ok(chain.url, 'block_search', { query: `block.height <= 2`, order_by: 'asc' });
    expect(blocks.total_count).toBe('2');
    expect((blocks.blocks as Obj[]).map((b) => ((b.block as Obj).header as Obj).height)).toEqual(['1', '2']);
    const orderErr = await call(chain.url, 'tx_search', { query: "tm.event='Tx'", order_by: 'up' });
    expect(orderErr.error?.data).toBe('expected order_by to be either `asc` or `desc` or empty');
  });

  it('abci_info and abci_query', async () => {
    const info = (await ok(chain.url, 'abci_info')).response as Obj;
    expect(info).toMatchObject({ data: 'synod-ledger/1', version: 'synod-ledger/1', app_version: '1' });
    expect(info.last_block_height).toMatch(INT);
    expect(Buffer.from(info.last_block_app_hash as string, 'base64')).toHaveLength(32);
    const q = (
      await ok(chain.url, 'abci_query', { path: '/account', data: HEX(address(ACCOUNTS[3]!)), height: '1' })
    ).response as Obj;
    expect(q).toMatchObject({
      code: 0,
      codespace: '',
      height: '1',
      index: '0',
      key: b64(address(ACCOUNTS[3]!)),
    });
    expect(JSON.parse(Buffer.from(q.value as string, 'base64').toString('utf8'))).toMatchObject({ nonce: 0 });
    const unknown = (await ok(chain.url, 'abci_query', { path: 'nope', data: '' })).response as Obj;
    expect(unknown.codespace).toBe('QUERY_UNKNOWN_PATH');
    expect(unknown.code).toBe(40);
  });

  it('unsafe methods with [rpc] unsafe = true: unsafe_flush_mempool empties the mempool', async () => {
    // Ahead of the account's nonce: it waits in the mempool until flushed.
    const ahead = transfer(ACCOUNTS[3]!, 5, ACCOUNTS[1]!, 1n);
    expect((await ok(chain.url, 'broadcast_tx_sync', { tx: b64(ahead) })).code).toBe(0);
    expect((await ok(chain.url, 'unconfirmed_txs')).txs).toEqual([b64(ahead)]);
    expect(await ok(chain.url, 'unsafe_flush_mempool')).toEqual({});
    expect(await ok(chain.url, 'num_unconfirmed_txs')).toEqual({
      n_txs: '0',
      total: '0',
      total_bytes: '0',
      txs: null,
    });
    expect(chain.node.status().mempoolTxs).toBe(0);
    expect(
      (await ok(chain.url, 'dial_peers', { peers: ['/ip4/127.0.0.1/tcp/1'], persistent: true })).log,
    ).toMatch(/Dialing peers/);
    expect((await call(chain.url, 'dial_seeds', { seeds: [] })).error?.data).toBe('no peers provided');
    expect((await call(chain.url, 'dial_seeds', { seeds: ['bad'] })).error?.data).toBe(
      'dialing failed: bad: not a peer address',
    );
    expect(dialled).toEqual(['dial /ip4/127.0.0.1/tcp/1 true', 'dial bad false']);
  });

  it('a bond changes the validator set: ValidatorSetUpdates, block_results and validators', async () => {
    const ws = new WebSocket(`${chain.wsUrl}/websocket`);
    const messages: Obj[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Obj));
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'vsu',
        method: 'subscribe',
        params: { query: "tm.event='ValidatorSetUpdates'" },
      }),
    );
    const newKey = keyPairFromSeed(new Uint8Array(32).fill(0x33));
    const bond = signedTx(
      ACCOUNTS[2]!,
      0,
      { kind: 'bond', validatorPubKey: newKey.publicKey, amount: POWER_REDUCTION },
      100n,
      50_000,
    );
    const r = await ok(chain.url, 'broadcast_tx_commit', { tx: b64(bond) });
    expect(r.check_tx).toMatchObject({ code: 0 });
    expect((r.tx_result as Obj).code).toBe(0);
    const height = Number(r.height);
    await chain.waitForHeight(height + 2);
    const results = await ok(chain.url, 'block_results', { height: String(height) });
    expect(results.validator_updates).toEqual([
      {
        pub_key: {
          Sum: { type: 'tendermint.crypto.PublicKey_Ed25519', value: { ed25519: b64(newKey.publicKey) } },
        },
        power: '1',
      },
    ]);
    expect(results.app_hash).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const v = await ok(chain.url, 'validators', { height: String(height + 2) });
    expect(v.total).toBe('2');
    expect((v.validators as Obj[]).map((x) => x.address)).toContain(
      HEX(addressFromPublicKey(newKey.publicKey)),
    );
    const event = messages.find((m) => m.id === 'vsu' && (m.result as Obj | undefined)?.query !== undefined);
    const data = (event?.result as Obj | undefined)?.data as
      | { type: string; value: { validator_updates: Obj[] } }
      | undefined;
    expect(data?.type).toBe('tendermint/event/ValidatorSetUpdates');
    expect(data?.value.validator_updates).toEqual([
      expect.objectContaining({
        address: HEX(addressFromPublicKey(newKey.publicKey)),
        pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(newKey.publicKey) },
        voting_power: '1',
      }),
    ]);
    ws.close();
  });
});

describe('[tx_index] indexer = "null"', () => {
  let chain: TestChain;

  beforeAll(async () => {
    chain = await startChain({ init: { tx_index: { indexer: 'null' } } });
    await chain.waitForHeight(2);
  });

  afterAll(async () => {
    await chain?.stop();
  });

  it('tx and tx_search say indexing is disabled; block_results still answers', async () => {
    const s = await ok(chain.url, 'status');
    expect(((s.node_info as Obj).other as Obj).tx_index).toBe('off');
    expect((await call(chain.url, 'tx', { hash: b64(new Uint8Array(32)) })).error?.data).toBe(
      'transaction indexing is disabled',
    );
    expect((await call(chain.url, 'tx_search', { query: "tm.event='Tx'" })).error?.data).toBe(
      'transaction indexing is disabled',
    );
    expect((await ok(chain.url, 'block_results', { height: 1 })).height).toBe('1');
  });
});

describe('broadcast_evidence', () => {
  let chain: TestChain;

  beforeAll(async () => {
    chain = await startChain();
    await chain.waitForHeight(2);
  });

  afterAll(async () => {
    await chain?.stop();
  });

  /** A double sign by the validator at height 1 (its own chain's: the only validator). */
  const doubleSign = async (signature?: Uint8Array): Promise<Evidence> => {
    const vote = (fill: number): Vote => ({
      type: 'precommit',
      height: 1,
      round: 0,
      blockHash: new Uint8Array(32).fill(fill),
      validatorAddress: address(VALIDATOR),
    });
    const signed = (v: Vote) => ({ vote: v, signature: sign(VALIDATOR, voteSignBytes(CHAIN_ID, v)) });
    const header = await chain.storage.blocks.loadHeader(1);
    const b = signed(vote(2));
    return canonicalEvidence({
      kind: 'duplicate-vote',
      voteA: signed(vote(1)),
      voteB: signature === undefined ? b : { ...b, signature },
      validatorPower: 10,
      totalVotingPower: 10,
      timeMs: header!.timeMs,
    });
  };

  it('junk does not decode; a forged double sign is refused with the reason; a valid one is pooled, committed, and taken again without error', async () => {
    const junk = await call(chain.url, 'broadcast_evidence', { evidence: b64(Uint8Array.of(1, 2, 3)) });
    expect(junk.error?.code).toBe(RPC_ERROR_CODES.internal);
    expect(junk.error?.data).toMatch(/^evidence does not decode/);
    const forged = await call(chain.url, 'broadcast_evidence', {
      evidence: b64(encodeEvidence(await doubleSign(new Uint8Array(64).fill(3)))),
    });
    expect(forged.error?.code).toBe(RPC_ERROR_CODES.internal);
    expect(forged.error?.data).toMatch(/^failed to add evidence: invalid evidence: .*signature/i);
    const ev = await doubleSign();
    const added = await ok(chain.url, 'broadcast_evidence', { evidence: b64(encodeEvidence(ev)) });
    expect(added).toEqual({ hash: b64(evidenceHash(ev)) });
    expect(chain.node.status().evidencePending).toBe(1);
    // Already pending: no error, as CometBFT's pool.
    expect(await ok(chain.url, 'broadcast_evidence', { evidence: b64(encodeEvidence(ev)) })).toEqual(added);
    // The validator proposes it: a block carries it as CometBFT's DuplicateVoteEvidence.
    const deadline = Date.now() + 10_000;
    let found: Obj | undefined;
    for (let h = 2; found === undefined && Date.now() < deadline; ) {
      if (h > chain.node.status().height) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const block = (await ok(chain.url, 'block', { height: String(h) })).block as Obj;
      found = ((block.evidence as Obj).evidence as Obj[])[0];
      h++;
    }
    expect(found?.type).toBe('tendermint/DuplicateVoteEvidence');
    expect(((found?.value as Obj | undefined)?.vote_a as Obj | undefined)?.height).toBe('1');
  });
});
