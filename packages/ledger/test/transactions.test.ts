import { addressFromPublicKey, sign } from '@synod/crypto';
import { encodeTx, type TxBody, txSignBytes } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { GAS_COSTS, LEDGER_TX_CODES } from '../src/index.js';
import {
  addr,
  bond,
  CHAIN_ID,
  genesisRequest,
  key,
  MIN_FEE,
  openLedger,
  runBlock,
  signedTx,
  transfer,
  unbond,
  unjailTx,
  VALIDATOR_KEYS,
} from './helpers.js';

const alice = key(10);
const bob = key(11);
const stranger = key(50);
const BAL = 1_000_000_000n;

/** Runs `txs` in block 1 of one ledger and an empty block 1 of a twin: returns both. */
async function againstEmptyBlock(txs: Uint8Array[]) {
  const a = await openLedger();
  const b = await openLedger();
  const withTxs = await runBlock(a.ledger, txs);
  const empty = await runBlock(b.ledger, []);
  return { withTxs, empty, ledger: a.ledger };
}

function flip(b: Uint8Array, i: number): Uint8Array {
  const out = new Uint8Array(b);
  out[i] = (out[i] as number) ^ 0x01;
  return out;
}

describe('transaction rules: every bad transaction is rejected with a clear code and changes nothing', () => {
  const cases: [string, () => Uint8Array, string, RegExp][] = [
    ['garbage bytes', () => Uint8Array.from([1, 2, 3]), 'TX_MALFORMED', /tx/],
    ['empty bytes', () => new Uint8Array(0), 'TX_MALFORMED', /./],
    ['oversized', () => new Uint8Array(2000), 'TX_TOO_LARGE', /2000 bytes; the limit is 1024/],
    [
      'wrong chain',
      () => transfer(alice, addr(bob), 1n, { nonce: 0, chainId: 'other-chain' }),
      'TX_WRONG_CHAIN',
      /other-chain/,
    ],
    [
      'bad signature',
      () => flip(transfer(alice, addr(bob), 1n, { nonce: 0 }), 20),
      'TX_BAD_SIGNATURE',
      /signature/,
    ],
    [
      'nonce far in the future',
      () => transfer(alice, addr(bob), 1n, { nonce: 100 }),
      'TX_BAD_NONCE',
      /next nonce 0/,
    ],
    [
      'fee below the minimum',
      () => transfer(alice, addr(bob), 1n, { nonce: 0, fee: MIN_FEE - 1n }),
      'TX_FEE_TOO_LOW',
      /minimum fee 1000/,
    ],
    [
      'fee unaffordable',
      () => transfer(stranger, addr(bob), 1n, { nonce: 0 }),
      'TX_INSUFFICIENT_FUNDS',
      /cannot pay the fee/,
    ],
    [
      'gas limit too low',
      () => transfer(alice, addr(bob), 1n, { nonce: 0, gasLimit: 10 }),
      'TX_GAS_TOO_LOW',
      /below the/,
    ],
    [
      'gas limit above the block',
      () => transfer(alice, addr(bob), 1n, { nonce: 0, gasLimit: 200_000_000 }),
      'TX_GAS_TOO_HIGH',
      /block limit/,
    ],
    ['zero amount', () => transfer(alice, addr(bob), 0n, { nonce: 0 }), 'TX_INVALID_AMOUNT', /positive/],
  ];

  for (const [name, make, code, log] of cases) {
    it(`${name} → ${code} in checkTx and finalizeBlock, with no state change`, async () => {
      const tx = make();
      const { ledger } = await openLedger();
      const checked = await ledger.checkTx(tx, 'new');
      expect(checked.code).toBe(code);
      expect(checked.log).toMatch(log);
      const r = await againstEmptyBlock([tx]);
      expect(r.withTxs.txResults[0]?.code).toBe(code);
      expect(r.withTxs.txResults[0]?.gasUsed).toBe(0);
      expect(r.withTxs.appHash).toEqual(r.empty.appHash);
    });
  }

  it('every code the ledger returns is in LEDGER_TX_CODES', () => {
    for (const [, , code] of cases) expect(LEDGER_TX_CODES).toContain(code);
  });
});

