/**
 * `synod query status|account|validators|validator|block|tx|params|signing-info`:
 * the node's RPC (cosmjs' Comet38Client) and the ledger's queries (abci_query).
 */
import { addressFromPublicKey, toHex } from '@synod/crypto';
import type {
  AccountView,
  ParamsView,
  SigningInfoView,
  ValidatorSetView,
  ValidatorView,
} from '@synod/ledger';
import { decodeTx, type Tx, txHash } from '@synod/types';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { emit, kvTable, type OutputFormat, parseOutput, table } from '../output.js';
import { Node } from '../rpc.js';
import { integerArg, nodeUrl, parseAddress, parsePubKey } from '../values.js';
import { type KeyringOptions, keyringOptions, openKeyring } from './keys.js';

const hex = (b: Uint8Array): string => toHex(b).toUpperCase();

export interface NodeOptions {
  node?: string;
  output: OutputFormat;
}

/** Adds --node and --output to a command. */
export function nodeOptions(cmd: Command): Command {
  return cmd
    .option('--node <url>', "the node's RPC (default $SYNOD_NODE or http://127.0.0.1:26657; tcp:// accepted)")
    .option('-o, --output <format>', 'text or json', parseOutput, 'text');
}

/** An address, or the name of a key in the keyring. */
export async function addressOf(
  text: string,
  o: Partial<KeyringOptions>,
  what = 'address',
): Promise<Uint8Array> {
  const t = text.startsWith('0x') ? text.slice(2) : text;
  if (/^[0-9a-fA-F]{40}$/.test(t)) return parseAddress(text, what);
  try {
    const info = await openKeyring(o).show(text);
    return parseAddress(info.address);
  } catch (err) {
    if (err instanceof CliError && (err.code === 'UNKNOWN_KEY' || err.code === 'USAGE'))
      throw new CliError(
        'BAD_ADDRESS',
        `${what} ${JSON.stringify(text)}: neither 40 hex characters (a 20-byte address) nor the name of a key in the keyring`,
      );
    throw err;
  }
}

/** A validator: its public key (hex or base64) or its address (40 hex). */
function validatorRef(text: string): Uint8Array {
  const t = text.startsWith('0x') ? text.slice(2) : text;
  if (/^[0-9a-fA-F]{40}$/.test(t)) return parseAddress(text, 'validator address');
  try {
    return parsePubKey(text);
  } catch {
    throw new CliError(
      'BAD_PUBKEY',
      `validator ${JSON.stringify(text)}: expected a public key (64 hex characters or base64) or an address (40 hex characters)`,
    );
  }
}

function msgSummary(tx: Tx): Record<string, string> {
  const m = tx.body.msg;
  switch (m.kind) {
    case 'transfer':
      return { kind: 'transfer', to: toHex(m.to), amount: m.amount.toString() };
    case 'bond':
    case 'unbond':
      return { kind: m.kind, validator: toHex(m.validatorPubKey), amount: m.amount.toString() };
    case 'unjail':
      return { kind: 'unjail', validator: toHex(m.validatorPubKey) };
  }
}

/** What a transaction says (decoded with @synod/types), for display. */
export function describeTx(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const tx = decodeTx(bytes);
    return {
      chainId: tx.body.chainId,
      sender: toHex(addressFromPublicKey(tx.body.sender)),
      nonce: tx.body.nonce,
      fee: tx.body.fee.toString(),
      gasLimit: tx.body.gasLimit,
      ...msgSummary(tx),
      memo: new TextDecoder().decode(tx.body.memo),
    };
  } catch {
    return undefined;
  }
}

