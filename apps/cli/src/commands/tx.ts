/**
 * `synod tx send|bond|unbond|unjail --from KEY [--fee] [--nonce] [--node]
 * [--wait] [--generate-only]`: builds, signs and submits the ledger's
 * transactions.
 */
import { addressFromPublicKey, type KeyPair, toHex } from '@synod/crypto';
import type { AccountView, ParamsView } from '@synod/ledger';
import type { TxMsg } from '@synod/types';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { colors, emit, kvTable } from '../output.js';
import { Node } from '../rpc.js';
import { broadcast, rejection, signTx, waitForCommit } from '../tx.js';
import { durationArg, integerArg, nodeUrl, parseAmount, parsePubKey } from '../values.js';
import { type KeyringOptions, keyringOptions, loadKey, openKeyring } from './keys.js';
import { addressOf, type NodeOptions, nodeOptions, txResultView } from './query.js';

interface TxOptions extends NodeOptions, KeyringOptions {
  from: string;
  fee?: string;
  nonce?: number;
  chainId?: string;
  memo?: string;
  wait?: boolean;
  timeout: number;
  generateOnly?: boolean;
}

function txOptions(cmd: Command): Command {
  return nodeOptions(
    keyringOptions(
      cmd
        .requiredOption('--from <key>', 'the key (in the keyring) that signs and pays')
        .option('--fee <amount>', "the fee in base units (default: the chain's minimum fee)")
        .option(
          '--nonce <n>',
          "the sender's nonce (default: the account's next nonce, asked of the node)",
          integerArg('--nonce', 0, 2 ** 53 - 1),
        )
        .option('--chain-id <id>', "the chain id (default: the node's)")
        .option('--memo <text>', 'a note carried by the transaction (at most 256 bytes)')
        .option('--wait', 'wait for the block that commits it and print the result')
        .option('--timeout <duration>', 'how long --wait waits (e.g. 30s)', durationArg('--timeout'), 30_000)
        .option('--generate-only', 'print the signed transaction (base64) instead of sending it'),
    ),
  );
}

async function run(
  o: TxOptions,
  msg: (from: KeyPair) => TxMsg | Promise<TxMsg>,
  amount?: bigint,
): Promise<void> {
  const ring = openKeyring(o);
  await ring.show(o.from); // UNKNOWN_KEY before anything else
  const fee = o.fee === undefined ? undefined : parseAmount(o.fee, '--fee', true);
  const memo = o.memo === undefined ? undefined : new TextEncoder().encode(o.memo);
  const offline = o.generateOnly && fee !== undefined && o.nonce !== undefined && o.chainId !== undefined;
  const node = offline ? undefined : new Node(nodeUrl(o.node));
  const key = await loadKey(ring, o.from);
  const sender = addressFromPublicKey(key.publicKey);
  let chainId = o.chainId;
  let minFee: bigint | undefined;
  let account: AccountView | undefined;
  if (node !== undefined) {
    const params = await node.query<ParamsView>('params');
    if (chainId !== undefined && chainId !== params.chainId)
      throw new CliError(
        'USAGE',
        `--chain-id ${chainId}: the node at ${node.url} is on chain ${params.chainId}`,
      );
    chainId = params.chainId;
    minFee = BigInt(params.minFee);
    account = await node.query<AccountView>('account', sender);
  }
  const payFee = fee ?? minFee ?? 0n;
  const nonce = o.nonce ?? account?.nonce ?? 0;
  if (account !== undefined) {
    const balance = BigInt(account.balance);
    const need = payFee + (amount ?? 0n);
    if (balance < need && !o.generateOnly)
      throw new CliError(
        'INSUFFICIENT_FUNDS',
        `insufficient funds: account ${toHex(sender)} has ${balance}, the transaction needs ${need} (${amount === undefined ? '' : `amount ${amount} + `}fee ${payFee})`,
      );
    if (nonce > account.nonce && !o.generateOnly)
      process.stderr.write(
        `${colors.yellow('warning')}: nonce ${nonce} is ahead of the account's next nonce ${account.nonce}: the transaction waits in the mempool until the nonces before it are used\n`,
      );
  }
  const tx = signTx(key, {
    chainId: chainId as string,
    nonce,
    fee: payFee,
    msg: await msg(key),
    ...(memo ? { memo } : {}),
  });
  const hashHex = toHex(tx.hash).toUpperCase();
  if (o.generateOnly) {
    const b64 = Buffer.from(tx.bytes).toString('base64');
    if (o.output === 'json')
      emit('json', { tx: b64, hash: hashHex, chainId, nonce, fee: payFee.toString() }, () => '');
    else process.stdout.write(`${b64}\n`);
    return;
  }
  const n = node as Node;
  const { log } = await broadcast(n, tx.bytes);
  if (!o.wait) {
    const v = { hash: hashHex, code: 0, log, nonce, fee: payFee.toString(), status: 'in the mempool' };
    emit(o.output, v, () => kvTable(Object.entries(v)));
    return;
  }
  const c = await waitForCommit(n, tx.hash, o.timeout);
  const v = txResultView(c.hash, c.height, c.index, c.result, c.tx);
  emit(o.output, v, () => kvTable(Object.entries(v)));
  if (c.result.code !== 0) throw rejection(c.result.code, c.result.codespace, c.result.log, true);
}

