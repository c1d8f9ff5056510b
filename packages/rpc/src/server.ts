/**
 * `createRpcServer(components, init)`: CometBFT 0.38's RPC over a Synod
 * node — JSON-RPC 2.0 over HTTP POST `/` (one request or a batch), the URI
 * form (`GET /block?height=5`), and JSON-RPC over WebSocket at `/websocket`
 * with `subscribe`. The server follows the node's `block` events from its
 * creation: each block's results and transactions are written to the RPC
 * store (the indexer), then published to subscribers (NewBlock,
 * NewBlockHeader, Tx, ValidatorSetUpdates).
 *
 * Bounds (from `[rpc]`): request body and WebSocket message size, header
 * size, batch size, open connections, subscription clients and
 * subscriptions per client, responses queued per WebSocket, the
 * `broadcast_tx_commit` wait; and, of its own, `broadcast_tx_async` checks
 * in flight, requests queued per WebSocket and index entries a search scans.
 * A bad request gets a JSON-RPC error and never stops the server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { addressFromPublicKey } from '@synod/crypto';
import type { BlockDecidedEvent } from '@synod/node';
import { type Logger, type Metrics, noopLogger, noopMetrics, SynodError } from '@synod/types';
import { type WebSocket, WebSocketServer } from 'ws';
import { ChainReader } from './chain.js';
import type { RpcComponents } from './components.js';
import { type ResolvedRpcInit, type RpcInit, resolveRpcInit } from './config.js';
import { b64, hex, int64, type Json, type JsonObject, PUB_KEY_TYPE } from './encode.js';
import { RPC_ERROR_CODES, RpcError, type RpcErrorObject, toErrorObject } from './errors.js';
import { EventBus } from './events.js';
import { type IndexedBlock, TxIndexer, txEventMap } from './indexer.js';
import { type CallContext, type MethodSpec, methodLabel, methodTable } from './methods.js';
import { paramsFromJson, paramsFromUri } from './params.js';
import type { Query } from './query.js';

type Id = string | number;

interface Response {
  readonly jsonrpc: '2.0';
  readonly id: Id | null;
  readonly result?: Json;
  readonly error?: RpcErrorObject;
}

/** Requests a WebSocket connection may have waiting (beyond: closed as too fast a sender). */
export const WS_MAX_QUEUED_REQUESTS = 100;
/** WebSocket keep-alive: a ping every this many ms; no pong by the next one closes it (CometBFT: 27 s / 30 s). */
export const WS_PING_INTERVAL_MS = 27_000;
/** Time to receive a whole HTTP request (headers and body). */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;

const errorResponse = (id: Id | null, err: unknown): Response => ({
  jsonrpc: '2.0',
  id,
  error: toErrorObject(err),
});
const invalidRequest = (id: Id | null, reason: string): Response =>
  errorResponse(id, new RpcError(RPC_ERROR_CODES.invalidRequest, reason));

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A parsed request, a notification (no id: no answer, as CometBFT), or an Invalid Request answer. */
type Parsed =
  | { readonly kind: 'call'; readonly id: Id; readonly method: string; readonly params: unknown }
  | { readonly kind: 'notification' }
  | { readonly kind: 'invalid'; readonly response: Response };

function parseRequest(x: unknown): Parsed {
  if (!isRecord(x))
    return { kind: 'invalid', response: invalidRequest(null, 'a request must be a JSON object') };
  const id = x.id;
  if (id === undefined || id === null) return { kind: 'notification' };
  if (typeof id !== 'string' && typeof id !== 'number')
    return {
      kind: 'invalid',
      response: invalidRequest(
        null,
        `json-rpc ID (${JSON.stringify(id)}) is of unknown type (want a string or a number)`,
      ),
    };
  const rid = typeof id === 'number' ? Math.trunc(id) : id;
  if (typeof x.method !== 'string' || x.method === '')
    return { kind: 'invalid', response: invalidRequest(rid, 'method must be a non-empty string') };
  if (x.jsonrpc !== undefined && x.jsonrpc !== '2.0')
    return { kind: 'invalid', response: invalidRequest(rid, 'jsonrpc must be "2.0"') };
  return { kind: 'call', id: rid, method: x.method, params: x.params };
}

/** Methods served only with `[rpc] unsafe = true`. */
const UNSAFE_METHODS: ReadonlySet<string> = new Set(['dial_seeds', 'dial_peers', 'unsafe_flush_mempool']);