export function registerQuery(program: Command): void {
  const q = program
    .command('query')
    .alias('q')
    .description("read the chain: the node's status, blocks, transactions, and the ledger's state")
    .addHelpText(
      'after',
      '\nExamples:\n  synod query status\n  synod query account 54a431705dc914274fd768c1bb68ca9c844dac7d\n  synod query block 12 --output json',
    );

  nodeOptions(
    q
      .command('status')
      .description("the node's chain, height, latest block and validator")
      .addHelpText('after', '\nExample:\n  synod query status --node http://127.0.0.1:26657'),
  ).action(async (o: NodeOptions) => {
    const node = new Node(nodeUrl(o.node));
    const s = await node.call('status', (c) => c.status());
    const v = {
      chainId: s.nodeInfo.network,
      moniker: s.nodeInfo.moniker,
      nodeId: toHex(s.nodeInfo.id),
      version: s.nodeInfo.version,
      latestBlockHeight: s.syncInfo.latestBlockHeight,
      latestBlockHash: hex(s.syncInfo.latestBlockHash),
      latestBlockTime: s.syncInfo.latestBlockTime.toISOString(),
      latestAppHash: hex(s.syncInfo.latestAppHash),
      earliestBlockHeight: s.syncInfo.earliestBlockHeight ?? 0,
      catchingUp: s.syncInfo.catchingUp,
      validatorAddress: hex(s.validatorInfo.address),
      votingPower: s.validatorInfo.votingPower.toString(),
    };
    emit(o.output, v, () => kvTable(Object.entries(v)));
  });

  nodeOptions(
    keyringOptions(
      q
        .command('account <address-or-key>')
        .description("an account's balance and next nonce (an address, or the name of a key in the keyring)")
        .option(
          '--height <h>',
          'at this height (default: the latest)',
          integerArg('--height', 0, 2 ** 53 - 1),
        )
        .addHelpText(
          'after',
          '\nExamples:\n  synod query account 54a431705dc914274fd768c1bb68ca9c844dac7d\n  synod query account alice',
        ),
    ),
  ).action(async (who: string, o: NodeOptions & KeyringOptions & { height?: number }) => {
    const address = await addressOf(who, o);
    const node = new Node(nodeUrl(o.node));
    const a = await node.query<AccountView>('account', address, o.height);
    emit(o.output, a, () =>
      kvTable([
        ['address', a.address],
        ['balance', a.balance],
        ['nonce', a.nonce],
      ]),
    );
  });

  nodeOptions(
    q
      .command('validators')
      .description('the validator set the ledger decided at a height (in force two heights later)')
      .option('--height <h>', 'at this height (default: the latest)', integerArg('--height', 0, 2 ** 53 - 1))
      .addHelpText('after', '\nExample:\n  synod query validators --output json'),
  ).action(async (o: NodeOptions & { height?: number }) => {
    const node = new Node(nodeUrl(o.node));
    const set = await node.query<ValidatorSetView>('validators', new Uint8Array(), o.height);
    emit(o.output, set, () =>
      [
        `decided at height ${set.height}, in force from ${set.effectiveHeight}; total power ${set.totalPower}`,
        table(
          ['address', 'public key', 'power'],
          set.validators.map((v) => [v.address, v.pubKey, v.power]),
        ),
      ].join('\n'),
    );
  });

  nodeOptions(
    q
      .command('validator <pubkey-or-address>')
      .description("a validator's record: operator, bonded stake, power, jail status")
      .option('--height <h>', 'at this height (default: the latest)', integerArg('--height', 0, 2 ** 53 - 1))
      .addHelpText(
        'after',
        '\nExample:\n  synod query validator 8c1f…e2 (64 hex), or its base64, or its 40-hex address',
      ),
  ).action(async (ref: string, o: NodeOptions & { height?: number }) => {
    const node = new Node(nodeUrl(o.node));
    const v = await node.query<ValidatorView>('validator', validatorRef(ref), o.height);
    emit(o.output, v, () => kvTable(Object.entries(v)));
  });

  nodeOptions(
    q
      .command('signing-info <pubkey-or-address>')
      .description("a validator's downtime window, jail status and punishments")
      .option('--height <h>', 'at this height (default: the latest)', integerArg('--height', 0, 2 ** 53 - 1))
      .addHelpText(
        'after',
        '\nExample:\n  synod query signing-info 54a431705dc914274fd768c1bb68ca9c844dac7d',
      ),
  ).action(async (ref: string, o: NodeOptions & { height?: number }) => {
    const node = new Node(nodeUrl(o.node));
    const v = await node.query<SigningInfoView>('slashing/signing-info', validatorRef(ref), o.height);
    emit(o.output, v, () => kvTable(Object.entries(v)));
  });

  nodeOptions(
    q
      .command('params')
      .description("the chain's parameters: chain id, minimum fee, transaction size, consensus parameters")
      .addHelpText('after', '\nExample:\n  synod query params --output json'),
  ).action(async (o: NodeOptions) => {
    const node = new Node(nodeUrl(o.node));
    const p = await node.query<ParamsView>('params');
    emit(o.output, p, () =>
      kvTable([
        ['chain id', p.chainId],
        ['min fee', p.minFee],
        ['max tx bytes', p.maxTxBytes],
        ['initial height', p.initialHeight],
        ['power reduction', p.powerReduction],
        ...Object.entries(p.consensusParams as unknown as Record<string, unknown>).map(
          ([k, v]) => [`consensus.${k}`, v] as const,
        ),
      ]),
    );
  });

  nodeOptions(
    q
      .command('block [height]')
      .description('a block (default: the latest): header, transactions, commit')
      .addHelpText('after', '\nExamples:\n  synod query block\n  synod query block 42 --output json'),
  ).action(async (h: string | undefined, o: NodeOptions) => {
    const height = h === undefined ? undefined : integerArg('height', 1, 2 ** 53 - 1)(h);
    const node = new Node(nodeUrl(o.node));
    const { block, blockId } = await node.call('block', (c) => c.block(height));
    const v = {
      height: block.header.height,
      hash: hex(blockId.hash),
      time: block.header.time.toISOString(),
      chainId: block.header.chainId,
      proposer: hex(block.header.proposerAddress),
      appHash: hex(block.header.appHash),
      lastBlockHash: block.header.lastBlockId === null ? '' : hex(block.header.lastBlockId.hash),
      lastCommitSignatures: block.lastCommit?.signatures.filter((s) => s.signature !== undefined).length ?? 0,
      evidence: block.evidence.length,
      txs: block.txs.map((t): Record<string, unknown> => ({ hash: hex(txHash(t)), ...describeTx(t) })),
    };
    emit(o.output, v, () =>
      [
        kvTable(Object.entries(v).filter(([k]) => k !== 'txs')),
        v.txs.length === 0
          ? 'no transactions'
          : table(
              ['tx hash', 'kind', 'sender', 'nonce', 'fee'],
              v.txs.map((t) => [t.hash, t.kind, t.sender, t.nonce, t.fee]),
            ),
      ].join('\n'),
    );
  });

  nodeOptions(
    q
      .command('tx <hash>')
      .description('a committed transaction by hash (hex): its block, result, events and content')
      .addHelpText('after', '\nExample:\n  synod query tx 5F2C…9A (64 hex characters)'),
  ).action(async (hash: string, o: NodeOptions) => {
    const t = hash.startsWith('0x') ? hash.slice(2) : hash;
    if (!/^[0-9a-fA-F]{64}$/.test(t))
      throw new CliError('USAGE', `transaction hash ${JSON.stringify(hash)}: expected 64 hex characters`);
    const node = new Node(nodeUrl(o.node));
    const r = await node.call('tx', (c) => c.tx({ hash: Buffer.from(t, 'hex') }));
    const v = txResultView(r.hash, r.height, r.index, r.result, r.tx);
    emit(o.output, v, () => kvTable(Object.entries(v)));
  });
}

/** A transaction's result for display. */
export function txResultView(
  hash: Uint8Array,
  height: number,
  index: number,
  result: {
    code: number;
    codespace?: string;
    log?: string;
    gasWanted: bigint;
    gasUsed: bigint;
    events: readonly { type: string; attributes: readonly { key: string; value: string }[] }[];
  },
  tx: Uint8Array,
): Record<string, unknown> {
  return {
    hash: hex(hash),
    height,
    index,
    code: result.code,
    result: result.code === 0 ? 'OK' : (result.codespace ?? ''),
    log: result.log ?? '',
    gasWanted: result.gasWanted.toString(),
    gasUsed: result.gasUsed.toString(),
    ...describeTx(tx),
    events: result.events.map(
      (e) => `${e.type}(${e.attributes.map((a) => `${a.key}=${a.value}`).join(', ')})`,
    ),
  };
}
