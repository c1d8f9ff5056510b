import type { PeerId } from '@libp2p/interface';
import { type Clock, SynodError } from '@synod/types';
import { wallClock } from './clock.js';
import { DEFAULT_MESSAGE_LIMITS, proposalBytesMax } from './limits.js';
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
  /**
   * Messages beyond the peer's inbound budget (dropped before gossipsub):
   * reported at most once per `chargeIntervalMs` while the peer floods.
   */
  'gossip-flood',
] as const;
export type GossipViolation = (typeof GOSSIP_VIOLATIONS)[number];

/** What each violation costs the peer in reputation. */
export function penaltyOfViolation(v: GossipViolation): PenaltyReason {
  if (v === 'oversized-frame') return 'oversized-message';
  if (v === 'gossip-flood') return 'gossip-flood';
  return 'gossip-protocol';
}

/**
 * What one peer may send us in gossip messages (token buckets, refilled
 * continuously). An honest peer forwards each message of the network at most
 * once, so it never sends more than the whole network produces: with 100
 * validators, each round is ~200 votes plus a proposal (≤ `block.maxBytes`,
 * 4 MiB by default) and its parts; rounds take ≥ 100 ms at the fastest, so
 * 2,000 votes/s and a proposal or two a second is the honest peak.
 * Transactions share the budget (a tx-heavy network relays at most mempool
 * ingress). The bursts allow a peer that reconnects to flush its backlog
 * (catch-up itself goes through block-range requests, not gossip). The bytes
 * follow the largest proposal (`inboundGossipBudgetFor`): every byte read is
 * decrypted, and a flood of large messages that are then ignored (proposals
 * for far heights) costs the node about as much per byte as any other, so
 * the byte allowance is what one peer can make the node decrypt. Repeated
 * overruns lead to a ban.
 */
export interface InboundGossipBudget {
  /** Messages per second, sustained. @default 2000 */
  readonly messagesPerSecond: number;
  /** Messages a peer may send at once beyond the sustained rate. @default 4000 */
  readonly messagesBurst: number;
  /** Message data bytes per second, sustained. @default two of the largest proposals (8 MiB with 4 MiB blocks) */
  readonly bytesPerSecond: number;
  /**
   * Bytes a peer may send at once (a message larger than this passes on a
   * full bucket). @default four of the largest proposals (16 MiB with 4 MiB blocks)
   */
  readonly bytesBurst: number;
  /** A flooding peer is charged at most once per this many ms. @default 1000 */
  readonly chargeIntervalMs: number;
  /**
   * A peer whose stream was paused for want of budget is read again once it
   * has earned this many ms of its sustained rate (capped by the bursts): a
   * flooder is read in slices, a few times a second, not a frame per token.
   * @default 100
   */
  readonly resumeAfterMs: number;
  /** Most peers whose buckets are kept (the least recently active are forgotten). @default 10000 */
  readonly trackedPeersMax: number;
}

/**
 * The default budget for a chain whose largest gossiped proposal is
 * `proposalBytes` (`proposalBytesMax(limits)`, from `block.maxBytes`): two
 * such proposals a second, four at once.
 */
export function inboundGossipBudgetFor(proposalBytes: number): InboundGossipBudget {
  return Object.freeze({
    messagesPerSecond: 2_000,
    messagesBurst: 4_000,
    bytesPerSecond: 2 * proposalBytes,
    bytesBurst: 4 * proposalBytes,
    chargeIntervalMs: 1_000,
    resumeAfterMs: 100,
    trackedPeersMax: 10_000,
  });
}

/** The budget with the default message limits (4 MiB blocks). */
export const DEFAULT_INBOUND_GOSSIP_BUDGET: InboundGossipBudget = inboundGossipBudgetFor(
  proposalBytesMax(DEFAULT_MESSAGE_LIMITS),
);

/** What the inbound budget held back: messages dropped (before gossipsub saw them), and stream pauses. */
export interface InboundDrops {
  readonly messages: number;
  readonly bytes: number;
  /** Times the peer's gossipsub stream was paused until its budget refilled. */
  readonly paused: number;
}

export interface GossipGuardDeps {
  /** True for the topic names this node serves. */
  isOurTopic(topic: string): boolean;
  /** Charges `peer` for a violation (penalty, metric, log; may ban it). */
  violation(peer: string, kind: GossipViolation): void;
  /** How many rejected message ids to remember for duplicate detection. @default 8192 */
  readonly rejectedIdsMax?: number;
  /** Per-peer inbound gossip budget. @default DEFAULT_INBOUND_GOSSIP_BUDGET */
  readonly budget?: Partial<InboundGossipBudget>;
  /** Time for the budget's buckets. @default the wall clock */
  readonly clock?: Clock;
  /** Called with what the budget dropped from one RPC of `peer` (for a metric). */
  dropped?(peer: string, messages: number, bytes: number): void;
  /** Called when `peer`'s stream is paused for want of budget (for a metric). */
  paused?(peer: string): void;
  /**
   * Looks at each message within the budget before gossipsub does: true drops
   * it there (no seen-cache entry, score record or message-cache slot). For
   * what validation would IGNORE on its face (`screenGossipMessage`); the
   * caller accounts for it.
   */
  screen?(peer: string, topic: string, data: Uint8Array): boolean;
}

