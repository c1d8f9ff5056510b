/**
 * The node's CometBFT 0.38 RPC through @cosmjs/tendermint-rpc's
 * Comet38Client (HTTP), with its failures turned into one-line CliErrors:
 * NODE_UNREACHABLE naming the address tried, RPC_ERROR with the node's
 * message, NOT_FOUND for a transaction or height the node does not have.
 * The ledger's queries go through `abci_query` (JSON values).
 */
import { Comet38Client, HttpClient } from '@cosmjs/tendermint-rpc';
import { CliError } from './errors.js';

/** How long one RPC call may take. */
export const RPC_TIMEOUT_MS = 15_000;

/** A JSON-RPC error as cosmjs reports it (its message is the error object's JSON). */
interface JsonRpcErrorBody {
  readonly code: number;
  readonly message: string;
  readonly data?: string;
}

function rpcErrorBody(err: unknown): JsonRpcErrorBody | undefined {
  if (!(err instanceof Error)) return undefined;
  try {
    const body = JSON.parse(err.message) as JsonRpcErrorBody;
    return typeof body?.code === 'number' ? body : undefined;
  } catch {
    return undefined;
  }
}

function networkReason(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      const known: Record<string, string> = {
        ECONNREFUSED: 'connection refused: is the node running?',
        ECONNRESET: 'connection reset',
        ENOTFOUND: 'unknown host',
        EAI_AGAIN: 'host name lookup failed',
        EHOSTUNREACH: 'host unreachable',
        ETIMEDOUT: 'timed out',
        UND_ERR_SOCKET: 'connection closed by the node',
        UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
      };
      if (code in known) return known[code];
    }
    if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'))
      return `no answer within ${RPC_TIMEOUT_MS / 1000} s`;
    e = (e as { cause?: unknown }).cause;
  }
  if (err instanceof Error && /^Bad status on response: (\d+)/.test(err.message))
    return `HTTP ${/(\d+)/.exec(err.message)?.[1]} (is this a Synod/CometBFT RPC address?)`;
  if (err instanceof TypeError && /fetch failed/.test(err.message)) {
    const cause = (err as { cause?: unknown }).cause;
    return `the request failed${cause instanceof Error ? `: ${cause.message}` : ''}`;
  }
  return undefined;
}

/** Turns any failure of a call to `url` into a CliError. */
export function rpcFailure(url: string, method: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  const body = rpcErrorBody(err);
  if (body !== undefined) {
    const why = body.data !== undefined && body.data !== '' ? body.data : body.message;
    if (/not found|must be less than or equal to the current blockchain height|is not available/i.test(why))
      return new CliError('NOT_FOUND', `${method}: ${why}`);
    if (body.code === -32601)
      return new CliError('RPC_ERROR', `${method}: the node at ${url} does not serve ${method} (${why})`);
    return new CliError('RPC_ERROR', `${method}: ${body.message}${why === body.message ? '' : `: ${why}`}`);
  }
  const reason = networkReason(err);
  if (reason !== undefined)
    return new CliError('NODE_UNREACHABLE', `cannot reach the node at ${url} (${reason})`);
  return new CliError('RPC_ERROR', `${method} at ${url}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}

/** A connection to one node. */
export class Node {
  readonly url: string;
  readonly client: Comet38Client;

  constructor(url: string, timeoutMs = RPC_TIMEOUT_MS) {
    this.url = url;
    this.client = Comet38Client.create(new HttpClient(url, timeoutMs));
  }

  /** Runs `f` on the client, mapping failures. */
  async call<T>(method: string, f: (c: Comet38Client) => Promise<T>): Promise<T> {
    try {
      return await f(this.client);
    } catch (err) {
      throw rpcFailure(this.url, method, err);
    }
  }

  /** A raw JSON-RPC call (methods cosmjs does not wrap: consensus_state, net_info, …). */
  async raw<T = unknown>(
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = RPC_TIMEOUT_MS,
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw rpcFailure(this.url, method, err);
    }
    let body: { result?: T; error?: JsonRpcErrorBody };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new CliError('RPC_ERROR', `${method} at ${this.url}: HTTP ${res.status}, not JSON`, {
        cause: err,
      });
    }
    if (body.error !== undefined) throw rpcFailure(this.url, method, new Error(JSON.stringify(body.error)));
    return body.result as T;
  }

  /**
   * A ledger query (`abci_query`): the parsed JSON value. NOT_FOUND for
   * QUERY_NOT_FOUND; RPC_ERROR naming the ledger's code otherwise.
   */
  async query<T>(path: string, data: Uint8Array = new Uint8Array(), height?: number): Promise<T> {
    const r = await this.call(`abci_query ${path}`, (c) =>
      c.abciQuery({ path: `/${path}`, data, ...(height === undefined ? {} : { height }) }),
    );
    if (r.code !== 0) {
      const name = r.codespace ?? '';
      const why = `${path}: ${name !== '' ? name : `code ${r.code}`}${r.log ? `: ${r.log}` : ''}`;
      throw new CliError(name === 'QUERY_NOT_FOUND' ? 'NOT_FOUND' : 'RPC_ERROR', why);
    }
    try {
      return JSON.parse(new TextDecoder().decode(r.value)) as T;
    } catch (err) {
      throw new CliError('RPC_ERROR', `${path}: the node's answer is not JSON`, { cause: err });
    }
  }

  disconnect(): void {
    this.client.disconnect();
  }
}