/** Method not found, saying why: unknown, WebSocket only, or unsafe while `[rpc] unsafe` is off. */
function methodNotFound(name: string, method: MethodSpec | undefined): RpcError {
  const why =
    method !== undefined
      ? `method '${name}' works over WebSocket only`
      : UNSAFE_METHODS.has(name)
        ? `method '${name}' needs [rpc] unsafe = true`
        : `method '${name}' does not exist`;
  return new RpcError(RPC_ERROR_CODES.methodNotFound, why);
}

/** Whether `origin` is allowed by `cors_allowed_origins` (`*`, exact, or one `*` wildcard). */
function originAllowed(allowed: readonly string[], origin: string): boolean {
  for (const a of allowed) {
    if (a === '*' || a === origin) return true;
    const star = a.indexOf('*');
    if (star >= 0) {
      const head = a.slice(0, star);
      const tail = a.slice(star + 1);
      if (origin.length >= head.length + tail.length && origin.startsWith(head) && origin.endsWith(tail))
        return true;
    }
  }
  return false;
}

function indexedBlock(e: BlockDecidedEvent): IndexedBlock {
  return {
    height: e.height,
    txs: e.block.txs,
    txResults: e.txResults,
    validatorUpdates: e.validatorUpdates,
    ...(e.consensusParamUpdates === undefined ? {} : { consensusParamUpdates: e.consensusParamUpdates }),
    appHash: e.appHash,
  };
}