/** What the network tells the guard. */
export interface GossipGuard {
  /**
   * `msgId` was REJECTed for a reason every correct node agrees on (not an
   * application precheck that depends on local state): its copies are
   * `invalid-duplicate` violations from now on.
   */
  provenInvalid(msgId: string): void;
  /** What the inbound budget dropped so far, from `peer` or from all peers. */
  drops(peer?: string): InboundDrops;
}

/** A frame as gossipsub's read loop sees it (a Uint8ArrayList: it only calls subarray()). */
interface Frame {
  subarray(): Uint8Array;
  readonly byteLength?: number;
}

interface RpcLike {
  messages?: { readonly topic?: string; data?: Uint8Array }[];
}

interface Bucket {
  messages: number;
  bytes: number;
  atMs: number;
  /** When the peer was last charged for a flood (-Infinity: never). */
  chargedAtMs: number;
  droppedMessages: number;
  droppedBytes: number;
  /** Times its stream was paused for want of budget. */
  paused: number;
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
    if (data === undefined || data.byteLength * 2 >= data.buffer.byteLength) continue;
    // a copy (Buffer#slice, unlike Uint8Array#slice, is a view, and decoded data is often a Buffer)
    const own = new Uint8Array(data.byteLength);
    own.set(data);
    m.data = own;
  }
}

/** A libp2p stream's read side, as far as pausing it goes (no window updates while paused). */
interface PausableStream {
  pause(): void;
  resume(): void;
}

/** The members of @libp2p/gossipsub 17's router the guard wraps (some private in its typings). */
interface RouterInternals {
  /** The inbound stream of each peer: the raw stream and the frames read from it. */
  readonly streamsInbound: Map<string, { readonly rawStream: PausableStream; readonly source: unknown }>;
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
 * It enforces a per-peer inbound budget (`InboundGossipBudget`, token
 * buckets on `clock`) before gossipsub's seen cache. A peer that has spent
 * it is not read: its stream is paused (no yamux window updates, so the
 * sender stalls) until it has earned `resumeAfterMs` of budget, so a flood
 * costs neither decryption nor decoding beyond the budget. Messages of a
 * frame beyond what is left are dropped unseen. A peer over its budget is
 * charged `gossip-flood` (at most once per `chargeIntervalMs`).
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
  if (!(r.streamsInbound instanceof Map))
    throw new SynodError('INTERNAL', 'unsupported @libp2p/gossipsub: no streamsInbound');

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

  // oversized frames end the read stream with a length error
  const streamError = r.handlePeerReadStreamError.bind(r);
  r.handlePeerReadStreamError = (err, peerId) => {
    const name = err instanceof Error ? err.name : undefined;
    if (name !== undefined && OVERSIZE_ERRORS.has(name)) deps.violation(peerId.toString(), 'oversized-frame');
    streamError(err, peerId);
  };

  // the inbound budget: messages beyond it never reach gossipsub (its seen
  // cache, its score records, our validation)
  const budget: InboundGossipBudget = { ...DEFAULT_INBOUND_GOSSIP_BUDGET, ...deps.budget };
  const clock = deps.clock ?? wallClock;
  const buckets = new Map<string, Bucket>();
  let droppedMessages = 0;
  let droppedBytes = 0;
  let paused = 0;
  /** A peer over its budget is charged `gossip-flood`, at most once per interval. */
  const overBudget = (peer: string, b: Bucket, now: number): void => {
    if (now - b.chargedAtMs < budget.chargeIntervalMs) return;
    b.chargedAtMs = now;
    deps.violation(peer, 'gossip-flood');
  };
  const bucketOf = (peer: string, now: number): Bucket => {
    let b = buckets.get(peer);
    if (b === undefined) {
      b = {
        messages: budget.messagesBurst,
        bytes: budget.bytesBurst,
        atMs: now,
        chargedAtMs: Number.NEGATIVE_INFINITY,
        droppedMessages: 0,
        droppedBytes: 0,
        paused: 0,
      };
    } else {
      const dt = Math.max(0, now - b.atMs) / 1000;
      b.messages = Math.min(budget.messagesBurst, b.messages + dt * budget.messagesPerSecond);
      b.bytes = Math.min(budget.bytesBurst, b.bytes + dt * budget.bytesPerSecond);
      b.atMs = now;
      buckets.delete(peer);
    }
    // most recently active last: the first entries are the ones to forget
    buckets.set(peer, b);
    while (buckets.size > budget.trackedPeersMax) {
      const oldest = buckets.keys().next();
      if (oldest.done === true) break;
      buckets.delete(oldest.value);
    }
    return b;
  };
  const withinBudget = (peer: string, rpc: RpcLike): void => {
    const messages = rpc.messages;
    if (messages === undefined || messages.length === 0) return;
    const now = clock.now();
    const b = bucketOf(peer, now);
    let kept = 0;
    let dropMsgs = 0;
    let dropBytes = 0;
    for (const m of messages) {
      const size = m.data?.byteLength ?? 0;
      // a message larger than the burst passes on a full bucket (and leaves it in debt)
      if (b.messages >= 1 && b.bytes >= Math.min(size, budget.bytesBurst)) {
        b.messages -= 1;
        b.bytes -= size;
        messages[kept++] = m;
      } else {
        dropMsgs += 1;
        dropBytes += size;
      }
    }
    if (dropMsgs === 0) return;
    messages.length = kept;
    b.droppedMessages += dropMsgs;
    b.droppedBytes += dropBytes;
    droppedMessages += dropMsgs;
    droppedBytes += dropBytes;
    deps.dropped?.(peer, dropMsgs, dropBytes);
    overBudget(peer, b, now);
  };

