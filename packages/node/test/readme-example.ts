// The README's example, verbatim (test/unit/readme.test.ts checks that and runs it).
import { addressFromPublicKey, keyPairFromSeed, sign } from '@synod/crypto';
import { Ledger, ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import { createNode, MemoryNetwork } from '@synod/node';
import { createMemoryNodeStorage, createSigner } from '@synod/storage';
import { type Clock, DEFAULT_CONSENSUS_PARAMS, encodeTx, type Genesis, txSignBytes } from '@synod/types';

// One validator and one funded account.
const validatorKey = keyPairFromSeed(new Uint8Array(32).fill(1));
const alice = keyPairFromSeed(new Uint8Array(32).fill(2));
const bob = addressFromPublicKey(keyPairFromSeed(new Uint8Array(32).fill(3)).publicKey);
const genesis: Genesis = {
  chainId: 'readme-chain',
  genesisTimeMs: Date.now(),
  initialHeight: 1,
  consensusParams: {
    ...DEFAULT_CONSENSUS_PARAMS,
    timeouts: { ...DEFAULT_CONSENSUS_PARAMS.timeouts, commitMs: 10 },
  },
  validators: [{ name: 'v0', pubKey: validatorKey.publicKey, power: 10 }],
  appState: ledgerAppState({
    minFee: 10n,
    accounts: [{ address: addressFromPublicKey(alice.publicKey), balance: 1_000_000n }],
    validators: [{ pubKey: validatorKey.publicKey, stake: 10n * POWER_REDUCTION }],
  }),
};

// The host's ports: memory storage, the ledger over the state store's application key space,
// an in-memory transport, the wall clock, the production signer.
const storage = await createMemoryNodeStorage();
const application = await Ledger.open({ kv: storage.state.appState });
const transport = new MemoryNetwork().transport('v0');
const clock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};
const signer = await createSigner(validatorKey.seed, storage.signerState);
const node = createNode({ storage, application, transport, clock, signer }, { genesis });

// Wait for the block that carries our three transfers.
let committed = 0;
const done = new Promise<number>((resolve) => {
  node.on('block', (e) => {
    committed += e.block.txs.length;
    if (e.block.txs.length > 0)
      console.log(`block ${e.height}: ${e.txResults.map((r) => r.code).join(', ')}`);
    if (committed === 3) resolve(e.height);
  });
});

await node.start();
for (let nonce = 0; nonce < 3; nonce++) {
  const body = {
    chainId: genesis.chainId,
    sender: alice.publicKey,
    nonce,
    fee: 10n,
    gasLimit: 10_000,
    msg: { kind: 'transfer', to: bob, amount: 100n },
    memo: new Uint8Array(0),
  } as const;
  const result = await node.broadcastTx(
    encodeTx({ body, signature: sign(alice, txSignBytes(genesis.chainId, body)) }),
  );
  console.log(`tx ${nonce}: ${result.code}`);
}
const height = await done;
const account = await node.query({ path: 'account', data: bob });
console.log(`committed 3 transactions by height ${height}; query account: ${account.code}`);
console.log(`status: height ${node.status().height}, ${node.status().mempoolTxs} txs pending`);
await node.stop();
await storage.close();
