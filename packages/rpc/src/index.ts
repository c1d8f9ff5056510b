/**
 * @synod/rpc — CometBFT 0.38's JSON-RPC and WebSocket API over a Synod node,
 * so that existing clients (cosmjs' `@cosmjs/tendermint-rpc`, explorers,
 * scripts) work unmodified; with the transaction indexer behind `tx` and
 * `tx_search`. This file is the package's only public surface.
 */

export { ChainReader, type ChainStorage } from './chain.js';
export { cometCode, DERIVED_CODE_BASE, RESULT_CODE_NUMBERS, resultCodeNumber } from './codes.js';
export type { RpcComponents, RpcNode, RpcNodeInfo, RpcPeer } from './components.js';
export {
  parseDurationMs,
  parseTcpAddress,
  type ResolvedRpcInit,
  RPC_DEFAULTS,
  type RpcConfig,
  type RpcInit,
  resolveRpcInit,
  TX_INDEX_DEFAULTS,
  type TxIndexConfig,
} from './config.js';
export {
  BLOCK_PROTOCOL_VERSION,
  EMPTY_BLOCK_ID,
  PUB_KEY_TYPE,
  partSetHash,
  rfc3339,
  ZERO_TIME,
} from './encode.js';
export { RPC_ERROR_CODES, RpcError, type RpcErrorObject } from './errors.js';
export { type BusEvent, EventBus, type EventBusLimits } from './events.js';
export {
  INDEXED_VALUE_MAX_BYTES,
  type IndexedBlock,
  type IndexedTx,
  SEARCH_SCAN_MAX,
  TxIndexer,
  type TxIndexerOptions,
  txEventMap,
} from './indexer.js';
export {
  BLOCKCHAIN_LIMIT,
  COMETBFT_RPC_VERSION,
  DEFAULT_PER_PAGE,
  GENESIS_CHUNK_BYTES,
  MAX_ASYNC_CHECKS,
  MAX_PER_PAGE,
} from './methods.js';
export {
  type EventMap,
  MAX_QUERY_LENGTH,
  Query,
  type QueryArg,
  type QueryCondition,
  QueryError,
  type QueryOp,
} from './query.js';
export {
  cannotListen,
  createRpcServer,
  HTTP_REQUEST_TIMEOUT_MS,
  RpcServer,
  WS_MAX_QUEUED_REQUESTS,
  WS_PING_INTERVAL_MS,
} from './server.js';
