/**
 * JSON-RPC errors with CometBFT 0.38's codes and messages
 * (rpc/jsonrpc/types): the code and `message` are CometBFT's, `data` says
 * what went wrong in words. A method that fails (a height above the tip, a
 * transaction not found, …) is an `Internal error` (-32603) with the reason
 * in `data`, exactly as CometBFT answers.
 */

export const RPC_ERROR_CODES = Object.freeze({
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  server: -32000,
});

const MESSAGES: Readonly<Record<number, string>> = {
  [-32700]: 'Parse error. Invalid JSON',
  [-32600]: 'Invalid Request',
  [-32601]: 'Method not found',
  [-32602]: 'Invalid params',
  [-32603]: 'Internal error',
  [-32000]: 'Server error',
};

/** The `error` member of a JSON-RPC response. */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: string;
}

/** A JSON-RPC error a method or the server raises; `data` is the readable reason. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: string;

  constructor(code: number, data: string) {
    super(`${MESSAGES[code] ?? 'Error'}: ${data}`);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }

  toObject(): RpcErrorObject {
    return { code: this.code, message: MESSAGES[this.code] ?? 'Error', data: this.data };
  }
}

/** A method's failure (CometBFT: the handler returned an error): -32603 with the reason. */
export function methodError(reason: string): RpcError {
  return new RpcError(RPC_ERROR_CODES.internal, reason);
}

/** A parameter that does not convert to the method's argument: -32602. */
export function paramsError(reason: string): RpcError {
  return new RpcError(RPC_ERROR_CODES.invalidParams, `error converting json params to arguments: ${reason}`);
}

/** Any thrown value as a JSON-RPC error object (unexpected errors become -32603 with their message). */
export function toErrorObject(err: unknown): RpcErrorObject {
  if (err instanceof RpcError) return err.toObject();
  const reason = err instanceof Error ? err.message : String(err);
  return {
    code: RPC_ERROR_CODES.internal,
    message: MESSAGES[RPC_ERROR_CODES.internal] as string,
    data: reason,
  };
}
