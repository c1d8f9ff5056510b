import type { PeerId } from '@libp2p/interface';
import { SynodError } from '@synod/types';
import type { PenaltyReason } from './peers/reputation.js';

/**
 * Protocol violations gossipsub drops before our validation ever sees them.
 * Bounded: safe as a metric label.
 */
export const GOSSIP_VIOLATIONS = [
  /** An RPC frame that does not decode (or exceeds the RPC decode limits). */
  'malformed-rpc',
  /** A frame larger than `maxInboundDataLength` (gossipsub closes the stream). */
  'oversized-frame',
  /** A message on a topic that is not ours (gossipsub's allowedTopics drops it). */
  'unknown-topic',
  /** A message with fields StrictNoSign forbids (from, seqno, signature, key). */
  'forbidden-fields',
  /** A copy of a message we already rejected as provably invalid. */
  'invalid-duplicate',
] as const;
export type GossipViolation = (typeof GOSSIP_VIOLATIONS)[number];

/** What each violation costs the peer in reputation. */
export function penaltyOfViolation(v: GossipViolation): PenaltyReason {
  return v === 'oversized-frame' ? 'oversized-message' : 'gossip-protocol';
}

export interface GossipGuardDeps {
  /** True for the topic names this node serves. */
  isOurTopic(topic: string): boolean;
  /** Charges `peer` for a violation (penalty, metric, log; may ban it). */
  violation(peer: string, kind: GossipViolation): void;
  /** How many rejected message ids to remember for duplicate detection. @default 8192 */
  readonly rejectedIdsMax?: number;
}

/** What the network tells the guard. */
export interface GossipGuard {
  /**
   * `msgId` was REJECTed for a reason every correct node agrees on (not an
   * application precheck that depends on local state): its copies are
   * `invalid-duplicate` violations from now on.
   */
  provenInvalid(msgId: string): void;
}

/** A frame as gossipsub's read loop sees it (a Uint8ArrayList: it only calls subarray()). */
interface Frame {
  subarray(): Uint8Array;
}

interface RpcLike {
  readonly messages?: readonly { readonly topic?: string; data?: Uint8Array }[];
}

/**
 * Gives each decoded message's data its own buffer when it is a small view into
 * a larger one (the frame, itself often a view into a 64 KiB socket read):
 * otherwise a 129-byte vote waiting in gossipsub's message cache or in our
 * queues keeps the whole buffer alive, and byte budgets would count the wrong
 * bytes.
 */
export function compactRpcMessages(rpc: RpcLike): void {
  for (const m of rpc.messages ?? []) {
    const data = m.data;
    if (data !== undefined && data.byteLength * 2 < data.buffer.byteLength) m.data = data.slice();
  }
}

/** The members of @libp2p/gossipsub 17's router the guard wraps (some private in its typings). */
interface RouterInternals {
  decodeRpc(bytes: Uint8Array): unknown;
  pipePeerReadStream(peerId: PeerId, source: AsyncIterable<Frame>): Promise<void>;
  handlePeerReadStreamError(err: unknown, peerId: PeerId): void;
  handleReceivedRpc(from: PeerId, rpc: RpcLike): Promise<void>;
  readonly score: {
    rejectInvalidMessage(from: string, topic: string): void;
    duplicateMessage(from: string, msgIdStr: string, topic: string): void;
  };
}

const HOOKED = ['decodeRpc', 'pipePeerReadStream', 'handlePeerReadStreamError', 'handleReceivedRpc'] as const;

/** Errors of it-length-prefixed for a frame whose length is over the limit (or not a length). */
const OVERSIZE_ERRORS = new Set([
  'InvalidDataLengthError',
  'InvalidDataLengthLengthError',
  'InvalidMessageLengthError',
]);

