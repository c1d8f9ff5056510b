/**
 * The methods of CometBFT 0.38's RPC (rpc/core/routes.go), with its
 * parameter names, result shapes and error messages, answered from a Synod
 * node. `subscribe`, `unsubscribe` and `unsubscribe_all` exist only over
 * WebSocket; `dial_seeds`, `dial_peers` and `unsafe_flush_mempool` only
 * with `[rpc] unsafe = true`.
 */
import { addressFromPublicKey, toHex } from '@synod/crypto';
import {
  decodeEvidence,
  type Evidence,
  evidenceHash,
  toJsonValue,
  txHash,
  validatorIndex,
} from '@synod/types';
import type { ChainReader } from './chain.js';
import { cometCode } from './codes.js';
import type { RpcComponents } from './components.js';
import type { ResolvedRpcInit } from './config.js';
import {
  appVersionNumber,
  BLOCK_PROTOCOL_VERSION,
  b64,
  consensusParamsJson,
  EMPTY_BLOCK_ID,
  gasWanted,
  hex,
  int64,
  type Json,
  type JsonObject,
  PUB_KEY_TYPE,
  rfc3339,
  txProofJson,
  validatorJson,
} from './encode.js';
import { methodError } from './errors.js';
import type { EventBus } from './events.js';
import type { IndexedTx, TxIndexer } from './indexer.js';
import type { ParamSpec, ParamValue } from './params.js';
import { Query, QueryError } from './query.js';

/** The CometBFT RPC version this server speaks (cosmjs picks its 0.38 client by the `0.38.` prefix). */
export const COMETBFT_RPC_VERSION = '0.38.0';

/** Results per page by default and at most (CometBFT's). */
export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;
/** Heights `blockchain` returns at most (CometBFT's). */
export const BLOCKCHAIN_LIMIT = 20;
/** Genesis bytes per `genesis_chunked` chunk (CometBFT's); `genesis` refuses a larger document. */
export const GENESIS_CHUNK_BYTES = 16 * 1024 * 1024;
/** `broadcast_tx_async` checks in progress at most (beyond: an error; each holds a transaction). */
export const MAX_ASYNC_CHECKS = 1000;

/** Who is calling, and how. */
export interface CallContext {
  /** The subscriber id: the remote address of the connection. */
  readonly client: string;
  /** Aborted when the client goes away (a `broadcast_tx_commit` stops waiting). */
  readonly signal: AbortSignal;
  /** WebSocket only: subscribes the connection to `query`, its events answered with `id`. */
  readonly subscribe?: (query: Query, id: string | number) => void;
}

export interface MethodSpec {
  readonly params: readonly ParamSpec[];
  /** Over WebSocket only. */
  readonly ws?: boolean;
  readonly call: (args: readonly ParamValue[], ctx: CallContext, id: string | number) => Promise<Json>;
}

/** Everything the methods read and drive. */
export interface MethodEnv {
  readonly c: RpcComponents;
  readonly init: ResolvedRpcInit;
  readonly chain: ChainReader;
  /** The RPC store, once opened. */
  readonly indexer: () => Promise<TxIndexer>;
  readonly bus: EventBus;
  /** The address the server listens on (`tcp://…`), for `node_info.other.rpc_address`. */
  readonly rpcAddress: () => string;
  /** Aborted when the server closes (waits in progress end). */
  readonly closing: AbortSignal;
}

const int = (name: string): ParamSpec => ({ name, type: 'int' });
const bool = (name: string): ParamSpec => ({ name, type: 'bool' });
const str = (name: string): ParamSpec => ({ name, type: 'string' });
const bytes = (name: string): ParamSpec => ({ name, type: 'bytes' });
const hexbytes = (name: string): ParamSpec => ({ name, type: 'hexbytes' });
const strings = (name: string): ParamSpec => ({ name, type: 'strings' });

const optInt = (v: ParamValue): number | undefined => v as number | undefined;

/** The node's last executed height. */
const latestHeight = (env: MethodEnv): number => env.c.node.status().height;

