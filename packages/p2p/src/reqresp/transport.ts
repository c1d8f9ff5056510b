import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { DecodeError, type ErrorCode, SynodError } from '@synod/types';
import * as lp from 'it-length-prefixed';
import { decodeChunk, encodeChunk, type ResponseChunk } from '../codec/reqresp-messages.js';
import { deadline } from '../deadline.js';

/** Why a request failed. Bounded: safe as a metric label. */
export type RequestFailure =
  /** No connected peer could be asked. */
  | 'no-peers'
  /** The peer is banned. */
  | 'banned'
  /** Could not open a stream for the protocol (unreachable, protocol not supported). */
  | 'dial-failed'
  /** No complete response before the deadline. */
  | 'timeout'
  /** The response exceeded a size or count bound. */
  | 'too-large'
  /** The response did not decode or did not answer the request. */
  | 'invalid-response'
  /** The peer does not have what was asked for. */
  | 'unavailable'
  /** The peer said our request was invalid. */
  | 'invalid-request'
  /** The peer refused the request: we asked it too often. */
  | 'rate-limited'
  /** The peer failed to answer (its own error). */
  | 'server-error'
  /** The stream broke mid-response. */
  | 'stream-error';

const FAILURE_CODE: Readonly<Record<RequestFailure, ErrorCode>> = {
  'no-peers': 'P2P_TIMEOUT',
  banned: 'P2P_PEER_BANNED',
  'dial-failed': 'P2P_TIMEOUT',
  timeout: 'P2P_TIMEOUT',
  'too-large': 'P2P_MESSAGE_TOO_LARGE',
  'invalid-response': 'P2P_INVALID_MESSAGE',
  unavailable: 'STORAGE_NOT_FOUND',
  'invalid-request': 'P2P_INVALID_MESSAGE',
  'rate-limited': 'P2P_RATE_LIMITED',
  'server-error': 'INTERNAL',
  'stream-error': 'P2P_TIMEOUT',
};

/** A failed request: `failure` says why, `peer` who was asked (if anyone). */
export class RequestError extends SynodError {
  constructor(
    readonly failure: RequestFailure,
    readonly protocol: string,
    readonly peer: string | undefined,
    message: string,
    cause?: unknown,
  ) {
    super(FAILURE_CODE[failure], message, {
      ...(cause === undefined ? {} : { cause }),
      details: { failure, protocol, ...(peer === undefined ? {} : { peer }) },
    });
    this.name = 'RequestError';
  }
}

export interface ResponseLimits {
  /** Largest response chunk (result byte included). */
  readonly chunkBytesMax: number;
  /** Most chunks. */
  readonly chunksMax: number;
  /** Most bytes over all chunks. */
  readonly totalBytesMax: number;
}

function isLengthError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'InvalidDataLengthError' || err.name === 'InvalidDataLengthLengthError')
  );
}

function timeoutError(what: string): Error {
  const err = new Error(what);
  err.name = 'TimeoutError';
  return err;
}

/**
 * Sends one request and collects the response chunks. The whole exchange
 * (opening the stream, sending, reading every chunk) must finish within
 * `timeoutMs`. Throws RequestError.
 */
export async function sendRequest(
  node: Libp2p,
  peer: PeerId,
  protocol: string,
  request: Uint8Array,
  timeoutMs: number,
  limits: ResponseLimits,
): Promise<ResponseChunk[]> {
  const timer = deadline(timeoutMs, protocol);
  try {
    return await exchange(node, peer, protocol, request, timeoutMs, limits, timer.signal);
  } finally {
    timer.clear();
  }
}