/**
 * Makes gossipsub-level garbage cost the sender. Gossipsub drops these before
 * our validation (at most its own P4 counter notices some of them), so a
 * peer could send them forever at no cost: undecodable RPC frames, frames
 * over `maxInboundDataLength`, messages on topics that are not ours, messages
 * with fields StrictNoSign forbids, and copies of a message we rejected
 * (`provenInvalid`; gossipsub remembers its id for `seenTtlMs`). Each
 * is reported through `violation` (the network penalises the peer; repeat
 * offenders are banned and disconnected).
 *
 * It also copies small messages out of the frame they arrived in
 * (`compactRpcMessages`), so what waits for validation holds only its own bytes.
 *
 * It wraps members of the router instance (@libp2p/gossipsub 17 has no hooks
 * for these); it refuses to install on a version without them.
 */
export function guardGossipRouter(router: object, deps: GossipGuardDeps): GossipGuard {
  const r = router as RouterInternals;
  for (const name of HOOKED) {
    if (typeof (r as unknown as Record<string, unknown>)[name] !== 'function')
      throw new SynodError('INTERNAL', `unsupported @libp2p/gossipsub: no ${name}`);
  }
  if (typeof r.score?.rejectInvalidMessage !== 'function' || typeof r.score?.duplicateMessage !== 'function')
    throw new SynodError('INTERNAL', 'unsupported @libp2p/gossipsub: no peer score hooks');

  // malformed frames: the read loop calls frame.subarray() and then decodeRpc(bytes)
  // synchronously, so the bytes identify the peer they came from
  const senderOf = new WeakMap<Uint8Array, PeerId>();
  const decodeRpc = r.decodeRpc.bind(r);
  r.decodeRpc = (bytes) => {
    let rpc: unknown;
    try {
      rpc = decodeRpc(bytes);
    } catch (err) {
      const peer = senderOf.get(bytes);
      if (peer !== undefined) deps.violation(peer.toString(), 'malformed-rpc');
      throw err;
    }
    compactRpcMessages(rpc as RpcLike);
    return rpc;
  };
  const pipe = r.pipePeerReadStream.bind(r);
  r.pipePeerReadStream = (peerId, source) =>
    pipe(
      peerId,
      (async function* tagged() {
        for await (const frame of source) {
          yield {
            subarray: () => {
              const bytes = frame.subarray();
              senderOf.set(bytes, peerId);
              return bytes;
            },
          };
        }
      })(),
    );

  // oversized frames end the read stream with a length error
  const streamError = r.handlePeerReadStreamError.bind(r);
  r.handlePeerReadStreamError = (err, peerId) => {
    const name = err instanceof Error ? err.name : undefined;
    if (name !== undefined && OVERSIZE_ERRORS.has(name)) deps.violation(peerId.toString(), 'oversized-frame');
    streamError(err, peerId);
  };

  // messages on topics that are not ours: once per RPC
  const handleRpc = r.handleReceivedRpc.bind(r);
  r.handleReceivedRpc = (from, rpc) => {
    const messages = rpc.messages ?? [];
    for (const m of messages) {
      if (!deps.isOurTopic(m.topic ?? '')) {
        deps.violation(from.toString(), 'unknown-topic');
        break;
      }
    }
    return handleRpc(from, rpc);
  };

  // forbidden fields (StrictNoSign): gossipsub only feeds its P4 counter
  const score = r.score;
  const rejectInvalid = score.rejectInvalidMessage.bind(score);
  score.rejectInvalidMessage = (from, topic) => {
    deps.violation(from, 'forbidden-fields');
    rejectInvalid(from, topic);
  };

  // copies of a message proven invalid: the ids the network reports (bounded, oldest forgotten first)
  const rejectedMax = deps.rejectedIdsMax ?? 8192;
  const rejected = new Set<string>();
  const duplicate = score.duplicateMessage.bind(score);
  score.duplicateMessage = (from, msgIdStr, topic) => {
    if (rejected.has(msgIdStr)) deps.violation(from, 'invalid-duplicate');
    duplicate(from, msgIdStr, topic);
  };
  return {
    provenInvalid(msgId: string): void {
      rejected.add(msgId);
      if (rejected.size > rejectedMax) {
        const oldest = rejected.values().next();
        if (oldest.done !== true) rejected.delete(oldest.value);
      }
    },
  };
}
