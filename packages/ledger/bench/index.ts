/**
 * Ledger benchmarks: finalizeBlock (+ commit) throughput for blocks of signed
 * transfers, checkTx throughput, and start-up (state load + app-hash rebuild).
 * Prints numbers; asserts nothing. Run: pnpm --filter @synod/ledger bench
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign } from '@synod/crypto';
import { createMemoryKvStore, type KvStore, openLevelKvStore } from '@synod/storage';
import {
  DEFAULT_CONSENSUS_PARAMS,
  encodeTx,
  type InitChainRequest,
  type TxBody,
  txSignBytes,
} from '@synod/types';
import { Ledger, ledgerAppState, POWER_REDUCTION } from '../src/index.js';

const CHAIN_ID = 'bench';
const ACCOUNTS = 10_000;
const BLOCKS = 10;
const TXS_PER_BLOCK = 1_000;

function keyOf(i: number): KeyPair {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, i + 1);
  return keyPairFromSeed(seed);
}

console.log(
  `setting up ${ACCOUNTS.toLocaleString('en-US')} accounts and ${BLOCKS} blocks of ${TXS_PER_BLOCK} transfers…`,
);
const keys = Array.from({ length: ACCOUNTS }, (_, i) => keyOf(i));
const addresses = keys.map((k) => addressFromPublicKey(k.publicKey));
const validators = [0, 1, 2, 3].map((i) => keyOf(1_000_000 + i));

const genesis: InitChainRequest = {
  chainId: CHAIN_ID,
  genesisTimeMs: 0,
  initialHeight: 1,
  consensusParams: DEFAULT_CONSENSUS_PARAMS,
  validators: [],
  appState: ledgerAppState({
    minFee: 1n,
    accounts: addresses.map((address) => ({ address, balance: 1_000_000_000n })),
    validators: validators.map((v) => ({ pubKey: v.publicKey, stake: 100n * POWER_REDUCTION })),
  }),
};

const nonces = new Array<number>(ACCOUNTS).fill(0);
const blocks: Uint8Array[][] = [];
for (let b = 0; b < BLOCKS; b++) {
  const txs: Uint8Array[] = [];
  for (let t = 0; t < TXS_PER_BLOCK; t++) {
    const from = (b * TXS_PER_BLOCK + t) % ACCOUNTS;
    const nonce = nonces[from] ?? 0;
    nonces[from] = nonce + 1;
    const body: TxBody = {
      chainId: CHAIN_ID,
      sender: (keys[from] as KeyPair).publicKey,
      nonce,
      fee: 10n,
      gasLimit: 100_000,
      msg: { kind: 'transfer', to: addresses[(from * 7 + 1) % ACCOUNTS] as Uint8Array, amount: 5n },
      memo: new Uint8Array(0),
    };
    txs.push(encodeTx({ body, signature: sign(keys[from] as KeyPair, txSignBytes(CHAIN_ID, body)) }));
  }
  blocks.push(txs);
}

function line(name: string, value: string): void {
  console.log(`${name.padEnd(58)} ${value.padStart(16)}`);
}

const perSecond = (n: number, ms: number): string =>
  `${Math.round((n * 1000) / ms).toLocaleString('en-US')} tx/s`;

async function runChain(
  name: string,
  kv: KvStore,
  options: { syncWrites?: boolean; signatureCacheSize?: number; precheck?: boolean } = {},
) {
  const { precheck, ...ledgerOptions } = options;
  const ledger = await Ledger.open({ kv, ...ledgerOptions });
  await ledger.initChain(genesis);
  // As in a node: the mempool's checkTx verified every signature before the block.
  if (precheck === true) for (const txs of blocks) for (const tx of txs) await ledger.checkTx(tx, 'new');
  let finalizeMs = 0;
  let commitMs = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const t0 = performance.now();
    const r = await ledger.finalizeBlock({
      height: b + 1,
      timeMs: (b + 1) * 1000,
      hash: new Uint8Array(32),
      proposerAddress: addressFromPublicKey((validators[0] as KeyPair).publicKey),
      txs: blocks[b] as Uint8Array[],
      misbehavior: [],
      decidedLastCommit: { round: 0, votes: [] },
    });
    const t1 = performance.now();
    await ledger.commit();
    const t2 = performance.now();
    if (r.txResults.some((x) => x.code !== 'OK')) throw new Error('bench transaction failed');
    finalizeMs += t1 - t0;
    commitMs += t2 - t1;
  }
  const n = BLOCKS * TXS_PER_BLOCK;
  line(`${name}: finalizeBlock`, perSecond(n, finalizeMs));
  line(`${name}: finalizeBlock + commit`, perSecond(n, finalizeMs + commitMs));
  line(
    `${name}: ms per ${TXS_PER_BLOCK}-tx block (finalize / commit)`,
    `${(finalizeMs / BLOCKS).toFixed(1)} / ${(commitMs / BLOCKS).toFixed(1)}`,
  );
  return ledger;
}

await runChain('memory, cold signatures', await createMemoryKvStore(), { signatureCacheSize: 0 });
await runChain('memory, signatures verified at checkTx', await createMemoryKvStore(), { precheck: true });

// checkTx first warms the signature cache, as in a node (mempool, then the block).
{
  const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
  await ledger.initChain(genesis);
  const t0 = performance.now();
  for (const tx of blocks[0] as Uint8Array[]) await ledger.checkTx(tx, 'new');
  line('checkTx (verify + dry run)', perSecond(TXS_PER_BLOCK, performance.now() - t0));
  // The mempool's recheck after each commit: the same bytes objects, checked again.
  const rounds = 20;
  const t1 = performance.now();
  for (let r = 0; r < rounds; r++)
    for (const tx of blocks[0] as Uint8Array[]) await ledger.checkTx(tx, 'recheck');
  line(
    'checkTx recheck (same bytes, signature cached)',
    perSecond(rounds * TXS_PER_BLOCK, performance.now() - t1),
  );
}

const dir = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
try {
  const level = await openLevelKvStore(dir);
  await runChain('LevelDB, fsync, signatures verified at checkTx', level, { precheck: true });
  await level.close();
  const reopened = await openLevelKvStore(dir);
  const t0 = performance.now();
  await Ledger.open({ kv: reopened });
  line(
    `start-up: load ${ACCOUNTS.toLocaleString('en-US')}+ keys and rebuild the app hash`,
    `${(performance.now() - t0).toFixed(0)} ms`,
  );
  await reopened.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
