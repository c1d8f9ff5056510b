/**
 * The load generator: signed transfers between funded accounts at a steady
 * rate over the nodes' RPC (`broadcast_tx_sync`; each account's
 * transactions go to one node, the accounts spread round-robin over the
 * nodes; the transactions due for one node in a tick go as JSON-RPC batches
 * of up to `batch`, one HTTP request each, so that neither the client nor
 * the node pays an HTTP exchange per transaction), each commit seen in a NewBlock event of a WebSocket subscription
 * (latency = the event's arrival − the submission). After the run, blocks
 * the subscription did not deliver are read, so the committed count does
 * not depend on the WebSocket.
 *
 * Each account keeps its nonces in order: the next one, or one handed back
 * by a refused transaction (so a refusal never leaves a gap that stalls the
 * account's later transactions in the mempool), and at most
 * MAX_PENDING_PER_ACCOUNT in flight (the ledger accepts nonces up to 64
 * ahead of the committed one).
 */

import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { addressFromPublicKey, type KeyPair, toHex } from '@synod/crypto';
import type { AccountView, ParamsView } from '@synod/ledger';
import { txHash } from '@synod/types';
import { CliError } from '../errors.js';
import { Node } from '../rpc.js';
import { signTx } from '../tx.js';
import { type LoadReport, latencySummary, machine } from './report.js';

export const MAX_PENDING_PER_ACCOUNT = 48;
/** Requests per JSON-RPC batch by default: the RPC's default `max_request_batch_size` (CometBFT's). */
export const DEFAULT_BATCH = 10;
const MAX_IN_FLIGHT = 512;
/** Submission tick: what is due goes out every 20 ms (at 1,000 tx/s, 20 transactions: batches of several per node). */
const TICK_MS = 20;

export interface LoadOptions {
  readonly rate: number;
  readonly durationMs: number;
  readonly keys: readonly KeyPair[];
  readonly nodes: readonly string[];
  /** How long to wait after the last submission for pending transactions to commit. */
  readonly drainMs: number;
  /** Transactions per HTTP request (a JSON-RPC batch; 1: one request each). @default DEFAULT_BATCH */
  readonly batch?: number;
  readonly amount?: bigint;
  readonly onProgress?: (p: LoadProgress) => void;
}

export interface LoadProgress {
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly target: number;
  readonly submitted: number;
  readonly accepted: number;
  readonly committed: number;
  readonly pending: number;
  readonly errors: number;
  readonly submitTxPerSec: number;
  readonly draining: boolean;
}

interface Account {
  readonly key: KeyPair;
  next: number;
  /** Nonces handed back by refused transactions, reused first (lowest first). */
  free: number[];
  pending: number;
}

interface Pending {
  readonly submitMono: number;
  readonly submitWall: number;
  readonly account: Account;
  readonly nonce: number;
}

function wsUrl(http: string): string {
  return http.replace(/^http/, 'ws');
}

interface RpcReply {
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { message: string; data?: string };
}

