/**
 * Building, signing and submitting the ledger's transactions: @synod/types'
 * encodeTx / txSignBytes, @synod/crypto's sign, the gas the ledger will
 * charge (@synod/ledger's gasRequired over the encoded size), and the
 * node's answer turned into a result or a one-line CliError.
 */
import { type KeyPair, sign } from '@synod/crypto';
import { gasRequired } from '@synod/ledger';
import { encodeTx, type TxBody, type TxMsg, txHash, txSignBytes } from '@synod/types';
import { CliError } from './errors.js';
import type { Node } from './rpc.js';

export interface SignedTx {
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly body: TxBody;
}

const ZERO_SIGNATURE = new Uint8Array(64);

/**
 * Signs `msg` from `key`. The gas limit is exactly what the ledger charges
 * (`gasRequired` over the encoded size, which does not depend on the gas
 * limit's value: SSZ's fields are fixed-size).
 */
export function signTx(
  key: KeyPair,
  o: { chainId: string; nonce: number; fee: bigint; msg: TxMsg; memo?: Uint8Array },
): SignedTx {
  const draft: TxBody = {
    chainId: o.chainId,
    sender: key.publicKey,
    nonce: o.nonce,
    fee: o.fee,
    gasLimit: 0,
    msg: o.msg,
    memo: o.memo ?? new Uint8Array(0),
  };
  const size = encodeTx({ body: draft, signature: ZERO_SIGNATURE }).length;
  const body: TxBody = { ...draft, gasLimit: gasRequired(o.msg, size) };
  const bytes = encodeTx({ body, signature: sign(key, txSignBytes(o.chainId, body)) });
  return { bytes, hash: txHash(bytes), body };
}

/** The CliError for a transaction the node refused or that failed in its block. */
export function rejection(
  code: number,
  codespace: string | undefined,
  log: string | undefined,
  inBlock = false,
): CliError {
  const name = codespace !== undefined && codespace !== '' ? codespace : `code ${code}`;
  const detail = `${name} (code ${code})${log ? `: ${log}` : ''}`;
  if (codespace === 'TX_INSUFFICIENT_FUNDS')
    return new CliError(
      'INSUFFICIENT_FUNDS',
      `insufficient funds${inBlock ? ' (fee charged)' : ''}: ${detail}`,
    );
  if (codespace === 'TX_BAD_NONCE') return new CliError('WRONG_NONCE', `wrong nonce: ${detail}`);
  if (codespace === 'NONCE_CONFLICT')
    return new CliError(
      'WRONG_NONCE',
      `wrong nonce: ${detail} (another transaction of this account with this nonce is pending: --nonce the next one)`,
    );
  return new CliError(
    inBlock ? 'TX_FAILED' : 'TX_REJECTED',
    `${inBlock ? 'transaction failed in its block' : 'transaction rejected'}: ${detail}`,
  );
}

/** `broadcast_tx_sync`: resolves when the node's mempool took it; throws the rejection otherwise. */
export async function broadcast(node: Node, tx: Uint8Array): Promise<{ log: string }> {
  let r: Awaited<ReturnType<Node['client']['broadcastTxSync']>>;
  try {
    r = await node.call('broadcast_tx_sync', (c) => c.broadcastTxSync({ tx }));
  } catch (err) {
    // The mempool's own refusals (duplicate, full, too large) are JSON-RPC errors.
    if (err instanceof CliError && (err.code === 'RPC_ERROR' || err.code === 'NOT_FOUND'))
      throw new CliError(
        'TX_REJECTED',
        `transaction rejected by the mempool: ${err.message.replace(/^broadcast_tx_sync: /, '')}`,
      );
    throw err;
  }
  if (r.code !== 0) throw rejection(r.code, r.codespace, r.log);
  return { log: r.log ?? '' };
}

export interface CommittedTx {
  readonly height: number;
  readonly index: number;
  readonly result: Awaited<ReturnType<Node['client']['tx']>>['result'];
  readonly tx: Uint8Array;
  readonly hash: Uint8Array;
}

/** Polls `tx` by hash until the node has it committed, or TIMEOUT. */
export async function waitForCommit(
  node: Node,
  hash: Uint8Array,
  timeoutMs: number,
  pollMs = 200,
): Promise<CommittedTx> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await node.call('tx', (c) => c.tx({ hash }));
      return { height: r.height, index: r.index, result: r.result, tx: r.tx, hash: r.hash };
    } catch (err) {
      if (!(err instanceof CliError && err.code === 'NOT_FOUND')) throw err;
    }
    if (Date.now() >= deadline)
      throw new CliError(
        'TIMEOUT',
        `transaction ${Buffer.from(hash).toString('hex').toUpperCase()} not committed within ${Math.round(timeoutMs / 1000)} s (it may still be; \`synod query tx\` tells)`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