async function exchange(
  node: Libp2p,
  peer: PeerId,
  protocol: string,
  request: Uint8Array,
  timeoutMs: number,
  limits: ResponseLimits,
  signal: AbortSignal,
): Promise<ResponseChunk[]> {
  const who = peer.toString();
  let stream: Stream;
  try {
    stream = await node.dialProtocol(peer, protocol, { signal });
  } catch (err) {
    if (signal.aborted)
      throw new RequestError('timeout', protocol, who, `${protocol}: no stream within ${timeoutMs} ms`, err);
    throw new RequestError('dial-failed', protocol, who, `${protocol}: cannot open a stream`, err);
  }
  const onAbort = (): void => stream.abort(timeoutError(`${protocol}: timed out after ${timeoutMs} ms`));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    stream.send(lp.encode.single(request));
    await stream.close({ signal });
    const chunks: ResponseChunk[] = [];
    let total = 0;
    for await (const frame of lp.decode(stream, { maxDataLength: limits.chunkBytesMax })) {
      total += frame.byteLength;
      if (chunks.length >= limits.chunksMax || total > limits.totalBytesMax) {
        throw new RequestError(
          'too-large',
          protocol,
          who,
          `${protocol}: response exceeds ${limits.chunksMax} chunks / ${limits.totalBytesMax} bytes`,
        );
      }
      chunks.push(decodeChunk(frame.subarray()));
    }
    return chunks;
  } catch (err) {
    if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    if (signal.aborted)
      throw new RequestError('timeout', protocol, who, `${protocol}: timed out after ${timeoutMs} ms`, err);
    if (err instanceof RequestError) throw err;
    if (isLengthError(err))
      throw new RequestError('too-large', protocol, who, `${protocol}: response chunk too large`, err);
    if (err instanceof DecodeError)
      throw new RequestError('invalid-response', protocol, who, `${protocol}: ${err.message}`, err);
    throw new RequestError('stream-error', protocol, who, `${protocol}: stream failed`, err);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Answers one request with response chunks, as a list or produced one at a
 * time (each chunk is written before the next is asked for, so a large
 * response never sits in memory whole). Throwing a DecodeError before the
 * first chunk answers INVALID_REQUEST; any other throw answers SERVER_ERROR
 * (after the chunks already written, if any).
 */
export type RequestHandler = (
  request: Uint8Array,
  peer: PeerId,
) => Promise<Iterable<ResponseChunk> | AsyncIterable<ResponseChunk>>;

/** Why serving a request went wrong on the requester's side. */
export type BadRequestKind = 'oversized-message' | 'bad-request';

export interface ServeOptions {
  readonly protocol: string;
  /** Largest request accepted. */
  readonly requestBytesMax: number;
  /** How long the requester has to send its request. */
  readonly readTimeoutMs: number;
  /** How long writing the response may take. */
  readonly writeTimeoutMs: number;
  readonly handler: RequestHandler;
  /**
   * Whether `peer` may be served now (its rate limit), asked once per
   * well-formed request before the handler runs. A refused request is
   * answered with one RATE_LIMITED chunk and the stream is closed.
   */
  admit(peer: PeerId): boolean;
  /** Called when a requester misbehaves (oversized or malformed request). */
  onBadRequest(peer: PeerId, kind: BadRequestKind): void;
  /** Called when a request is refused by `admit`. */
  onRateLimited(peer: PeerId): void;
  /** Called once per request with its outcome (for metrics). */
  onServed(result: ServeResult): void;
}

/** How serving one request ended. Bounded: safe as a metric label. */
export type ServeResult = 'ok' | 'invalid-request' | 'server-error' | 'rate-limited' | 'aborted';

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s.slice(0, 200));
}

/** Serves one inbound stream: reads exactly one request frame, writes the handler's chunks, closes. */
export async function serveStream(stream: Stream, connection: Connection, o: ServeOptions): Promise<void> {
  const peer = connection.remotePeer;
  const readDeadline = deadline(o.readTimeoutMs, `${o.protocol} request`);
  const onReadAbort = (): void => stream.abort(timeoutError(`${o.protocol}: request not received in time`));
  readDeadline.signal.addEventListener('abort', onReadAbort, { once: true });
  const frames: Uint8Array[] = [];
  try {
    // the requester closes its side after the request, which ends this loop
    for await (const frame of lp.decode(stream, { maxDataLength: o.requestBytesMax })) {
      frames.push(frame.subarray());
      if (frames.length > 1) break;
    }
  } catch (err) {
    if (isLengthError(err)) o.onBadRequest(peer, 'oversized-message');
    if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    o.onServed('aborted');
    return;
  } finally {
    readDeadline.signal.removeEventListener('abort', onReadAbort);
    readDeadline.clear();
  }
  const request = frames[0];
  if (frames.length === 0) {
    // No request at all: the stream ended before one came, which an honest requester's cut or closed
    // connection does too (a chaos run banned honest peers behind a slow link for it). Not a penalty;
    // it spends a request of the peer's rate limit, so that empty streams cannot be opened for free.
    if (!o.admit(peer)) o.onRateLimited(peer);
    o.onServed('aborted');
    return;
  }
  if (frames.length !== 1 || request === undefined) {
    o.onBadRequest(peer, 'bad-request');
    stream.abort(new Error(`${o.protocol}: expected exactly one request frame`));
    o.onServed('invalid-request');
    return;
  }
  const writeDeadline = deadline(o.writeTimeoutMs, `${o.protocol} response`);
  const write = async (chunk: ResponseChunk): Promise<void> => {
    if (!stream.send(lp.encode.single(encodeChunk(chunk))))
      await stream.onDrain({ signal: writeDeadline.signal });
  };
  let result: ServeResult = 'ok';
  try {
    if (!o.admit(peer)) {
      o.onRateLimited(peer);
      result = 'rate-limited';
      await write({ result: 'RATE_LIMITED', payload: utf8(`${o.protocol}: rate limited, ask less often`) });
    } else {
      let written = 0;
      try {
        for await (const chunk of await o.handler(request, peer)) {
          if (writeDeadline.signal.aborted) throw new Error(`${o.protocol}: response took too long`);
          await write(chunk);
          written++;
        }
      } catch (err) {
        if (stream.status !== 'open' || writeDeadline.signal.aborted) throw err;
        if (err instanceof DecodeError && written === 0) {
          o.onBadRequest(peer, 'bad-request');
          result = 'invalid-request';
          await write({ result: 'INVALID_REQUEST', payload: utf8(err.message) });
        } else {
          result = 'server-error';
          await write({ result: 'SERVER_ERROR', payload: utf8('internal error') });
        }
      }
    }
    await stream.close({ signal: writeDeadline.signal });
    o.onServed(result);
  } catch (err) {
    if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)));
    o.onServed('aborted');
  } finally {
    writeDeadline.clear();
  }
}