/** CometBFT's getHeight: the asked height checked against the latest and the store's base. */
function getHeight(env: MethodEnv, latest: number, asked: number | undefined): number {
  if (asked === undefined) return latest;
  if (asked <= 0) throw methodError(`height must be greater than 0, but got ${asked}`);
  if (asked > latest)
    throw methodError(
      `height ${asked} must be less than or equal to the current blockchain height ${latest}`,
    );
  const base = env.chain.base();
  if (asked < base) throw methodError(`height ${asked} is not available, lowest height is ${base}`);
  return asked;
}

/** The height after the latest while consensus runs (validators, consensus params), as CometBFT's. */
function latestUncommitted(env: MethodEnv): number {
  const s = env.c.node.status();
  return s.state === 'syncing' ? s.height : s.height + 1;
}

function perPage(v: ParamValue): number {
  const n = optInt(v);
  if (n === undefined || n < 1) return DEFAULT_PER_PAGE;
  return Math.min(n, MAX_PER_PAGE);
}

/** CometBFT's validatePage: the page (1-based) of `total` results, `per` a page. */
function page(v: ParamValue, per: number, total: number): number {
  const p = optInt(v);
  if (p === undefined) return 1;
  const pages = Math.max(1, Math.floor((total - 1) / per) + 1);
  if (p <= 0 || p > pages) throw methodError(`page should be within [1, ${pages}] range, given ${p}`);
  return p;
}

function parseQuery(text: string | undefined): Query {
  try {
    return Query.parse(text ?? '');
  } catch (err) {
    if (err instanceof QueryError && err.message === 'maximum query length exceeded')
      throw methodError(err.message);
    throw methodError(`failed to parse query: ${(err as Error).message}`);
  }
}

function orderOf(v: ParamValue, fallback: 'asc' | 'desc'): 'asc' | 'desc' {
  if (v === undefined || v === '') return fallback;
  if (v === 'asc' || v === 'desc') return v;
  throw methodError('expected order_by to be either `asc` or `desc` or empty');
}

/** The check_tx / broadcast result of a Synod result code. */
function checkTxJson(code: string, log: string, wanted = 0): JsonObject {
  return {
    ...cometCode(code),
    data: null,
    log,
    info: '',
    gas_wanted: int64(wanted),
    gas_used: '0',
    events: [],
  };
}

const EMPTY_TX_RESULT: JsonObject = {
  code: 0,
  codespace: '',
  data: null,
  log: '',
  info: '',
  gas_wanted: '0',
  gas_used: '0',
  events: [],
};

/** The genesis document `genesis` serves: the host's, or one built from the Genesis in CometBFT's shape. */
function genesisDoc(env: MethodEnv): unknown {
  if (env.c.genesisDoc !== undefined) return env.c.genesisDoc;
  const g = env.c.genesis;
  return {
    genesis_time: rfc3339(g.genesisTimeMs),
    chain_id: g.chainId,
    initial_height: int64(g.initialHeight),
    consensus_params: consensusParamsJson(g.consensusParams),
    validators: g.validators.map((v) => ({
      address: hex(addressFromPublicKey(v.pubKey)),
      pub_key: { type: PUB_KEY_TYPE, value: b64(v.pubKey) },
      power: int64(v.power),
      name: v.name,
    })),
    app_hash: '',
    app_state: toJsonValue(g.appState),
  };
}

function txJson(t: IndexedTx, proof: JsonObject | undefined): JsonObject {
  return {
    hash: hex(t.hash),
    height: int64(t.height),
    index: t.index,
    tx_result: t.result,
    tx: b64(t.tx),
    ...(proof === undefined ? {} : { proof }),
  };
}

async function proofOf(env: MethodEnv, t: IndexedTx): Promise<JsonObject | undefined> {
  const block = await env.chain.block(t.height);
  if (block === undefined || t.index >= block.txs.length) return undefined;
  return txProofJson(block.txs, t.index, block.header.txsRoot);
}

/** Engine step as CometBFT's RoundStepType number (Propose 3, Prevote 4, Precommit 6, Commit 8). */
function stepNumber(step: string, decided: boolean): number {
  if (decided) return 8;
  return step === 'propose' ? 3 : step === 'prevote' ? 4 : 6;
}

