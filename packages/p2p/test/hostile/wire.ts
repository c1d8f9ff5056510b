/**
 * Gossipsub wire frames written by hand: what a peer outside the project can
 * put on a `/meshsub` stream, valid or not. An RPC frame is an unsigned-varint
 * length prefix and a protobuf `RPC { subscriptions, messages, control }`.
 */
import { RPC } from '@libp2p/gossipsub/message';

/** The gossipsub protocol a Synod node speaks (libp2p negotiates 1.1.0 with @libp2p/gossipsub 17). */
export const MESHSUB = '/meshsub/1.1.0';

/** One message of an RPC, with any of the fields StrictNoSign forbids. */
export interface RawMessage {
  readonly topic: string;
  readonly data: Uint8Array;
  readonly from?: Uint8Array;
  readonly seqno?: Uint8Array;
  readonly signature?: Uint8Array;
  readonly key?: Uint8Array;
}

/** An RPC (protobuf, without its length prefix) carrying `messages`. */
export function rpcBytes(messages: readonly RawMessage[], subscribe: readonly string[] = []): Uint8Array {
  return RPC.encode({
    subscriptions: subscribe.map((topic) => ({ subscribe: true, topic })),
    messages: messages.map((m) => ({ ...m })),
  });
}

/** The unsigned varint of `n` (it-length-prefixed's framing). */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return new Uint8Array(out);
}

/** A length-prefixed frame of any size, ready for the stream. */
export function frame(bytes: Uint8Array): Uint8Array {
  const prefix = varint(bytes.length);
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix, 0);
  out.set(bytes, prefix.length);
  return out;
}

/** A frame whose RPC does not decode: field 2 (messages) claims 5 bytes and has 1. */
export function malformedRpcFrame(salt: number): Uint8Array {
  return frame(new Uint8Array([0x12, 0x05, salt & 0xff]));
}

/**
 * The start of a frame whose length prefix announces `bytes` (over any
 * inbound limit): a receiver must refuse it from the prefix alone.
 */
export function oversizeFramePrefix(bytes = 64 * 1024 * 1024): Uint8Array {
  return new Uint8Array([...varint(bytes), 1, 2, 3, 4]);
}
