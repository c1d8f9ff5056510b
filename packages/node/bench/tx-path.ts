/**
 * One node's cost per transaction along its path through the chain, with
 * the ledger and the mempool the daemon runs (state in memory): mempool add
 * (checkTx, signature included), then per block the proposer's reap +
 * prepareProposal, a non-proposer's processProposal (on its own copy of the
 * block's bytes, as decoded off the wire), finalizeBlock, commit, and the
 * mempool's update (remove the block's transactions, recheck the rest).
 * Prints µs per transaction of the block (the update also per recheck);
 * asserts nothing. Run: pnpm --filter @synod/node bench [senders] [nonces] [blockTxs]
 */
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign } from '@synod/crypto';
import { Ledger, ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import { Mempool } from '@synod/mempool';
import { createMemoryKvStore } from '@synod/storage';
import { DEFAULT_CONSENSUS_PARAMS, encodeTx, type TxBody, txSignBytes } from '@synod/types';

const arg = (i: number, fallback: number): number => Number(process.argv[i] ?? fallback);
const SENDERS = arg(2, 100);
const NONCES = arg(3, 50);
const BLOCK_TXS = arg(4, 1000);
const BLOCKS = 4;
const CHAIN_ID = 'bench';

const keyOf = (i: number): KeyPair => {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i + 1);
  return keyPairFromSeed(seed);
};
const keys = Array.from({ length: SENDERS }, (_, i) => keyOf(i));
const addresses = keys.map((k) => addressFromPublicKey(k.publicKey));
const validator = keyOf(1_000_000);
const proposerAddress = addressFromPublicKey(validator.publicKey);

const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
await ledger.initChain({
  chainId: CHAIN_ID,
  genesisTimeMs: 0,
  initialHeight: 1,
  consensusParams: DEFAULT_CONSENSUS_PARAMS,
  validators: [],
  appState: ledgerAppState({
    minFee: 1n,
    accounts: addresses.map((address) => ({ address, balance: 10n ** 12n })),
    validators: [{ pubKey: validator.publicKey, stake: 100n * POWER_REDUCTION }],
  }),
});
const txs: Uint8Array[] = [];
for (let nonce = 0; nonce < NONCES; nonce++)
  for (let s = 0; s < SENDERS; s++) {
    const key = keys[s] as KeyPair;
    const body: TxBody = {
      chainId: CHAIN_ID,
      sender: key.publicKey,
      nonce,
      fee: 10n,
      gasLimit: 100_000,
      msg: { kind: 'transfer', to: addresses[(s + 1) % SENDERS] as Uint8Array, amount: 5n },
      memo: new Uint8Array(0),
    };
    txs.push(encodeTx({ body, signature: sign(key, txSignBytes(CHAIN_ID, body)) }));
  }

const pool = new Mempool(ledger, { maxTxs: txs.length, maxBytes: 1 << 30 });
const perTx = (ms: number, n: number): string => ((ms * 1000) / Math.max(1, n)).toFixed(1).padStart(7);
let t = performance.now();
for (const tx of txs) {
  const r = await pool.add(tx);
  if (!r.accepted) throw new Error(`bench tx refused: ${r.code}`);
}
console.log(
  `${SENDERS} senders × ${NONCES} nonces = ${txs.length} txs pending; mempool add (checkTx, signature verified): ${perTx(performance.now() - t, txs.length).trim()} µs/tx`,
);
console.log('µs per tx of the block:   prepare  process finalize   commit   update (per recheck)');
for (let h = 1; h <= BLOCKS && pool.size > 0; h++) {
  const timeMs = h * 1000;
  t = performance.now();
  const reaped = pool.reap({ maxTxs: BLOCK_TXS });
  const { txs: picked } = await ledger.prepareProposal({
    height: h,
    timeMs,
    proposerAddress,
    maxBytes: DEFAULT_CONSENSUS_PARAMS.block.maxBytes,
    maxGas: DEFAULT_CONSENSUS_PARAMS.block.maxGas,
    txs: reaped,
  });
  const prepare = performance.now() - t;
  const block = picked.map((tx) => new Uint8Array(tx)); // a non-proposer decodes its own copy
  t = performance.now();
  const verdict = await ledger.processProposal({
    height: h,
    timeMs,
    proposerAddress,
    hash: new Uint8Array(32),
    txs: block,
    misbehavior: [],
  });
  const process = performance.now() - t;
  if (verdict !== 'accept') throw new Error(`bench block rejected: ${JSON.stringify(verdict)}`);
  t = performance.now();
  await ledger.finalizeBlock({
    height: h,
    timeMs,
    hash: new Uint8Array(32),
    proposerAddress,
    txs: block,
    misbehavior: [],
    decidedLastCommit: { round: 0, votes: [] },
  });
  const finalize = performance.now() - t;
  t = performance.now();
  await ledger.commit();
  const commit = performance.now() - t;
  t = performance.now();
  const u = await pool.update(h, block);
  const update = performance.now() - t;
  const n = block.length;
  console.log(
    `block ${h} (${String(n).padStart(5)} txs):  ${perTx(prepare, n)}  ${perTx(process, n)}  ${perTx(finalize, n)}  ${perTx(commit, n)}  ${perTx(update, n)} (${perTx(update, u.rechecked).trim()} × ${u.rechecked})`,
  );
}