const hashOrEmpty = (v: string | null | undefined): string =>
  v === null || v === undefined ? '' : v.toUpperCase();

/** Waits for the Tx event of `hash`, or the timeout, the client leaving or the server closing. */
function waitForTx(
  env: MethodEnv,
  ctx: CallContext,
  hash: Uint8Array,
): { readonly done: Promise<{ height: string; result: Json }>; readonly cancel: () => void } {
  const query = Query.parse(`tm.event='Tx' AND tx.hash='${hex(hash)}'`);
  let cancel: () => void = () => undefined;
  const done = new Promise<{ height: string; result: Json }>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      env.closing.removeEventListener('abort', onClosing);
      env.bus.unsubscribe(ctx.client, query.text);
    };
    const onAbort = (): void => {
      finish();
      reject(methodError('broadcast confirmation not received: the client went away'));
    };
    const onClosing = (): void => {
      finish();
      reject(methodError('txSub was canceled (reason: the RPC server is closing)'));
    };
    const timer = setTimeout(() => {
      finish();
      reject(methodError('timed out waiting for tx to be included in a block'));
    }, env.init.timeoutBroadcastTxCommitMs);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    env.closing.addEventListener('abort', onClosing, { once: true });
    cancel = finish;
    try {
      env.bus.subscribe(ctx.client, query, (event) => {
        finish();
        const v = event.value as { TxResult: { height: string; result: Json } };
        resolve({ height: v.TxResult.height, result: v.TxResult.result });
      });
    } catch (err) {
      finish();
      reject(methodError(`failed to subscribe to tx: ${(err as Error).message}`));
    }
  });
  return { done, cancel };
}

