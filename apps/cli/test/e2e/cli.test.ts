/**
 * `synod` against a real single-node chain (a synodd process on 127.0.0.1):
 * keys, a transfer waited for, the balances it moved, and every error of
 * the command line as one line with its exit code.
 */
import { join } from 'node:path';
import { toHex } from '@synod/crypto';
import { decodeTx } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBasePort, oneLine, type SingleNode, startSingleNode, synod, tempDir } from './harness.js';

let chain: SingleNode;
let home: { path: string; remove: () => Promise<void> };
let env: Record<string, string>;
let node: string[];
/** alice's address (in the test keyring), once made. */
let aliceAddress = '';
const test = ['--keyring-backend', 'test'];

const json = <T>(text: string): T => JSON.parse(text) as T;

interface Account {
  address: string;
  balance: string;
  nonce: number;
}

beforeAll(async () => {
  chain = await startSingleNode(3);
  home = await tempDir('synod-home-');
  env = { SYNOD_HOME: home.path };
  node = ['--node', chain.rpc];
  for (const [name, file] of [
    ['faucet', 'account0.json'],
    ['spare', 'account1.json'],
  ] as const) {
    const r = await synod(['keys', 'import', name, join(chain.keysDir, file), ...test], { env });
    expect(r.code, r.stderr).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  await chain?.stop();
  await home?.remove();
});

describe('synod against a real synodd', () => {
  it('keys add → tx send --wait → query account shows the balances moved', async () => {
    const added = await synod(['keys', 'add', 'alice', ...test, '--output', 'json'], { env });
    expect(added.code, added.stderr).toBe(0);
    const alice = json<{ address: string; mnemonic: string }>(added.stdout);
    aliceAddress = alice.address;
    expect(alice.mnemonic.split(' ')).toHaveLength(24);

    const before = json<Account>(
      (await synod(['query', 'account', 'faucet', ...test, ...node, '-o', 'json'], { env })).stdout,
    );
    const sent = await synod(
      ['tx', 'send', 'alice', '12345', '--from', 'faucet', '--wait', ...test, ...node, '-o', 'json'],
      { env },
    );
    expect(sent.code, sent.stderr).toBe(0);
    const result = json<{
      code: number;
      height: number;
      kind: string;
      amount: string;
      fee: string;
      hash: string;
    }>(sent.stdout);
    expect(result).toMatchObject({ code: 0, kind: 'transfer', amount: '12345' });
    expect(result.height).toBeGreaterThan(0);

    const after = json<Account>(
      (await synod(['query', 'account', 'faucet', ...test, ...node, '-o', 'json'], { env })).stdout,
    );
    const got = json<Account>(
      (await synod(['query', 'account', alice.address, ...node, '-o', 'json'], { env })).stdout,
    );
    expect(got).toEqual({ address: alice.address, balance: '12345', nonce: 0 });
    expect(BigInt(before.balance) - BigInt(after.balance)).toBe(12345n + BigInt(result.fee));
    expect(after.nonce).toBe(before.nonce + 1);

    // the transaction is found by hash, and in its block
    const tx = await synod(['query', 'tx', result.hash, ...node, '-o', 'json'], { env });
    expect(json<{ height: number; sender: string }>(tx.stdout)).toMatchObject({
      height: result.height,
      sender: before.address,
    });
    const block = json<{ txs: { hash: string }[] }>(
      (await synod(['query', 'block', String(result.height), ...node, '-o', 'json'], { env })).stdout,
    );
    expect(block.txs.map((t) => t.hash)).toContain(result.hash);
  });

  it('query status, validators, validator, signing-info and params answer', async () => {
    const status = json<{
      chainId: string;
      latestBlockHeight: number;
      votingPower: string;
      validatorAddress: string;
    }>((await synod(['query', 'status', ...node, '-o', 'json'], { env })).stdout);
    expect(status).toMatchObject({ chainId: 'cli-e2e', votingPower: '10' });
    const set = json<{ validators: { address: string; pubKey: string; power: number }[] }>(
      (await synod(['query', 'validators', ...node, '-o', 'json'], { env })).stdout,
    );
    expect(set.validators).toHaveLength(1);
    const v = set.validators[0] as { address: string; pubKey: string };
    expect(v.address.toUpperCase()).toBe(status.validatorAddress);
    const rec = json<{ pubKey: string; jailed: boolean }>(
      (await synod(['query', 'validator', v.pubKey, ...node, '-o', 'json'], { env })).stdout,
    );
    expect(rec).toMatchObject({ pubKey: v.pubKey, jailed: false });
    const info = await synod(['query', 'signing-info', v.address, ...node, '-o', 'json'], { env });
    expect(info.code, info.stderr).toBe(0);
    expect(json<{ address: string }>(info.stdout).address).toBe(v.address);
    const params = json<{ chainId: string; minFee: string }>(
      (await synod(['query', 'params', ...node, '-o', 'json'], { env })).stdout,
    );
    expect(params).toMatchObject({ chainId: 'cli-e2e', minFee: '1000' });
    const table = await synod(['query', 'status', ...node], { env });
    expect(table.stdout).toMatch(/chainId\s+│ cli-e2e/);
  });

  it('--generate-only prints the signed transaction without sending it', async () => {
    const before = json<Account>(
      (await synod(['query', 'account', 'spare', ...test, ...node, '-o', 'json'], { env })).stdout,
    );
    const r = await synod(
      ['tx', 'send', 'alice', '7', '--from', 'spare', '--generate-only', '--fee', '1500', ...test, ...node],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const tx = decodeTx(Buffer.from(r.stdout.trim(), 'base64'));
    expect(tx.body).toMatchObject({ chainId: 'cli-e2e', nonce: before.nonce, fee: 1500n });
    expect(tx.body.msg).toMatchObject({ kind: 'transfer', amount: 7n });
    // offline: nothing asked of a node
    const off = await synod(
      [
        'tx',
        'send',
        before.address,
        '7',
        '--from',
        'spare',
        '--generate-only',
        '--fee',
        '1000',
        '--nonce',
        '5',
        '--chain-id',
        'x',
        '--node',
        'http://127.0.0.1:9',
        ...test,
      ],
      { env },
    );
    expect(off.code, off.stderr).toBe(0);
    expect(decodeTx(Buffer.from(off.stdout.trim(), 'base64')).body).toMatchObject({ chainId: 'x', nonce: 5 });
    const after = json<Account>(
      (await synod(['query', 'account', 'spare', ...test, ...node, '-o', 'json'], { env })).stdout,
    );
    expect(after).toEqual(before);
  });
});

describe('each error is one line and an exit code', () => {
  it('node unreachable: the address tried (exit 4)', async () => {
    const port = await freeBasePort(1);
    const r = await synod(['query', 'status', '--node', `http://127.0.0.1:${port}`], { env });
    expect(r.code).toBe(4);
    expect(oneLine(r)).toBe(
      `synod: NODE_UNREACHABLE: cannot reach the node at http://127.0.0.1:${port} (connection refused: is the node running?)`,
    );
    expect(r.stdout).toBe('');
  });

  it('bad address and bad amount (exit 2)', async () => {
    const addr = await synod(['tx', 'send', '0x12zz', '5', '--from', 'faucet', ...test, ...node], { env });
    expect(addr.code).toBe(2);
    expect(oneLine(addr)).toMatch(/^synod: BAD_ADDRESS: recipient "0x12zz": neither 40 hex characters/);
    for (const amount of ['1.5', '18446744073709551616']) {
      const r = await synod(['tx', 'send', 'alice', amount, '--from', 'faucet', ...test, ...node], { env });
      expect(r.code, amount).toBe(2);
      expect(oneLine(r)).toMatch(/^synod: BAD_AMOUNT: amount/);
    }
    const flag = await synod(['query', 'status', '--bogus'], { env });
    expect(flag.code).toBe(2);
    expect(oneLine(flag)).toBe("synod: USAGE: unknown option '--bogus' (see --help)");
  });

  it('insufficient funds (exit 5)', async () => {
    const r = await synod(['tx', 'send', 'faucet', '999999999999999', '--from', 'alice', ...test, ...node], {
      env,
    });
    expect(r.code).toBe(5);
    expect(oneLine(r)).toMatch(
      /^synod: INSUFFICIENT_FUNDS: insufficient funds: account [0-9a-f]{40} has 12345, the transaction needs 1000000000000999 \(amount 999999999999999 \+ fee 1000\)$/,
    );
  });

  it('wrong nonce, from the node (exit 5)', async () => {
    const r = await synod(
      ['tx', 'send', 'alice', '1', '--from', 'faucet', '--nonce', '0', ...test, ...node],
      { env },
    );
    expect(r.code).toBe(5);
    expect(oneLine(r)).toMatch(
      /^synod: WRONG_NONCE: wrong nonce: TX_BAD_NONCE \(code \d+\): nonce 0 was already used; the next is \d+$/,
    );
  });

  it('a rejected transaction with its code and log (exit 5)', async () => {
    const r = await synod(['tx', 'send', 'alice', '1', '--from', 'faucet', '--fee', '1', ...test, ...node], {
      env,
    });
    expect(r.code).toBe(5);
    expect(oneLine(r)).toMatch(
      /^synod: TX_REJECTED: transaction rejected: TX_FEE_TOO_LOW \(code \d+\): .*1000/,
    );
  });

  it('unknown key (exit 3)', async () => {
    const r = await synod(['tx', 'send', 'alice', '1', '--from', 'nobody', ...test, ...node], { env });
    expect(r.code).toBe(3);
    expect(oneLine(r)).toBe(
      `synod: UNKNOWN_KEY: no key named nobody in ${join(home.path, 'keyring-test')} (\`synod keys list --keyring-backend test\` shows them)`,
    );
  });

  it('wrong passphrase of the file keyring (exit 3), the right one signs', async () => {
    const add = await synod(['keys', 'import', 'bob', join(chain.keysDir, 'account2.json')], {
      env,
      input: 'bob-passphrase\n',
    });
    expect(add.code, add.stderr).toBe(0);
    // bob is in the file keyring (the default backend); alice in the test one, so her address is given
    const wrong = await synod(['tx', 'send', aliceAddress, '1', '--from', 'bob', ...node], {
      env,
      input: 'not-it\n',
    });
    expect(wrong.code).toBe(3);
    expect(oneLine(wrong)).toBe('synod: WRONG_PASSPHRASE: wrong passphrase for key bob');
    const right = await synod(
      ['tx', 'send', aliceAddress, '1', '--from', 'bob', '--wait', ...node, '-o', 'json'],
      { env, input: 'bob-passphrase\n' },
    );
    expect(right.code, right.stderr).toBe(0);
    expect(json<{ code: number }>(right.stdout).code).toBe(0);
  });

  it('not found (exit 7), and a key that exists (exit 3)', async () => {
    const r = await synod(['query', 'tx', toHex(new Uint8Array(32).fill(0xab)), ...node], { env });
    expect(r.code).toBe(7);
    expect(oneLine(r)).toMatch(/^synod: NOT_FOUND: tx: /);
    const dup = await synod(['keys', 'add', 'alice', ...test], { env });
    expect(dup.code).toBe(3);
    expect(oneLine(dup)).toMatch(/^synod: KEY_EXISTS: a key named alice already exists/);
  });
});
