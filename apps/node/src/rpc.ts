/**
 * A minimal JSON-RPC 2.0 server over node:http with CometBFT 0.38's `health`
 * and `status`: POST / with a JSON-RPC request (or a batch), or GET /health
 * and GET /status (CometBFT's URI form, answered with id -1). The RPC issue
 * extends it to the full surface.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SynodError } from '@synod/types';

/** JSON-RPC 2.0 error codes (the specification's). */
export const RPC_ERRORS = Object.freeze({
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
});

/** A method's failure, sent as a JSON-RPC error. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: string | undefined;
  constructor(code: number, message: string, data?: string) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

export type RpcMethod = (params: unknown) => unknown | Promise<unknown>;

export interface RpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly methods: Readonly<Record<string, RpcMethod>>;
  readonly maxOpenConnections: number;
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
}

type Id = string | number | null;

interface Envelope {
  readonly jsonrpc: '2.0';
  readonly id: Id;
  readonly result?: unknown;
  readonly error?: { code: number; message: string; data?: string };
}

function errorEnvelope(id: Id, code: number, message: string, data?: string): Envelope {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export class RpcServer {
  readonly #server: Server;
  readonly #options: RpcServerOptions;

  private constructor(server: Server, options: RpcServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  /** Binds the address now (so a port in use is found before the node starts). */
  static async listen(options: RpcServerOptions): Promise<RpcServer> {
    const server = createServer({ maxHeaderSize: options.maxHeaderBytes });
    const rpc = new RpcServer(server, options);
    server.maxConnections = options.maxOpenConnections;
    server.keepAliveTimeout = 5000;
    server.on('request', (req, res) => {
      rpc.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await listen(server, options.host, options.port, '[rpc] laddr');
    return rpc;
  }

  /** The address bound (the port is the OS's choice when 0 was asked). */
  address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname !== '/') {
      const method = url.pathname.slice(1);
      const params = Object.fromEntries(url.searchParams);
      this.#send(res, 200, await this.#call({ jsonrpc: '2.0', id: -1, method, params }));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST' }).end();
      return;
    }
    const body = await this.#readBody(req);
    if (body === undefined) {
      // Answer, then drop the connection: the rest of the body is never read.
      res.setHeader('connection', 'close');
      res.on('finish', () => req.destroy());
      this.#send(res, 413, errorEnvelope(null, RPC_ERRORS.invalidRequest, 'request body too large'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      this.#send(res, 200, errorEnvelope(null, RPC_ERRORS.parse, 'Parse error'));
      return;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) {
        this.#send(res, 200, errorEnvelope(null, RPC_ERRORS.invalidRequest, 'Invalid Request: empty batch'));
        return;
      }
      const out: Envelope[] = [];
      for (const item of parsed.slice(0, 100)) out.push(await this.#call(item));
      this.#send(res, 200, out);
      return;
    }
    this.#send(res, 200, await this.#call(parsed));
  }

  async #call(request: unknown): Promise<Envelope> {
    if (!isRecord(request) || request.jsonrpc !== '2.0' || typeof request.method !== 'string')
      return errorEnvelope(null, RPC_ERRORS.invalidRequest, 'Invalid Request');
    const id: Id =
      typeof request.id === 'string' || typeof request.id === 'number' || request.id === null
        ? request.id
        : null;
    const method = Object.hasOwn(this.#options.methods, request.method)
      ? this.#options.methods[request.method]
      : undefined;
    if (method === undefined)
      return errorEnvelope(id, RPC_ERRORS.methodNotFound, 'Method not found', `no method ${request.method}`);
    try {
      return { jsonrpc: '2.0', id, result: await method(request.params) };
    } catch (err) {
      if (err instanceof RpcError) return errorEnvelope(id, err.code, err.message, err.data);
      return errorEnvelope(id, RPC_ERRORS.internal, 'Internal error', (err as Error).message);
    }
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** The body, or undefined when it exceeds max_body_bytes. */
  async #readBody(req: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.#options.maxBodyBytes) return undefined;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** `server.listen`, with EADDRINUSE and friends turned into one clear CONFIG_INVALID line naming `key`. */
export function listen(server: Server, host: string, port: number, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is in use (another synodd or program listens there)'
          : err.code === 'EADDRNOTAVAIL'
            ? 'the address is not one of this machine'
            : err.code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges)'
              : `${err.code ?? 'error'}: ${err.message}`;
      reject(
        new SynodError('CONFIG_INVALID', `${key} ${formatHostPort(host, port)}: cannot listen: ${why}`, {
          cause: err,
        }),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