export function registerTx(program: Command): void {
  const tx = program
    .command('tx')
    .description("sign and submit the ledger's transactions (transfer, bond, unbond, unjail)")
    .addHelpText(
      'after',
      '\nExamples:\n  synod tx send 8b9b56061a837c0f9dc6463ad72cb491c6e96749 1000 --from alice --wait\n  synod tx bond <validator pubkey> 2000000 --from operator',
    );

  txOptions(
    tx
      .command('send <to> <amount>')
      .description('transfer <amount> base units to <to> (an address, or the name of a key in the keyring)')
      .addHelpText(
        'after',
        '\nExamples:\n  synod tx send 8b9b56061a837c0f9dc6463ad72cb491c6e96749 1000 --from alice --wait\n  synod tx send bob 25000 --from alice --fee 2000 --generate-only',
      ),
  ).action(async (to: string, amountText: string, o: TxOptions) => {
    const amount = parseAmount(amountText);
    const toAddress = await addressOf(to, o, 'recipient');
    await run(o, () => ({ kind: 'transfer', to: toAddress, amount }), amount);
  });

  txOptions(
    tx
      .command('bond <validator-pubkey> <amount>')
      .description(
        "bond <amount> to a validator key (64 hex or base64, `synodd show-validator`'s value); the first bond creates the validator, operated by --from",
      )
      .addHelpText(
        'after',
        '\nExample:\n  synod tx bond $(synodd show-validator | jq -r .value) 2000000 --from operator --wait',
      ),
  ).action(async (pk: string, amountText: string, o: TxOptions) => {
    const validatorPubKey = parsePubKey(pk);
    const amount = parseAmount(amountText);
    await run(o, () => ({ kind: 'bond', validatorPubKey, amount }), amount);
  });

  txOptions(
    tx
      .command('unbond <validator-pubkey> <amount>')
      .description(
        "unbond <amount> of a validator's stake (operator only; released after the unbonding period)",
      )
      .addHelpText(
        'after',
        '\nExample:\n  synod tx unbond <validator pubkey> 1000000 --from operator --wait',
      ),
  ).action(async (pk: string, amountText: string, o: TxOptions) => {
    const validatorPubKey = parsePubKey(pk);
    const amount = parseAmount(amountText);
    await run(o, () => ({ kind: 'unbond', validatorPubKey, amount }));
  });

  txOptions(
    tx
      .command('unjail <validator-pubkey>')
      .description('bring a jailed validator back (operator only, after its jail time)')
      .addHelpText('after', '\nExample:\n  synod tx unjail <validator pubkey> --from operator --wait'),
  ).action(async (pk: string, o: TxOptions) => {
    const validatorPubKey = parsePubKey(pk);
    await run(o, () => ({ kind: 'unjail', validatorPubKey }));
  });
}