describe('checkTx', () => {
  it('returns sender address, nonce, priority = fee and gasWanted for the mempool', async () => {
    const { ledger } = await openLedger();
    const r = await ledger.checkTx(
      transfer(alice, addr(bob), 5n, { nonce: 0, fee: 2_500n, gasLimit: 50_000 }),
      'new',
    );
    expect(r).toEqual({
      code: 'OK',
      log: '',
      sender: addr(alice),
      nonce: 0,
      priority: 2_500n,
      gasWanted: 50_000,
    });
  });

  it('accepts nonces up to maxNonceAhead ahead of the account (the mempool holds the gap), not beyond', async () => {
    const { ledger } = await openLedger({ maxNonceAhead: 4 });
    expect((await ledger.checkTx(transfer(alice, addr(bob), 5n, { nonce: 4 }), 'new')).code).toBe('OK');
    const far = await ledger.checkTx(transfer(alice, addr(bob), 5n, { nonce: 5 }), 'new');
    expect(far.code).toBe('TX_BAD_NONCE');
    expect(far.log).toMatch(/more than 4 ahead/);
    expect(far.nonce).toBe(5);
  });

  it('refuses a used nonce on recheck once the block with it is committed', async () => {
    const { ledger } = await openLedger();
    const tx = transfer(alice, addr(bob), 5n, { nonce: 0 });
    expect((await ledger.checkTx(tx, 'new')).code).toBe('OK');
    await runBlock(ledger, [tx]);
    const again = await ledger.checkTx(tx, 'recheck');
    expect(again.code).toBe('TX_BAD_NONCE');
    expect(again.log).toMatch(/already used; the next is 1/);
  });

  it('dry-runs the message of a transaction at the next nonce (fee + amount must be affordable)', async () => {
    const { ledger } = await openLedger();
    const r = await ledger.checkTx(transfer(alice, addr(bob), BAL, { nonce: 0 }), 'new');
    expect(r.code).toBe('TX_INSUFFICIENT_FUNDS');
    expect(r.log).toMatch(/below the amount/);
    const notOp = await ledger.checkTx(
      unbond(alice, (VALIDATOR_KEYS[0] as { publicKey: Uint8Array }).publicKey, 1n, { nonce: 0 }),
      'new',
    );
    expect(notOp.code).toBe('TX_NOT_OPERATOR');
  });

  it('never changes the state', async () => {
    const { ledger } = await openLedger();
    const before = await ledger.info();
    await ledger.checkTx(transfer(alice, addr(bob), 5n, { nonce: 0 }), 'new');
    await ledger.checkTx(transfer(alice, addr(bob), 5n, { nonce: 0 }), 'new');
    expect(await ledger.info()).toEqual(before);
    expect(ledger.account(addr(alice)).nonce).toBe(0);
  });
});

