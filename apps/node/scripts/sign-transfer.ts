/**
 * Prints a signed ledger transfer, for the RPC examples (`broadcast_tx_*`,
 * `check_tx`): the sender's key file (`synodd testnet --accounts` writes
 * them to DIR/keys/), the recipient's address or key file, the amount; the
 * chain id and the sender's next nonce are asked of the node's RPC unless
 * given. Hex for the URI form (`?tx=0x…`), or base64 for JSON-RPC.
 *
 *   pnpm --silent --filter @synod/node-daemon sign-transfer --key ./net/keys/account0.json --to ./net/keys/account1.json --amount 5
 *     [--nonce N] [--chain-id ID] [--fee N] [--rpc http://127.0.0.1:26657] [--base64]
 */
import { resolve } from 'node:path';
import { addressFromPublicKey, fromHex, readKeyFile, sign, toHex } from '@synod/crypto';
import { DEFAULT_MIN_FEE } from '@synod/ledger';
import { encodeTx, type TxBody, txSignBytes } from '@synod/types';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function fail(message: string): never {
  process.stderr.write(`sign-transfer: ${message}\n`);
  process.exit(1);
}

// pnpm runs package scripts in the package's folder: relative paths are the caller's.
const cwd = process.env.INIT_CWD ?? process.cwd();
const keyPath = option('key') ?? fail('--key FILE is required (a key file of synodd testnet --accounts)');
const to = option('to') ?? fail('--to ADDRESS|KEY_FILE is required');
const amount = BigInt(option('amount') ?? fail('--amount N is required'));
const rpcUrl = option('rpc') ?? 'http://127.0.0.1:26657';

async function rpc<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
  let body: { result?: T; error?: { data?: string; message: string } };
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    body = (await res.json()) as typeof body;
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    fail(`cannot ask the node at ${rpcUrl} (${cause}); is it running? --rpc URL picks another`);
  }
  if (body.result === undefined) fail(`${method}: ${body.error?.data ?? body.error?.message}`);
  return body.result;
}

try {
  const sender = (await readKeyFile(resolve(cwd, keyPath))).keyPair;
  const recipient = /^[0-9a-fA-F]{40}$/.test(to)
    ? fromHex(to.toLowerCase())
    : addressFromPublicKey((await readKeyFile(resolve(cwd, to))).keyPair.publicKey);
  const chainId =
    option('chain-id') ?? (await rpc<{ node_info: { network: string } }>('status')).node_info.network;
  let nonce = option('nonce') === undefined ? undefined : Number(option('nonce'));
  if (nonce === undefined) {
    const q = await rpc<{ response: { code: number; value: string; log: string } }>('abci_query', {
      path: 'account',
      data: toHex(addressFromPublicKey(sender.publicKey)),
    });
    if (q.response.code !== 0) fail(`abci_query account: ${q.response.log}`);
    nonce = (JSON.parse(Buffer.from(q.response.value, 'base64').toString('utf8')) as { nonce: number }).nonce;
  }
  const body: TxBody = {
    chainId,
    sender: sender.publicKey,
    nonce,
    fee: BigInt(option('fee') ?? DEFAULT_MIN_FEE),
    gasLimit: 10_000,
    msg: { kind: 'transfer', to: recipient, amount },
    memo: new Uint8Array(0),
  };
  const tx = encodeTx({ body, signature: sign(sender, txSignBytes(chainId, body)) });
  process.stdout.write(
    `${process.argv.includes('--base64') ? Buffer.from(tx).toString('base64') : `0x${toHex(tx).toUpperCase()}`}\n`,
  );
} catch (err) {
  fail((err as Error).message);
}
