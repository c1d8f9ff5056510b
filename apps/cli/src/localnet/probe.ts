/**
 * Samples a node for the live view: one JSON-RPC batch (status,
 * consensus_state, net_info, num_unconfirmed_txs) per node and tick, and
 * the chain's new blocks (`blockchain`: height, time, transaction count).
 * A method the node does not serve leaves its fields out; no answer at all
 * is "unreachable".
 */
import type { Observation, RpcSample } from './model.js';

interface Envelope {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: unknown;
}

type Json = Record<string, unknown>;

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
};

async function post(url: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return res.json();
}

/** Parses the batch's answers into a sample (undefined when status did not answer). */
export function sampleFromBatch(answers: readonly Envelope[]): RpcSample | undefined {
  const by = new Map(answers.map((a) => [a.id, a.result as Json | undefined]));
  const status = by.get(1);
  const sync = status?.sync_info as Json | undefined;
  const height = num(sync?.latest_block_height);
  if (status === undefined || sync === undefined || height === undefined) return undefined;
  const blockTimeMs = Date.parse(String(sync.latest_block_time));
  const rs = (by.get(2)?.round_state as Json | undefined)?.['height/round/step'];
  const [, round, step] = typeof rs === 'string' ? rs.split('/').map(Number) : [];
  const peers = num(by.get(3)?.n_peers);
  const mempool = num(by.get(4)?.total);
  return {
    height,
    blockTimeMs: Number.isFinite(blockTimeMs) ? blockTimeMs : 0,
    catchingUp: sync.catching_up === true,
    votingPower: num((status.validator_info as Json | undefined)?.voting_power) ?? 0,
    ...(round !== undefined && Number.isFinite(round) ? { round } : {}),
    ...(step !== undefined && Number.isFinite(step) ? { step } : {}),
    ...(peers === undefined ? {} : { peers }),
    ...(mempool === undefined ? {} : { mempool }),
  };
}

/** One sample of a node's RPC; undefined when it does not answer in time. */
export async function probeNode(url: string, timeoutMs = 1000): Promise<RpcSample | undefined> {
  const batch = ['status', 'consensus_state', 'net_info', 'num_unconfirmed_txs'].map((method, i) => ({
    jsonrpc: '2.0',
    id: i + 1,
    method,
    params: {},
  }));
  try {
    const answers = await post(url, batch, timeoutMs);
    if (Array.isArray(answers)) return sampleFromBatch(answers as Envelope[]);
    // a server without batches: status alone
    const one = (await post(
      url,
      { jsonrpc: '2.0', id: 1, method: 'status', params: {} },
      timeoutMs,
    )) as Envelope;
    return sampleFromBatch([one]);
  } catch {
    return undefined;
  }
}

/** Blocks (height, time, transactions) in [from, to] (at most 20, `blockchain`'s page). */
export async function fetchBlocks(
  url: string,
  from: number,
  to: number,
  timeoutMs = 2000,
): Promise<Observation[]> {
  if (to < from) return [];
  try {
    const r = (await post(
      url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'blockchain',
        params: { minHeight: String(from), maxHeight: String(to) },
      },
      timeoutMs,
    )) as Envelope;
    const metas = ((r.result as Json | undefined)?.block_metas ?? []) as Json[];
    const out: Observation[] = [];
    for (const m of metas) {
      const header = m.header as Json | undefined;
      const height = num(header?.height);
      const timeMs = Date.parse(String(header?.time));
      if (height === undefined || !Number.isFinite(timeMs)) continue;
      out.push({ kind: 'block', height, timeMs, txs: num(m.num_txs) ?? 0 });
    }
    return out.sort((a, b) => (a as { height: number }).height - (b as { height: number }).height);
  } catch {
    return [];
  }
}
