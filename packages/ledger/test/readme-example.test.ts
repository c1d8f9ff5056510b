import { addressFromPublicKey, keyPairFromSeed, sign } from '@synod/crypto';
import { createMemoryKvStore } from '@synod/storage';
import { DEFAULT_CONSENSUS_PARAMS, encodeTx, type TxBody, txSignBytes } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { type AccountView, Ledger, ledgerAppState } from '../src/index.js';

describe('README example', () => {
  it('runs as written', async () => {
    const out: unknown[] = [];
    const log = (x: unknown): void => {
      out.push(x);
    };
    // --- the README's code, with console.log → log
    const alice = keyPairFromSeed(new Uint8Array(32).fill(1));
    const bob = addressFromPublicKey(keyPairFromSeed(new Uint8Array(32).fill(2)).publicKey);
    const validator = keyPairFromSeed(new Uint8Array(32).fill(3));

    const ledger = await Ledger.open({ kv: await createMemoryKvStore() });
    const genesis = await ledger.initChain({
      chainId: 'demo',
      genesisTimeMs: 0,
      initialHeight: 1,
      consensusParams: DEFAULT_CONSENSUS_PARAMS,
      validators: [],
      appState: ledgerAppState({
        minFee: 10n,
        accounts: [{ address: addressFromPublicKey(alice.publicKey), balance: 1_000n }],
        validators: [{ pubKey: validator.publicKey, stake: 5_000_000n }],
      }),
    });
    log(genesis.validators); // [{ pubKey: validator.publicKey, power: 5 }]

    const body: TxBody = {
      chainId: 'demo',
      sender: alice.publicKey,
      nonce: 0,
      fee: 10n,
      gasLimit: 10_000,
      msg: { kind: 'transfer', to: bob, amount: 250n },
      memo: new Uint8Array(0),
    };
    const tx = encodeTx({ body, signature: sign(alice, txSignBytes('demo', body)) });
    log((await ledger.checkTx(tx, 'new')).code); // OK

    const block = await ledger.finalizeBlock({
      height: 1,
      timeMs: 1_000,
      hash: new Uint8Array(32),
      proposerAddress: addressFromPublicKey(validator.publicKey),
      txs: [tx],
      misbehavior: [],
      decidedLastCommit: { round: 0, votes: [] },
    });
    log(block.txResults[0]?.code); // OK
    await ledger.commit();

    const q = await ledger.query({ path: 'account', data: bob, height: 1 });
    const account = JSON.parse(new TextDecoder().decode(q.value)) as AccountView;
    log(account.balance); // 250
    // --- end of the README's code

    expect(out).toEqual([[{ pubKey: validator.publicKey, power: 5 }], 'OK', 'OK', '250']);
  });
});