/** The methods, by name. */
export function methodTable(env: MethodEnv): Readonly<Record<string, MethodSpec>> {
  const { c } = env;
  let asyncChecks = 0;
  let appVersion: string | undefined;
  const appVersionOf = async (): Promise<string> => {
    appVersion ??= (await c.application.info()).appVersion;
    return appVersion;
  };

  const nodeId = toHex(addressFromPublicKey(c.nodeInfo.nodeKey));
  const validatorAddress = addressFromPublicKey(c.nodeInfo.validatorPubKey);
  let powerAt: { height: number; power: number } | undefined;
  type Earliest = { hash: string; appHash: string; height: number; timeMs: number };
  let earliestCache: { base: number; value: Earliest } | undefined;
  /** The earliest stored block: its hash, the app hash after it, its height and time (cached per base once final). */
  const earliestOf = async (height: number, latestAppHash: string): Promise<Earliest> => {
    const base = env.chain.base();
    if (earliestCache?.base === base) return earliestCache.value;
    const header = base >= 1 && base <= height ? await env.chain.header(base) : undefined;
    if (header === undefined) return { hash: '', appHash: '', height: 0, timeMs: c.genesis.genesisTimeMs };
    // The app hash after the earliest block is the next header's (or, at the tip, the latest app hash).
    const next = base < height ? await env.chain.header(base + 1) : undefined;
    const value = {
      hash: (await env.chain.blockId(base)).hash,
      appHash: next === undefined ? latestAppHash.toUpperCase() : hex(next.appHash),
      height: base,
      timeMs: header.timeMs,
    };
    if (next !== undefined) earliestCache = { base, value };
    return value;
  };

  /** The mempool's answer turned into CometBFT's: its own refusals are errors, checkTx's are result codes. */
  const broadcast = async (tx: Uint8Array): Promise<{ code: string; reason: string; hash: Uint8Array }> => {
    if (tx.length === 0) throw methodError('tx is empty');
    let r: Awaited<ReturnType<typeof c.node.broadcastTx>>;
    try {
      r = await c.node.broadcastTx(tx);
    } catch (err) {
      throw methodError(`error on broadcastTx: ${(err as Error).message}`);
    }
    const hash = r.hash ?? txHash(tx);
    if (!r.accepted && r.code === 'DUPLICATE') throw methodError('tx already exists in cache');
    if (!r.accepted && (r.code === 'MEMPOOL_FULL' || r.code === 'TX_TOO_LARGE')) throw methodError(r.reason);
    return { code: r.code, reason: r.reason, hash };
  };

  /**
   * The mempool's pending transactions in proposal order and their bytes. One
   * walk of the pool (at most `[mempool] size` entries): the node tells its
   * count (`status().mempoolTxs`) but not its bytes.
   */
  /** The first `limit` pending transactions (proposal order), and the pool's count and bytes (from the node's status). */
  const mempool = (
    limit: number,
  ): { txs: readonly { readonly tx: Uint8Array }[]; total: number; bytes: number } => {
    let txs: readonly { readonly tx: Uint8Array }[];
    try {
      txs = limit === 0 ? [] : c.node.unconfirmedTxs(limit);
    } catch (err) {
      throw methodError(`the mempool is not available: ${(err as Error).message}`);
    }
    const st = c.node.status();
    return { txs, total: st.mempoolTxs, bytes: st.mempoolBytes };
  };

  const table: Record<string, MethodSpec> = {
    // ------------------------------------------------------------------ info
    health: {
      params: [],
      call: async () => {
        const s = c.node.status();
        if (s.state === 'halted')
          throw methodError(`node halted: ${s.halted ?? 'it stopped producing blocks'}`);
        if (s.state === 'stopped') throw methodError('node is not running');
        return {};
      },
    },
    status: {
      params: [],
      call: async () => {
        const s = c.node.status();
        const info = c.nodeInfo;
        const earliest = await earliestOf(s.height, s.appHash);
        // This node's power in the set of the next height (cached per height: status is polled often).
        if (powerAt?.height !== s.height) {
          const set = await env.chain.validatorSet(s.height + 1);
          const i = set === undefined ? -1 : validatorIndex(set, validatorAddress);
          powerAt = { height: s.height, power: i < 0 ? 0 : (set?.validators[i]?.votingPower ?? 0) };
        }
        return {
          node_info: {
            protocol_version: {
              p2p: int64(info.p2pProtocolVersion),
              block: int64(BLOCK_PROTOCOL_VERSION),
              app: appVersionNumber(await appVersionOf()),
            },
            id: nodeId,
            listen_addr: info.listenAddr,
            network: s.chainId,
            version: `${COMETBFT_RPC_VERSION}+synod.${info.version}`,
            channels: '',
            moniker: info.moniker,
            other: {
              ...info.other,
              tx_index: env.init.indexer === 'kv' ? 'on' : 'off',
              rpc_address: env.rpcAddress(),
            },
          },
          sync_info: {
            latest_block_hash: s.height === 0 ? '' : s.lastBlockHash.toUpperCase(),
            latest_app_hash: s.appHash.toUpperCase(),
            latest_block_height: int64(s.height),
            latest_block_time: rfc3339(s.lastBlockTimeMs),
            earliest_block_hash: earliest.hash,
            earliest_app_hash: earliest.appHash,
            earliest_block_height: int64(earliest.height),
            earliest_block_time: rfc3339(earliest.timeMs),
            catching_up: s.state === 'syncing' || s.state === 'starting',
          },
          validator_info: {
            address: hex(validatorAddress),
            pub_key: { type: PUB_KEY_TYPE, value: b64(info.validatorPubKey) },
            voting_power: int64(powerAt.power),
          },
        };
      },
    },
    net_info: {
      params: [],
      call: async () => {
        const s = c.node.status();
        const peers = c.peers?.() ?? [];
        return {
          listening: true,
          listeners: [`Listener(@${c.nodeInfo.listenAddr})`],
          n_peers: int64(Math.max(s.peers, peers.length)),
          peers: peers.map((p) => ({
            node_info: {
              protocol_version: {
                p2p: int64(c.nodeInfo.p2pProtocolVersion),
                block: int64(BLOCK_PROTOCOL_VERSION),
                app: '0',
              },
              id: p.id,
              listen_addr: p.address,
              network: s.chainId,
              version: '',
              channels: '',
              moniker: '',
              other: { tx_index: '', rpc_address: '' },
            },
            is_outbound: p.outbound ?? false,
            connection_status: { Duration: '0', SendMonitor: {}, RecvMonitor: {}, Channels: [] },
            remote_ip: p.address,
          })),
        };
      },
    },
    genesis: {
      params: [],
      call: async () => {
        const doc = genesisDoc(env);
        if (JSON.stringify(doc).length > GENESIS_CHUNK_BYTES)
          throw methodError('genesis response is large, please use the genesis_chunked API instead');
        return { genesis: doc as Json };
      },
    },
    genesis_chunked: {
      params: [int('chunk')],
      call: async ([chunk]) => {
        const data = Buffer.from(JSON.stringify(genesisDoc(env)), 'utf8');
        const total = Math.max(1, Math.ceil(data.length / GENESIS_CHUNK_BYTES));
        const id = optInt(chunk) ?? 0;
        if (id < 0 || id > total - 1)
          throw methodError(`there are ${total} chunks, ${id} is invalid (first: 0, last: ${total - 1})`);
        return {
          chunk: int64(id),
          total: int64(total),
          data: data.subarray(id * GENESIS_CHUNK_BYTES, (id + 1) * GENESIS_CHUNK_BYTES).toString('base64'),
        };
      },
    },
    // ------------------------------------------------------------------ blocks
    blockchain: {
      params: [int('minHeight'), int('maxHeight')],
      call: async ([minArg, maxArg]) => {
        const latest = latestHeight(env);
        let min = optInt(minArg) ?? 0;
        let max = optInt(maxArg) ?? 0;
        if (min < 0 || max < 0) throw methodError('heights must be non-negative');
        if (min === 0) min = 1;
        if (max === 0) max = latest;
        max = Math.min(latest, max);
        min = Math.max(env.chain.base(), min, max - BLOCKCHAIN_LIMIT + 1);
        if (min > max) throw methodError(`min height ${min} can't be greater than max height ${max}`);
        const metas: Json[] = [];
        for (let h = max; h >= min; h--) {
          const meta = await env.chain.blockMeta(h);
          if (meta !== undefined) metas.push(meta);
        }
        return { last_height: int64(latest), block_metas: metas };
      },
    },
    block: {
      params: [int('height')],
      call: async ([height]) => {
        const h = getHeight(env, latestHeight(env), optInt(height));
        const block = await env.chain.block(h);
        if (block === undefined) return { block_id: EMPTY_BLOCK_ID, block: null };
        return env.chain.resultBlock(block);
      },
    },
    block_by_hash: {
      params: [bytes('hash')],
      call: async ([hash]) => {
        const block = hash === undefined ? undefined : await env.chain.blockByHash(hash as Uint8Array);
        if (block === undefined || block.header.height > latestHeight(env))
          return { block_id: EMPTY_BLOCK_ID, block: null };
        return env.chain.resultBlock(block);
      },
    },
    block_results: {
      params: [int('height')],
      call: async ([height]) => {
        const h = getHeight(env, latestHeight(env), optInt(height));
        const results = await (await env.indexer()).results(h);
        if (results === undefined)
          throw methodError(
            `could not find results for height #${h} (the RPC store was not following the node when it was executed)`,
          );
        return results;
      },
    },
    commit: {
      params: [int('height')],
      call: async ([height]) => {
        const latest = latestHeight(env);
        const h = getHeight(env, latest, optInt(height));
        const header = await env.chain.header(h);
        const commit = await env.chain.commit(h);
        if (header === undefined || commit === undefined) return null;
        return {
          signed_header: {
            header: await env.chain.headerJson(header),
            commit: await env.chain.commitJson(h, commit),
          },
          canonical: h < latest,
        };
      },
    },
    header: {
      params: [int('height')],
      call: async ([height]) => {
        const h = getHeight(env, latestHeight(env), optInt(height));
        const header = await env.chain.header(h);
        return { header: header === undefined ? null : await env.chain.headerJson(header) };
      },
    },
    header_by_hash: {
      params: [hexbytes('hash')],
      call: async ([hash]) => {
        const h = hash === undefined ? undefined : await env.chain.heightOfHash(hash as Uint8Array);
        const header = h === undefined || h > latestHeight(env) ? undefined : await env.chain.header(h);
        return { header: header === undefined ? null : await env.chain.headerJson(header) };
      },
    },
    validators: {
      params: [int('height'), int('page'), int('per_page')],
      call: async ([height, pageArg, perPageArg]) => {
        const h = getHeight(env, latestUncommitted(env), optInt(height));
        const set = await env.chain.validatorSet(h);
        if (set === undefined) throw methodError(`could not find validator set for height #${h}`);
        const total = set.validators.length;
        const per = perPage(perPageArg);
        const skip = (page(pageArg, per, total) - 1) * per;
        const list = set.validators.slice(skip, skip + per);
        return {
          block_height: int64(h),
          validators: list.map(validatorJson),
          count: int64(list.length),
          total: int64(total),
        };
      },
    },
    consensus_params: {
      params: [int('height')],
      call: async ([height]) => {
        const h = getHeight(env, latestUncommitted(env), optInt(height));
        const params = await c.storage.state.loadConsensusParams(h);
        if (params === undefined) throw methodError(`could not find consensus params for height #${h}`);
        return { block_height: int64(h), consensus_params: consensusParamsJson(params) };
      },
    },
    consensus_state: {
      params: [],
      call: async () => {
        const e = c.node.status().consensus;
        if (e === undefined) throw methodError('consensus is not running');
        return {
          round_state: {
            'height/round/step': `${e.height}/${e.round}/${stepNumber(e.step, e.decision !== null)}`,
            proposal_block_hash: '',
            locked_block_hash: hashOrEmpty(e.lockedValue),
            valid_block_hash: hashOrEmpty(e.validValue),
            height_vote_set: [],
          },
        };
      },
    },
    dump_consensus_state: {
      params: [],
      call: async () => {
        const e = c.node.status().consensus;
        if (e === undefined) throw methodError('consensus is not running');
        return {
          round_state: {
            height: int64(e.height),
            round: e.round,
            step: stepNumber(e.step, e.decision !== null),
            locked_round: e.lockedRound,
            locked_block_hash: hashOrEmpty(e.lockedValue),
            valid_round: e.validRound,
            valid_block_hash: hashOrEmpty(e.validValue),
            decided_block_hash: hashOrEmpty(e.decision),
            halted: e.halted ?? null,
          },
          peers: [],
        };
      },
    },
    // ------------------------------------------------------------------ mempool
    unconfirmed_txs: {
      params: [int('limit')],
      call: async ([limit]) => {
        const pool = mempool(perPage(limit));
        return {
          n_txs: int64(pool.txs.length),
          total: int64(pool.total),
          total_bytes: int64(pool.bytes),
          txs: pool.txs.map((t) => b64(t.tx)),
        };
      },
    },
    num_unconfirmed_txs: {
      params: [],
      call: async () => {
        // O(1): the node's counts, no walk of the pool.
        const pool = mempool(0);
        return {
          n_txs: int64(pool.total),
          total: int64(pool.total),
          total_bytes: int64(pool.bytes),
          txs: null,
        };
      },
    },
    check_tx: {
      params: [bytes('tx')],
      call: async ([tx]) => {
        if (tx === undefined || (tx as Uint8Array).length === 0) throw methodError('tx is empty');
        const r = await c.application.checkTx(tx as Uint8Array, 'new');
        return checkTxJson(r.code, r.log, r.gasWanted ?? 0);
      },
    },
    broadcast_tx_async: {
      params: [bytes('tx')],
      call: async ([tx]) => {
        const bytes = tx as Uint8Array | undefined;
        if (bytes === undefined || bytes.length === 0) throw methodError('tx is empty');
        if (asyncChecks >= MAX_ASYNC_CHECKS)
          throw methodError(`${MAX_ASYNC_CHECKS} transactions are being checked: try again later`);
        asyncChecks++;
        broadcast(bytes)
          .catch(() => undefined)
          .finally(() => {
            asyncChecks--;
          });
        return { code: 0, data: '', log: '', codespace: '', hash: hex(txHash(bytes)) };
      },
    },
    broadcast_tx_sync: {
      params: [bytes('tx')],
      call: async ([tx]) => {
        const r = await broadcast((tx as Uint8Array | undefined) ?? new Uint8Array());
        return { ...cometCode(r.code), data: '', log: r.reason, hash: hex(r.hash) };
      },
    },
    broadcast_tx_commit: {
      params: [bytes('tx')],
      call: async ([tx], ctx) => {
        const bytes = (tx as Uint8Array | undefined) ?? new Uint8Array();
        if (bytes.length === 0) throw methodError('tx is empty');
        const refused = env.bus.refusal(ctx.client);
        if (refused !== undefined) throw methodError(refused);
        // Subscribed before the transaction can be in a block.
        const wait = waitForTx(env, ctx, txHash(bytes));
        wait.done.catch(() => undefined);
        let r: Awaited<ReturnType<typeof broadcast>>;
        try {
          r = await broadcast(bytes);
        } catch (err) {
          wait.cancel();
          throw err;
        }
        const check = checkTxJson(r.code, r.reason, gasWanted(bytes));
        if (r.code !== 'OK') {
          wait.cancel();
          return { check_tx: check, tx_result: EMPTY_TX_RESULT, hash: hex(r.hash), height: '0' };
        }
        const { height, result } = await wait.done;
        return { check_tx: check, tx_result: result, hash: hex(r.hash), height };
      },
    },
    // ------------------------------------------------------------------ transactions
    tx: {
      params: [bytes('hash'), bool('prove')],
      call: async ([hash, prove]) => {
        const indexer = await env.indexer();
        if (!indexer.enabled) throw methodError('transaction indexing is disabled');
        const h = (hash as Uint8Array | undefined) ?? new Uint8Array();
        const t = await indexer.get(h);
        if (t === undefined) throw methodError(`tx (${hex(h)}) not found`);
        return txJson(t, prove === true ? await proofOf(env, t) : undefined);
      },
    },
    tx_search: {
      params: [str('query'), bool('prove'), int('page'), int('per_page'), str('order_by')],
      call: async ([query, prove, pageArg, perPageArg, orderBy]) => {
        const indexer = await env.indexer();
        if (!indexer.enabled) throw methodError('transaction indexing is disabled');
        const q = parseQuery(query as string | undefined);
        const order = orderOf(orderBy, 'asc');
        let found: IndexedTx[];
        try {
          found = await indexer.search(q);
        } catch (err) {
          throw methodError((err as Error).message);
        }
        if (order === 'desc') found.reverse();
        const per = perPage(perPageArg);
        const skip = (page(pageArg, per, found.length) - 1) * per;
        const txs: Json[] = [];
        for (const t of found.slice(skip, skip + per))
          txs.push(txJson(t, prove === true ? await proofOf(env, t) : undefined));
        return { txs, total_count: int64(found.length) };
      },
    },
    block_search: {
      params: [str('query'), int('page'), int('per_page'), str('order_by')],
      call: async ([query, pageArg, perPageArg, orderBy]) => {
        const indexer = await env.indexer();
        const q = parseQuery(query as string | undefined);
        const order = orderOf(orderBy, 'desc');
        let heights: number[];
        try {
          heights = await indexer.searchBlocks(q);
        } catch (err) {
          throw methodError((err as Error).message);
        }
        const latest = latestHeight(env);
        heights = heights.filter((h) => h <= latest).sort((a, b) => (order === 'asc' ? a - b : b - a));
        const per = perPage(perPageArg);
        const skip = (page(pageArg, per, heights.length) - 1) * per;
        const blocks: Json[] = [];
        for (const h of heights.slice(skip, skip + per)) {
          const block = await env.chain.block(h);
          if (block !== undefined) blocks.push(await env.chain.resultBlock(block));
        }
        return { blocks, total_count: int64(heights.length) };
      },
    },
    // ------------------------------------------------------------------ abci
    abci_info: {
      params: [],
      call: async () => {
        const info = await c.application.info();
        return {
          response: {
            data: info.appVersion,
            version: info.appVersion,
            app_version: appVersionNumber(info.appVersion),
            last_block_height: int64(info.lastBlockHeight),
            last_block_app_hash: b64(info.lastBlockAppHash),
          },
        };
      },
    },
    abci_query: {
      params: [str('path'), hexbytes('data'), int('height'), bool('prove')],
      call: async ([path, data, height]) => {
        const h = optInt(height) ?? 0;
        if (h < 0) throw methodError(`height must be non-negative, got ${h}`);
        const p = ((path as string | undefined) ?? '').replace(/^\//, '');
        const bytes = (data as Uint8Array | undefined) ?? new Uint8Array();
        const r = await c.node.query({ path: p, data: bytes, ...(h === 0 ? {} : { height: h }) });
        return {
          response: {
            ...cometCode(r.code),
            log: r.log,
            info: '',
            index: '0',
            key: b64(bytes),
            value: b64(r.value),
            proofOps: null,
            height: int64(r.height),
          },
        };
      },
    },
    // ------------------------------------------------------------------ evidence
    broadcast_evidence: {
      params: [bytes('evidence')],
      call: async ([raw]) => {
        if (raw === undefined) throw methodError('evidence is empty');
        let ev: Evidence;
        try {
          ev = decodeEvidence(raw as Uint8Array);
        } catch (err) {
          throw methodError(`evidence does not decode: ${(err as Error).message}`);
        }
        let verdict: Awaited<ReturnType<typeof c.node.submitEvidence>>;
        try {
          verdict = await c.node.submitEvidence(ev);
        } catch (err) {
          throw methodError(`failed to add evidence: ${(err as Error).message}`);
        }
        // As CometBFT's evidence pool: evidence already pending or committed is not an error.
        if (verdict.status === 'invalid')
          throw methodError(`failed to add evidence: invalid evidence: ${verdict.reason}`);
        return { hash: b64(evidenceHash(ev)) };
      },
    },
    // ------------------------------------------------------------------ websocket
    subscribe: {
      params: [str('query')],
      ws: true,
      call: async ([query], ctx, id) => {
        if (ctx.subscribe === undefined) throw methodError('subscribe works over WebSocket only');
        const text = (query as string | undefined) ?? '';
        const refused = env.bus.refusal(ctx.client);
        if (refused !== undefined) throw methodError(refused);
        ctx.subscribe(parseQuery(text), id);
        return {};
      },
    },
    unsubscribe: {
      params: [str('query')],
      ws: true,
      call: async ([query], ctx) => {
        const q = parseQuery(query as string | undefined);
        if (!env.bus.unsubscribe(ctx.client, q.text)) throw methodError('subscription not found');
        return {};
      },
    },
    unsubscribe_all: {
      params: [],
      ws: true,
      call: async (_args, ctx) => {
        if (env.bus.unsubscribeAll(ctx.client) === 0) throw methodError('subscription not found');
        return {};
      },
    },
  };

  if (env.init.rpc.unsafe) {
    const dial = async (peers: readonly string[] | undefined, persistent: boolean): Promise<Json> => {
      if (peers === undefined || peers.length === 0) throw methodError('no peers provided');
      if (c.dialPeers === undefined) throw methodError('this node cannot dial peers on request');
      try {
        await c.dialPeers(peers, { persistent });
      } catch (err) {
        throw methodError(`dialing failed: ${(err as Error).message}`);
      }
      return { log: `Dialing peers in progress. See /net_info for details` };
    };
    table.dial_seeds = {
      params: [strings('seeds')],
      call: ([seeds]) => dial(seeds as readonly string[] | undefined, false),
    };
    table.dial_peers = {
      params: [strings('peers'), bool('persistent'), bool('unconditional'), bool('private')],
      call: ([peers, persistent]) => dial(peers as readonly string[] | undefined, persistent === true),
    };
    table.unsafe_flush_mempool = {
      params: [],
      call: async () => {
        try {
          await c.node.flushMempool();
        } catch (err) {
          throw methodError(`the mempool is not available: ${(err as Error).message}`);
        }
        return {};
      },
    };
  }
  return table;
}

/** The labels of metrics: a known method's name, or `unknown` (bounded). */
export function methodLabel(table: Readonly<Record<string, MethodSpec>>, method: string): string {
  return Object.hasOwn(table, method) ? method : 'unknown';
}