  // Backpressure: when a peer has spent its budget, its gossipsub stream is
  // paused (no yamux window updates, so the sender stalls once its window is
  // full) until the budget refills, instead of reading, decrypting and
  // decoding what would then be dropped. The read loop takes the next frame
  // only after the previous one went through handleReceivedRpc (which spends
  // the budget), so the check between frames sees what it cost.
  /** What a paused peer must have earned before it is read again (and at least its waiting frame's bytes). */
  const resumeMessages = Math.min(
    budget.messagesBurst,
    Math.max(1, (budget.messagesPerSecond * budget.resumeAfterMs) / 1000),
  );
  const resumeBytes = Math.min(budget.bytesBurst, (budget.bytesPerSecond * budget.resumeAfterMs) / 1000);
  /**
   * True when `peer` cannot afford a frame of `size` bytes now (withinBudget's
   * rule: a message larger than the byte burst needs a full bucket).
   */
  const cannotAfford = (peer: string, size: number): boolean => {
    const b = bucketOf(peer, clock.now());
    return b.messages < 1 || b.bytes < Math.min(size, budget.bytesBurst);
  };
  /** How long until `peer` has earned what resuming with a frame of `size` bytes needs (0: now). */
  const owedMs = (peer: string, size: number): number => {
    const b = bucketOf(peer, clock.now());
    const bytes = Math.max(resumeBytes, Math.min(size, budget.bytesBurst));
    const seconds = Math.max(
      (resumeMessages - b.messages) / budget.messagesPerSecond,
      (bytes - b.bytes) / budget.bytesPerSecond,
    );
    return seconds <= 0 ? 0 : Math.max(1, Math.ceil(seconds * 1000));
  };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(ms, resolve));
  /** Pauses `raw` (the peer's stream) until `peer` has earned a frame of `size` bytes and more. */
  const holdBack = async (peer: string, raw: PausableStream | undefined, size: number): Promise<void> => {
    const now = clock.now();
    const b = bucketOf(peer, now);
    b.paused += 1;
    paused += 1;
    deps.paused?.(peer);
    overBudget(peer, b, now);
    try {
      raw?.pause();
    } catch {
      // closing: the read loop ends by itself
    }
    for (let waitMs = owedMs(peer, size); waitMs > 0; waitMs = owedMs(peer, size)) await sleep(waitMs);
    try {
      raw?.resume();
    } catch {
      // closed meanwhile
    }
  };
  const pipe = r.pipePeerReadStream.bind(r);
  r.pipePeerReadStream = (peerId, source) => {
    const peer = peerId.toString();
    const inbound = r.streamsInbound.get(peer);
    const raw = inbound?.source === source ? inbound.rawStream : undefined;
    return pipe(
      peerId,
      (async function* tagged() {
        // gossipsub takes the next frame only once the previous one went through
        // handleReceivedRpc (which spends the budget): each check sees what came before
        for await (const frame of source) {
          const size = frame.byteLength ?? 0;
          if (cannotAfford(peer, size)) await holdBack(peer, raw, size);
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
  };

  // messages on topics that are not ours: once per RPC
  const handleRpc = r.handleReceivedRpc.bind(r);
  r.handleReceivedRpc = (from, rpc) => {
    const peer = from.toString();
    const messages = rpc.messages ?? [];
    for (const m of messages) {
      if (!deps.isOurTopic(m.topic ?? '')) {
        deps.violation(peer, 'unknown-topic');
        break;
      }
    }
    withinBudget(peer, rpc);
    // what validation would IGNORE at once (its height or round): dropped before gossipsub keeps a record of it
    const screen = deps.screen;
    const kept = rpc.messages;
    if (screen !== undefined && kept !== undefined && kept.length > 0) {
      let n = 0;
      for (const m of kept) {
        if (m.data === undefined || !screen(peer, m.topic ?? '', m.data)) kept[n++] = m;
      }
      kept.length = n;
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
    drops(peer?: string): InboundDrops {
      if (peer === undefined) return { messages: droppedMessages, bytes: droppedBytes, paused };
      const b = buckets.get(peer);
      return { messages: b?.droppedMessages ?? 0, bytes: b?.droppedBytes ?? 0, paused: b?.paused ?? 0 };
    },
  };
}