describe('finalizeBlock transaction execution', () => {
  it('applies a transfer, charges the fee, uses the nonce and reports events and gas', async () => {
    const { ledger } = await openLedger();
    const tx = transfer(alice, addr(bob), 5n, { nonce: 0 });
    const r = await runBlock(ledger, [tx]);
    const res = r.txResults[0];
    expect(res?.code).toBe('OK');
    expect(res?.gasUsed).toBe(GAS_COSTS.base + GAS_COSTS.perByte * tx.length + GAS_COSTS.transfer);
    expect(res?.events.map((e) => e.type)).toEqual(['fee', 'transfer']);
    expect(ledger.account(addr(alice))).toEqual({ balance: BAL - 5n - MIN_FEE, nonce: 1 });
    expect(ledger.account(addr(bob)).balance).toBe(BAL + 5n);
  });

  it('needs consecutive nonces within a block; a replayed transaction is rejected', async () => {
    const { ledger } = await openLedger();
    const t0 = transfer(alice, addr(bob), 1n, { nonce: 0 });
    const t1 = transfer(alice, addr(bob), 1n, { nonce: 1 });
    const t3 = transfer(alice, addr(bob), 1n, { nonce: 3 });
    const r = await runBlock(ledger, [t0, t1, t0, t3]);
    expect(r.txResults.map((x) => x.code)).toEqual(['OK', 'OK', 'TX_BAD_NONCE', 'TX_BAD_NONCE']);
    expect(ledger.account(addr(alice)).nonce).toBe(2);
  });

  it('charges the fee (and uses the nonce) of a transaction whose message fails', async () => {
    const { ledger } = await openLedger();
    const r = await runBlock(ledger, [transfer(alice, addr(bob), BAL, { nonce: 0 })]);
    expect(r.txResults[0]?.code).toBe('TX_INSUFFICIENT_FUNDS');
    expect(r.txResults[0]?.log).toMatch(/after the fee/);
    expect(r.txResults[0]?.events.map((e) => e.type)).toEqual(['fee']);
    expect(ledger.account(addr(alice))).toEqual({ balance: BAL - MIN_FEE, nonce: 1 });
    expect(ledger.account(addr(bob)).balance).toBe(BAL);
  });

  it('lets a sender spend what an earlier transaction of the same block gave it', async () => {
    const { ledger } = await openLedger();
    const carol = key(60);
    const r = await runBlock(ledger, [
      transfer(alice, addr(carol), 10_000n, { nonce: 0 }),
      transfer(carol, addr(bob), 5_000n, { nonce: 0 }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['OK', 'OK']);
    expect(ledger.account(addr(carol))).toEqual({ balance: 10_000n - 5_000n - MIN_FEE, nonce: 1 });
  });

  it('accepts a sender key that is not on the curve only if its signature verifies (it cannot)', async () => {
    const body: TxBody = {
      chainId: CHAIN_ID,
      sender: new Uint8Array(32).fill(0xff),
      nonce: 0,
      fee: MIN_FEE,
      gasLimit: 100_000,
      msg: { kind: 'transfer', to: addr(bob), amount: 1n },
      memo: new Uint8Array(0),
    };
    const tx = encodeTx({ body, signature: sign(alice, txSignBytes(CHAIN_ID, body)) });
    const { ledger } = await openLedger();
    expect((await ledger.checkTx(tx, 'new')).code).toBe('TX_BAD_SIGNATURE');
    expect(addressFromPublicKey(body.sender).length).toBe(20);
  });

  it('enforces maxTxBytes from genesis', async () => {
    const { ledger } = await openLedger(
      {},
      genesisRequest({
        app: {
          minFee: 1n,
          maxTxBytes: 200,
          accounts: [{ address: addr(alice), balance: BAL }],
          validators: [
            { pubKey: (VALIDATOR_KEYS[0] as { publicKey: Uint8Array }).publicKey, stake: 10_000_000n },
          ],
        },
      }),
    );
    const tx = transfer(alice, addr(bob), 1n, { nonce: 0, fee: 1n, memo: new Uint8Array(100) });
    expect(tx.length).toBeGreaterThan(200);
    expect((await ledger.checkTx(tx, 'new')).code).toBe('TX_TOO_LARGE');
  });

  it('rejects messages of every kind for unknown validators with TX_UNKNOWN_VALIDATOR (fee charged)', async () => {
    const { ledger } = await openLedger();
    const ghost = key(999).publicKey;
    const r = await runBlock(ledger, [
      unbond(alice, ghost, 1n, { nonce: 0 }),
      unjailTx(alice, ghost, { nonce: 1 }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['TX_UNKNOWN_VALIDATOR', 'TX_UNKNOWN_VALIDATOR']);
    expect(ledger.account(addr(alice))).toEqual({ balance: BAL - 2n * MIN_FEE, nonce: 2 });
  });

  it('rejects a first bond below one unit of power with TX_BOND_TOO_SMALL', async () => {
    const { ledger } = await openLedger();
    const r = await runBlock(ledger, [bond(alice, key(300).publicKey, 999_999n, { nonce: 0 })]);
    expect(r.txResults[0]?.code).toBe('TX_BOND_TOO_SMALL');
    expect(ledger.validator(key(300).publicKey)).toBeUndefined();
  });

  it('never throws on a transaction that is not even a Uint8Array', async () => {
    const { ledger } = await openLedger();
    const notBytes = 'hello' as unknown as Uint8Array;
    expect((await ledger.checkTx(notBytes, 'new')).code).toBe('TX_MALFORMED');
    const r = await runBlock(ledger, [notBytes]);
    expect(r.txResults[0]?.code).toBe('TX_MALFORMED');
  });

  it('signs over the memo: a changed memo breaks the signature', async () => {
    const tx = signedTx(
      alice,
      { kind: 'transfer', to: addr(bob), amount: 1n },
      { nonce: 0, memo: Uint8Array.of(1, 2, 3) },
    );
    const { ledger } = await openLedger();
    expect((await ledger.checkTx(tx, 'new')).code).toBe('OK');
    // The memo bytes 1,2,3 sit in the body; flip the last one.
    const i = tx.findIndex((b, j) => b === 3 && tx[j - 1] === 2 && tx[j - 2] === 1);
    const changed = flip(tx, i);
    expect(changed).not.toEqual(tx);
    expect((await ledger.checkTx(changed, 'new')).code).toBe('TX_BAD_SIGNATURE');
  });
});