export class RpcServer {
  readonly #init: ResolvedRpcInit;
  readonly #logger: Logger;
  readonly #chain: ChainReader;
  readonly #bus: EventBus;
  readonly #indexer: Promise<TxIndexer>;
  readonly #methods: Readonly<Record<string, MethodSpec>>;
  readonly #closing = new AbortController();
  readonly #offBlock: () => void;
  readonly #offBlockWrite: () => void;
  /** The indexer once open: blocks are indexed from then on inside the node's write of the height. */
  #indexerOpen: TxIndexer | undefined;
  /** Blocks are indexed and published one at a time, in order. */
  #blocks: Promise<void> = Promise.resolve();
  /** A block's `block_results` JSON, made once for its index and its events (the node emits one object per block). */
  readonly #resultsOf = new WeakMap<BlockDecidedEvent, JsonObject>();
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  readonly #sockets = new Set<WebSocket>();
  #address = '';
  #clientSeq = 0;
  #eventsDropped = 0;
  readonly #m: {
    requests: ReturnType<Metrics['counter']>;
    duration: ReturnType<Metrics['histogram']>;
    websockets: ReturnType<Metrics['gauge']>;
    subscriptions: ReturnType<Metrics['gauge']>;
    dropped: ReturnType<Metrics['counter']>;
    indexed: ReturnType<Metrics['gauge']>;
  };

  constructor(components: RpcComponents, init: RpcInit = {}) {
    this.#init = resolveRpcInit(init);
    this.#logger = (components.logger ?? noopLogger).child({ module: 'rpc' });
    const metrics = components.metrics ?? noopMetrics;
    this.#m = {
      requests: metrics.counter({
        name: 'synod_rpc_requests_total',
        help: 'RPC requests by method and outcome (ok, error)',
        labelNames: ['method', 'outcome'],
      }),
      duration: metrics.histogram({
        name: 'synod_rpc_request_duration_seconds',
        help: 'Time to answer an RPC request, by method',
        labelNames: ['method'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
      websockets: metrics.gauge({
        name: 'synod_rpc_websocket_connections',
        help: 'Open WebSocket connections',
      }),
      subscriptions: metrics.gauge({ name: 'synod_rpc_subscriptions', help: 'Event subscriptions held' }),
      dropped: metrics.counter({
        name: 'synod_rpc_events_dropped_total',
        help: 'Events not delivered to a WebSocket client that did not read them in time',
      }),
      indexed: metrics.gauge({
        name: 'synod_rpc_indexed_height',
        help: 'Last height whose results the RPC store holds',
      }),
    };
    this.#chain = new ChainReader(components.storage, () => components.node.status().height);
    this.#bus = new EventBus({
      maxClients: this.#init.rpc.max_subscription_clients,
      maxPerClient: this.#init.rpc.max_subscriptions_per_client,
    });
    this.#indexer = TxIndexer.open(components.store, this.#init.indexer);
    this.#indexer.then(
      (indexer) => {
        this.#indexerOpen = indexer;
      },
      () => undefined,
    );
    this.#methods = methodTable({
      c: components,
      init: this.#init,
      chain: this.#chain,
      indexer: () => this.#indexer,
      bus: this.#bus,
      rpcAddress: () => this.#address,
      closing: this.#closing.signal,
    });
    // Follow the node from now on, so that no block executed after creation is missed.
    // The index of a block is written while the node writes the block's records (`block-write` is
    // emitted inside the node's write group): one atomic batch with the chain state and the
    // application's state, so the index is never ahead of the committed state nor lost with a crash
    // (a block the node's start executes again comes as `block-write` too, and is indexed again).
    this.#offBlockWrite = components.node.on('block-write', (e) => {
      const indexed = this.#index(e);
      this.#blocks = this.#blocks
        .then(() => indexed)
        .catch((err: unknown) =>
          this.#logger.error('rpc: indexing a block failed', {
            height: e.height,
            error: (err as Error).message,
          }),
        );
    });
    // Its events go out once the block's batch is on disk.
    this.#offBlock = components.node.on('block', (e) => {
      this.#blocks = this.#blocks
        .then(() => this.#onBlock(e))
        .catch((err: unknown) =>
          this.#logger.error('rpc: publishing a block failed', {
            height: e.height,
            error: (err as Error).message,
          }),
        );
    });
  }

  /** The resolved configuration. */
  get config(): ResolvedRpcInit {
    return this.#init;
  }

  /** The address bound (after `listen`). */
  address(): AddressInfo {
    if (this.#server === undefined) throw new SynodError('INTERNAL', 'rpc: not listening');
    return this.#server.address() as AddressInfo;
  }

  /** Opens the RPC store and listens on `[rpc] laddr`. A port in use is a CONFIG_INVALID error naming the key. */
  async listen(): Promise<void> {
    if (this.#server !== undefined) throw new SynodError('INTERNAL', 'rpc: listen called twice');
    await this.#indexer;
    const rpc = this.#init.rpc;
    const server = createServer({
      maxHeaderSize: rpc.max_header_bytes,
      requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: HTTP_REQUEST_TIMEOUT_MS,
    });
    if (rpc.max_open_connections > 0) server.maxConnections = rpc.max_open_connections;
    server.keepAliveTimeout = 5000;
    server.on('request', (req, res) => {
      this.#onHttp(req, res).catch((err: unknown) => {
        this.#logger.error('rpc: request failed unexpectedly', { error: (err as Error).message });
        if (!res.headersSent) this.#send(res, 500, errorResponse(-1, err));
        else res.destroy();
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) return socket.destroy();
      const status =
        err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: rpc.max_body_bytes });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== '/websocket') {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.#onWebSocket(ws, req));
    });
    this.#server = server;
    this.#wss = wss;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        this.#server = undefined;
        reject(cannotListen('[rpc] laddr', rpc.laddr, err));
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(this.#init.port, this.#init.host);
    });
    const a = server.address() as AddressInfo;
    this.#address = `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    this.#logger.info('rpc listening', { address: this.#address, indexer: this.#init.indexer });
  }

  /**
   * Stops: no more node events, waits in progress rejected, WebSockets
   * closed, the HTTP server closed, the block being indexed finished. The
   * store and the node belong to the host.
   */
  async close(): Promise<void> {
    this.#offBlock();
    this.#offBlockWrite();
    this.#closing.abort();
    for (const ws of this.#sockets) ws.terminate();
    this.#sockets.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.#wss?.close();
    await this.#blocks;
    await this.#indexer.catch(() => undefined);
  }

  /** What the server holds now: open WebSockets, subscription clients and subscriptions. */
  stats(): {
    readonly websockets: number;
    readonly subscriptionClients: number;
    readonly subscriptions: number;
    /** Events not delivered to WebSocket clients that did not read in time. */
    readonly eventsDropped: number;
  } {
    return {
      websockets: this.#sockets.size,
      subscriptionClients: this.#bus.clientCount,
      subscriptions: this.#bus.subscriptionCount,
      eventsDropped: this.#eventsDropped,
    };
  }

  /** Resolves once every block event received so far is indexed and published (for tests and the daemon's stop). */
  async idle(): Promise<void> {
    await this.#blocks;
  }

  // ------------------------------------------------------------------ blocks → index → events

  /**
   * Writes the block's index: at once (synchronously started, so inside the
   * node's write group) when the store is open, else once it is.
   */
  #index(e: BlockDecidedEvent): Promise<void> {
    const block = indexedBlock(e);
    const results = TxIndexer.isEmptyBlock(block) ? undefined : this.#results(e, block);
    const open = this.#indexerOpen;
    const written =
      open !== undefined ? open.index(block, results) : this.#indexer.then((i) => i.index(block, results));
    return written.then(() => this.#m.indexed.set(e.height));
  }

  #results(e: BlockDecidedEvent, block: IndexedBlock): JsonObject {
    let results = this.#resultsOf.get(e);
    if (results === undefined) {
      results = TxIndexer.resultsJson(block);
      this.#resultsOf.set(e, results);
    }
    return results;
  }

  async #onBlock(e: BlockDecidedEvent): Promise<void> {
    const block = indexedBlock(e);
    const blockId = this.#chain.rememberBlockId(e.block);
    const results = (): JsonObject => this.#results(e, block);
    await this.#publish(
      { 'tm.event': ['NewBlock'], 'block.height': [String(e.height)] },
      'tendermint/event/NewBlock',
      async () => {
        const r = results();
        return {
          block: await this.#chain.blockJson(e.block),
          block_id: blockId,
          result_finalize_block: {
            events: [],
            tx_results: r.txs_results as Json,
            validator_updates: r.validator_updates as Json,
            consensus_param_updates: r.consensus_param_updates as Json,
            app_hash: r.app_hash as Json,
          },
        };
      },
    );
    await this.#publish({ 'tm.event': ['NewBlockHeader'] }, 'tendermint/event/NewBlockHeader', async () => ({
      header: await this.#chain.headerJson(e.block.header),
    }));
    // A Tx event per transaction, only when some subscription may take one (its event map costs a hash).
    if (this.#bus.mayWant('Tx'))
      for (let i = 0; i < e.block.txs.length; i++) {
        await this.#publish(txEventMap(block, i), 'tendermint/event/Tx', async () => ({
          TxResult: {
            height: int64(e.height),
            index: i,
            tx: b64(e.block.txs[i] as Uint8Array),
            result: (results().txs_results as readonly Json[])[i] ?? null,
          },
        }));
      }
    if (e.validatorUpdates.length > 0) {
      await this.#publish(
        { 'tm.event': ['ValidatorSetUpdates'] },
        'tendermint/event/ValidatorSetUpdates',
        // As CometBFT's: each update as a Validator (address from the key, priority 0).
        async () => ({
          validator_updates: e.validatorUpdates.map((u) => ({
            address: hex(addressFromPublicKey(u.pubKey)),
            pub_key: { type: PUB_KEY_TYPE, value: b64(u.pubKey) },
            voting_power: int64(u.power),
            proposer_priority: '0',
          })),
        }),
      );
    }
  }

  /** Builds an event's data only when a subscription matches it, then delivers it. */
  async #publish(events: Record<string, string[]>, type: string, value: () => Promise<Json>): Promise<void> {
    if (!this.#bus.wants(events)) return;
    this.#bus.publish({ type, value: await value(), events });
  }

  // ------------------------------------------------------------------ HTTP

  #cors(req: IncomingMessage, res: ServerResponse): void {
    const rpc = this.#init.rpc;
    const origin = req.headers.origin;
    if (rpc.cors_allowed_origins.length === 0 || origin === undefined) return;
    if (!originAllowed(rpc.cors_allowed_origins, origin)) return;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-allow-methods', rpc.cors_allowed_methods.join(', '));
    res.setHeader('access-control-allow-headers', rpc.cors_allowed_headers.join(', '));
  }

  #send(res: ServerResponse, status: number, body: unknown, close = false): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-server-time': String(Math.floor(Date.now() / 1000)),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(text);
  }

  async #onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#cors(req, res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { allow: 'OPTIONS, HEAD, GET, POST' }).end();
      return;
    }
    const client = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const ctx: CallContext = { client, signal: abort.signal };
    if (path === '/websocket') {
      this.#send(res, 400, invalidRequest(null, 'expected a WebSocket upgrade on /websocket'));
      return;
    }
    if (path === '/' && req.method === 'POST') {
      const body = await this.#readBody(req);
      if (body === undefined) {
        // Answer, then drop the connection: the rest of the body is never read.
        res.on('finish', () => req.destroy());
        this.#send(
          res,
          413,
          invalidRequest(
            null,
            `error reading request body: http: request body too large (max_body_bytes ${this.#init.rpc.max_body_bytes})`,
          ),
          true,
        );
        return;
      }
      await this.#onJsonRpc(body, res, ctx);
      return;
    }
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      const names = Object.keys(this.#methods)
        .filter((n) => this.#methods[n]?.ws !== true)
        .sort();
      const html = `<html><body><br>Available endpoints:<br>${names.map((n) => `<a href="/${n}">/${n}</a></br>`).join('')}</body></html>`;
      res
        .writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) })
        .end(html);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'OPTIONS, HEAD, GET, POST' }).end();
      return;
    }
    // The URI form: GET /<method>?<param>=<value>, answered with id -1 as CometBFT.
    const name = path.slice(1);
    const method = Object.hasOwn(this.#methods, name) ? this.#methods[name] : undefined;
    if (method === undefined || method.ws === true) {
      this.#send(res, 404, errorResponse(-1, methodNotFound(name, method)));
      return;
    }
    const response = await this.#invoke(
      name,
      method,
      -1,
      () => paramsFromUri(method.params, url.searchParams),
      ctx,
    );
    const status =
      response.error === undefined ? 200 : response.error.code === RPC_ERROR_CODES.internal ? 500 : 400;
    this.#send(res, status, response);
  }

  /** The body as text, or undefined when it exceeds `max_body_bytes` (reading stops there; the caller answers and closes). */
  #readBody(req: IncomingMessage): Promise<string | undefined> {
    const max = this.#init.rpc.max_body_bytes;
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > max) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > max) {
          req.off('data', onData);
          req.pause();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.once('error', reject);
    });
  }

  async #onJsonRpc(body: string, res: ServerResponse, ctx: CallContext): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      this.#send(
        res,
        400,
        errorResponse(
          null,
          new RpcError(RPC_ERROR_CODES.parse, `error unmarshaling request: ${(err as Error).message}`),
        ),
      );
      return;
    }
    const batch = Array.isArray(parsed);
    const items = batch ? (parsed as unknown[]) : [parsed];
    if (batch && items.length === 0) {
      this.#send(res, 400, invalidRequest(null, 'empty batch'));
      return;
    }
    const max = this.#init.rpc.max_request_batch_size;
    if (batch && max > 0 && items.length > max) {
      this.#send(
        res,
        400,
        invalidRequest(null, `batch request exceeds maximum (${max}) allowed number of requests`),
      );
      return;
    }
    const responses: Response[] = [];
    for (const item of items) {
      const r = parseRequest(item);
      if (r.kind === 'notification') continue;
      if (r.kind === 'invalid') {
        responses.push(r.response);
        continue;
      }
      const method = Object.hasOwn(this.#methods, r.method) ? this.#methods[r.method] : undefined;
      if (method === undefined || method.ws === true) {
        this.#m.requests.inc({ method: 'unknown', outcome: 'error' });
        responses.push(errorResponse(r.id, methodNotFound(r.method, method)));
        continue;
      }
      responses.push(
        await this.#invoke(r.method, method, r.id, () => paramsFromJson(method.params, r.params), ctx),
      );
    }
    if (responses.length === 0) {
      res.writeHead(204).end();
      return;
    }
    this.#send(res, 200, batch ? responses : responses[0]);
  }

  /** Runs one method; every failure becomes a JSON-RPC error. */
  async #invoke(
    name: string,
    method: MethodSpec,
    id: Id,
    args: () => ReturnType<typeof paramsFromJson>,
    ctx: CallContext,
  ): Promise<Response> {
    const label = methodLabel(this.#methods, name);
    const started = performance.now();
    try {
      const result = await method.call(args(), ctx, id);
      this.#m.requests.inc({ method: label, outcome: 'ok' });
      return { jsonrpc: '2.0', id, result };
    } catch (err) {
      this.#m.requests.inc({ method: label, outcome: 'error' });
      if (!(err instanceof RpcError))
        this.#logger.debug('rpc: method failed', { method: name, error: (err as Error).message });
      return errorResponse(id, err);
    } finally {
      this.#m.duration.observe((performance.now() - started) / 1000, { method: label });
    }
  }

  // ------------------------------------------------------------------ WebSocket

  #onWebSocket(ws: WebSocket, req: IncomingMessage): void {
    if (this.#closing.signal.aborted) {
      ws.terminate();
      return;
    }
    const rpc = this.#init.rpc;
    const client = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}#${++this.#clientSeq}`;
    const abort = new AbortController();
    this.#sockets.add(ws);
    this.#m.websockets.inc();
    let unflushed = 0;
    let alive = true;
    const send = (text: string, isEvent: boolean): boolean => {
      if (ws.readyState !== ws.OPEN) return false;
      if (unflushed >= rpc.experimental_websocket_write_buffer_size) {
        if (isEvent && !rpc.experimental_close_on_slow_client) {
          this.#eventsDropped++;
          this.#m.dropped.inc();
          return false;
        }
        ws.close(1008, 'client too slow: responses not read');
        return false;
      }
      unflushed++;
      ws.send(text, () => {
        unflushed--;
      });
      return true;
    };
    const reply = (r: Response): void => {
      send(JSON.stringify(r), false);
    };
    const subscribe = (query: Query, id: Id): void => {
      this.#bus.subscribe(client, query, (event, text) => {
        const data = event.serialized ?? JSON.stringify({ type: event.type, value: event.value });
        send(
          `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"query":${JSON.stringify(text)},"data":${data},"events":${JSON.stringify(event.events)}}}`,
          true,
        );
      });
      this.#m.subscriptions.set(this.#bus.subscriptionCount);
    };
    const ctx: CallContext = { client, signal: abort.signal, subscribe };
    // Requests are answered one at a time, in order (as CometBFT's read loop); a bounded backlog.
    let queue: Promise<void> = Promise.resolve();
    let queued = 0;
    ws.on('message', (data, isBinary) => {
      if (queued >= WS_MAX_QUEUED_REQUESTS) {
        ws.close(1008, `more than ${WS_MAX_QUEUED_REQUESTS} requests waiting`);
        return;
      }
      queued++;
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data);
      queue = queue
        .then(() => this.#onWsMessage(text, ctx, reply))
        .catch((err: unknown) =>
          this.#logger.error('rpc: websocket request failed', { error: (err as Error).message }),
        )
        .finally(() => {
          queued--;
        });
    });
    ws.on('pong', () => {
      alive = true;
    });
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, WS_PING_INTERVAL_MS);
    ws.on('error', (err) => this.#logger.debug('rpc: websocket error', { client, error: err.message }));
    ws.on('close', () => {
      clearInterval(ping);
      abort.abort();
      this.#bus.unsubscribeAll(client);
      this.#m.subscriptions.set(this.#bus.subscriptionCount);
      this.#sockets.delete(ws);
      this.#m.websockets.dec();
    });
  }

  async #onWsMessage(text: string, ctx: CallContext, reply: (r: Response) => void): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      reply(
        errorResponse(
          null,
          new RpcError(RPC_ERROR_CODES.parse, `error unmarshaling request: ${(err as Error).message}`),
        ),
      );
      return;
    }
    const r = parseRequest(parsed);
    if (r.kind === 'notification') return;
    if (r.kind === 'invalid') {
      reply(r.response);
      return;
    }
    const method = Object.hasOwn(this.#methods, r.method) ? this.#methods[r.method] : undefined;
    if (method === undefined) {
      this.#m.requests.inc({ method: 'unknown', outcome: 'error' });
      reply(errorResponse(r.id, methodNotFound(r.method, undefined)));
      return;
    }
    reply(await this.#invoke(r.method, method, r.id, () => paramsFromJson(method.params, r.params), ctx));
    this.#m.subscriptions.set(this.#bus.subscriptionCount);
  }
}

/**
 * The error of a server that cannot listen on `address` (given as `key`, e.g. `[rpc] laddr`): one
 * line for an operator, CONFIG_INVALID (`EADDRINUSE`: the address is in use, …).
 */
export function cannotListen(key: string, address: string, err: NodeJS.ErrnoException): SynodError {
  const why =
    err.code === 'EADDRINUSE'
      ? 'the address is in use (another synodd or program listens there)'
      : err.code === 'EADDRNOTAVAIL'
        ? 'the address is not one of this machine'
        : err.code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : `${err.code ?? 'error'}: ${err.message}`;
  return new SynodError('CONFIG_INVALID', `${key} ${address}: cannot listen: ${why}`, { cause: err });
}

/** Creates the RPC server (not listening yet; it follows the node's blocks from now on). */
export function createRpcServer(components: RpcComponents, init: RpcInit = {}): RpcServer {
  return new RpcServer(components, init);
}