async function postJson(url: string, body: unknown): Promise<RpcReply | RpcReply[]> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return (await res.json()) as RpcReply | RpcReply[];
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  if (o.nodes.length === 0) throw new CliError('USAGE', 'no node to send to (--node URL)');
  if (o.keys.length < 2) throw new CliError('USAGE', 'at least 2 funded accounts are needed (--accounts)');
  const main = new Node(o.nodes[0] as string);
  const params = await main.query<ParamsView>('params');
  const fee = BigInt(params.minFee);
  const accounts: Account[] = [];
  for (const key of o.keys) {
    const a = await main.query<AccountView>('account', addressFromPublicKey(key.publicKey));
    if (BigInt(a.balance) < fee * 10_000n)
      throw new CliError(
        'INSUFFICIENT_FUNDS',
        `account ${a.address} holds ${a.balance}: not a funded testnet account`,
      );
    accounts.push({ key, next: a.nonce, free: [], pending: 0 });
  }
  const recipients = o.keys.map((k) => addressFromPublicKey(k.publicKey));

  const pending = new Map<string, Pending>();
  const latencies: number[] = [];
  const rejections: Record<string, number> = {};
  const failedInBlock: Record<string, number> = {};
  let submitted = 0;
  let requests = 0;
  let accepted = 0;
  let committed = 0;
  let byEvents = 0;
  let byBlocks = 0;
  let unanswered = 0;
  let lastCommitMono = 0;
  const count = (r: Record<string, number>, k: string): void => {
    r[k] = (r[k] ?? 0) + 1;
  };
  const settle = (hash: string, p: Pending, atMono: number): void => {
    pending.delete(hash);
    p.account.pending--;
    committed++;
    latencies.push(Math.max(0, atMono - p.submitMono));
    lastCommitMono = Math.max(lastCommitMono, atMono);
  };

  // Commits, from the first node's WebSocket: one NewBlock event per block (its transactions), so a block
  // of many transactions is one message (per-transaction Tx events would overflow the RPC's buffer for a
  // slow client and be dropped). Failures' codes come from block_results of the blocks holding ours.
  let ws: Comet38Client;
  try {
    ws = await Comet38Client.connect(wsUrl(o.nodes[0] as string));
  } catch (err) {
    throw new CliError(
      'NODE_UNREACHABLE',
      `cannot open a WebSocket to ${wsUrl(o.nodes[0] as string)}/websocket (${(err as Error).message})`,
    );
  }
  let wsError: unknown;
  const seenHeights = new Set<number>();
  const resultFetches: Promise<void>[] = [];
  const onBlock = (
    height: number,
    txs: readonly Uint8Array[],
    arrivalMono: (p: Pending) => number,
    how: 'events' | 'blocks',
  ): void => {
    seenHeights.add(height);
    const mine: { hash: string; index: number }[] = [];
    txs.forEach((t, index) => {
      const hash = toHex(txHash(t));
      if (pending.has(hash)) mine.push({ hash, index });
    });
    if (mine.length === 0) return;
    for (const { hash } of mine) {
      const p = pending.get(hash) as Pending;
      if (how === 'events') byEvents++;
      else byBlocks++;
      settle(hash, p, arrivalMono(p));
    }
    resultFetches.push(
      main
        .call('block_results', (c) => c.blockResults(height))
        .then((r) => {
          for (const { index } of mine) {
            const res = r.results[index];
            if (res !== undefined && res.code !== 0)
              count(failedInBlock, res.codespace || `code ${res.code}`);
          }
        })
        .catch(() => {
          count(failedInBlock, 'unknown (block_results unavailable)');
        }),
    );
  };
  const blockSub = ws.subscribeNewBlock().subscribe({
    next: (b) => {
      const now = performance.now();
      onBlock(b.header.height, b.txs, () => now, 'events');
    },
    error: (err) => {
      wsError = err;
    },
  });
  // The subscriptions are live once the first header arrives.
  let firstHeight = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError('TIMEOUT', `no block from ${o.nodes[0]} within 15 s: is the chain running?`)),
      15_000,
    );
    const sub = ws.subscribeNewBlockHeader().subscribe({
      next: (h) => {
        firstHeight = h.height;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve();
      },
      error: (err) => {
        clearTimeout(timer);
        reject(new CliError('RPC_ERROR', `NewBlockHeader subscription: ${(err as Error).message}`));
      },
    });
  });

  const total = Math.floor((o.rate * o.durationMs) / 1000);
  const batch = Math.max(1, Math.floor(o.batch ?? DEFAULT_BATCH));
  let inFlight = 0;
  let rr = 0;
  const t0 = performance.now();
  const pickAccount = (): Account | undefined => {
    for (let k = 0; k < accounts.length; k++) {
      const a = accounts[(rr + k) % accounts.length] as Account;
      if (a.pending < MAX_PENDING_PER_ACCOUNT) {
        rr = (rr + k + 1) % accounts.length;
        return a;
      }
    }
    return undefined;
  };
  /** One signed transaction on its way: counted as submitted and pending until its answer or commit. */
  interface Submission {
    readonly id: number;
    readonly node: string;
    readonly tx: string;
    readonly answer: (r: RpcReply | undefined) => void;
  }
  const prepare = (a: Account, i: number): Submission => {
    a.free.sort((x, y) => x - y);
    const nonce = a.free.shift() ?? a.next++;
    const to = recipients[(accounts.indexOf(a) + 1) % recipients.length] as Uint8Array;
    const tx = signTx(a.key, {
      chainId: params.chainId,
      nonce,
      fee,
      msg: { kind: 'transfer', to, amount: o.amount ?? 1n },
    });
    const hash = toHex(txHash(tx.bytes));
    // an account's transactions all go to one node, so its mempool holds them in nonce order
    const node = o.nodes[accounts.indexOf(a) % o.nodes.length] as string;
    pending.set(hash, { submitMono: performance.now(), submitWall: Date.now(), account: a, nonce });
    a.pending++;
    submitted++;
    inFlight++;
    const refuse = (code: string, reuse: boolean): void => {
      if (!pending.delete(hash)) return;
      a.pending--;
      if (reuse) a.free.push(nonce);
      count(rejections, code);
    };
    const answer = (r: RpcReply | undefined): void => {
      inFlight--;
      if (r === undefined) {
        // No answer (a timeout, a connection lost): the node may have taken it, so it stays pending and its
        // nonce is not used again (the same bytes again would only be a duplicate).
        unanswered++;
        return;
      }
      if (r.error !== undefined) {
        const why = `${r.error.data ?? r.error.message}`;
        // the same bytes are in the mempool (or its cache) already: as good as accepted
        if (/cache|exists/i.test(why)) {
          accepted++;
          return;
        }
        refuse(/full/i.test(why) ? 'MEMPOOL_FULL' : `RPC: ${why.slice(0, 60)}`, true);
        return;
      }
      const code = Number(r.result?.code ?? 0);
      if (code === 0) accepted++;
      else {
        const name = String(r.result?.codespace ?? `code ${code}`);
        refuse(name, name !== 'TX_BAD_NONCE');
      }
    };
    return { id: i, node, tx: Buffer.from(tx.bytes).toString('base64'), answer };
  };
  /** Sends submissions to their node: one JSON-RPC batch of up to `batch` per HTTP request (a lone one as a plain request). */
  const send = (subs: readonly Submission[]): void => {
    const byNode = new Map<string, Submission[]>();
    for (const s of subs) {
      const list = byNode.get(s.node) ?? [];
      list.push(s);
      byNode.set(s.node, list);
    }
    for (const [node, list] of byNode)
      for (let k = 0; k < list.length; k += batch) {
        const chunk = list.slice(k, k + batch);
        const body = chunk.map((s) => ({
          jsonrpc: '2.0',
          id: s.id,
          method: 'broadcast_tx_sync',
          params: { tx: s.tx },
        }));
        requests++;
        postJson(node, body.length === 1 ? body[0] : body)
          .then((reply) => {
            if (Array.isArray(reply)) {
              // a batch's answers, matched by id (one missing: no answer for it)
              const byId = new Map(reply.map((r) => [r.id, r]));
              for (const s of chunk) s.answer(byId.get(s.id));
            } else {
              // the lone request's answer, or one error refusing the whole batch
              for (const s of chunk) s.answer(reply);
            }
          })
          .catch(() => {
            for (const s of chunk) s.answer(undefined);
          });
      }
  };

  const progress = (draining: boolean): LoadProgress => {
    const elapsedMs = performance.now() - t0;
    return {
      elapsedMs,
      durationMs: o.durationMs,
      target: total,
      submitted,
      accepted,
      committed,
      pending: pending.size,
      errors: Object.values(rejections).reduce((x, y) => x + y, 0),
      submitTxPerSec: (submitted * 1000) / Math.max(1, Math.min(elapsedMs, o.durationMs)),
      draining,
    };
  };
  let lastProgress = 0;
  const report = (draining: boolean): void => {
    if (o.onProgress !== undefined && performance.now() - lastProgress >= 200) {
      lastProgress = performance.now();
      o.onProgress(progress(draining));
    }
  };

  // Submission: as many as are due by now, every tick.
  while (submitted < total && performance.now() - t0 < o.durationMs) {
    const due = Math.min(total, Math.floor((o.rate * (performance.now() - t0)) / 1000));
    const dueNow: Submission[] = [];
    while (submitted < due && inFlight < MAX_IN_FLIGHT) {
      const a = pickAccount();
      if (a === undefined) break;
      dueNow.push(prepare(a, submitted));
    }
    send(dueNow);
    if (wsError !== undefined) break;
    report(false);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const submitEnd = performance.now();
  // Drain: answers still in flight, then commits still pending.
  const drainEnd = performance.now() + o.drainMs;
  while ((inFlight > 0 || pending.size > 0) && performance.now() < drainEnd && wsError === undefined) {
    // A nonce handed back after the last submission leaves a gap its account's later transactions wait
    // behind: fill it.
    const refills: Submission[] = [];
    for (const a of accounts)
      if (a.free.length > 0 && a.pending > 0 && inFlight < MAX_IN_FLIGHT) refills.push(prepare(a, submitted));
    send(refills);
    report(true);
    await new Promise((r) => setTimeout(r, 50));
  }
  blockSub.unsubscribe();
  ws.disconnect();

  // Commits whose event the client missed: look in the blocks.
  let lastHeight = firstHeight;
  try {
    lastHeight = (await main.call('status', (c) => c.status())).syncInfo.latestBlockHeight;
  } catch {
    // keep what we have
  }
  for (let h = firstHeight; h <= lastHeight && pending.size > 0; h++) {
    if (seenHeights.has(h)) continue;
    const { block } = await main.call('block', (c) => c.block(h));
    // the event never came: the latency runs to the block's time
    const blockWall = block.header.time.getTime();
    onBlock(h, block.txs, (p) => p.submitMono + (blockWall - p.submitWall), 'blocks');
  }
  await Promise.all(resultFetches);
  if (wsError !== undefined && committed === 0)
    throw new CliError(
      'RPC_ERROR',
      `the NewBlock subscription failed: ${(wsError as Error).message ?? String(wsError)}`,
    );

  const submitPeriod = Math.max(1, submitEnd - t0);
  const commitSpan = Math.max(1, lastCommitMono - t0);
  return {
    rate: o.rate,
    durationMs: o.durationMs,
    accounts: accounts.length,
    nodes: o.nodes,
    submitted,
    requests,
    accepted,
    committed,
    committedPct: submitted === 0 ? 0 : (committed * 100) / submitted,
    submitTxPerSec: (submitted * 1000) / submitPeriod,
    committedTxPerSec: committed === 0 ? 0 : (committed * 1000) / commitSpan,
    latencyMs: latencySummary(latencies),
    rejections,
    failedInBlock,
    pendingAtEnd: pending.size,
    unanswered,
    seenBy: { events: byEvents, blocks: byBlocks },
    blocks: { first: firstHeight, last: lastHeight },
    machine: machine(),
  };
}
