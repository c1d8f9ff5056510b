/**
 * @synod/node's `NodeTransport` on the simulated network: gossip that
 * behaves like gossipsub (publish floods every peer; a node relays a valid
 * message it receives once, to a few peers, sparing those that already hold
 * it (v1.2's IDONTWANT, idealized), and drops every copy it has seen
 * — nothing is ever re-sent, so whatever a storm or a partition swallows is
 * recovered by the node's own protocols), and the request/response
 * protocols (status, block-by-hash, block-range, consensus) as request and
 * reply messages with the network's delay and loss, a request that gets no
 * reply within `requestTimeoutMs` rejecting with P2P_TIMEOUT.
 */
import type {
  BlockWithCommit,
  ChainStatus,
  ConsensusReply,
  ConsensusRequest,
  GossipValidationView,
  NodeMessages,
  NodeTopic,
  NodeTransport,
  Received,
  SyncProvider,
} from '@synod/node';
import {
  DEFAULT_HEIGHT_WINDOW,
  DEFAULT_MESH_OPTIONS,
  DEFAULT_MESSAGE_LIMITS,
  GossipValidationError,
  ProposalTracker,
  type ValidatedProposal,
  type ValidatedTxBatch,
  type ValidationParams,
  validateGossipMessage,
} from '@synod/p2p/validation';
import { type Block, blockHash, bytesEqual, SynodError } from '@synod/types';
import { encodeGossip } from './codec.js';
import type { EventQueue } from './event-queue.js';
import type { SimNetwork } from './network.js';
import type { Rng } from './rng.js';
import type { VerifyFn } from './signatures.js';
import type { Trace } from './trace.js';

/** What the request/response protocols carry. */
export type SimRequest =
  | { readonly protocol: 'status' }
  | { readonly protocol: 'block-by-hash'; readonly hash: Uint8Array }
  | { readonly protocol: 'block-range'; readonly from: number; readonly to: number }
  | { readonly protocol: 'consensus'; readonly request: ConsensusRequest };

export type SimProtocol = SimRequest['protocol'];

/** What travels on the simulated network. */
export type Packet =
  | { readonly kind: 'gossip'; readonly topic: NodeTopic; readonly bytes: Uint8Array }
  | { readonly kind: 'request'; readonly id: number; readonly request: SimRequest }
  | { readonly kind: 'response'; readonly id: number; readonly ok: boolean; readonly body: unknown };

/** Peers a node relays a gossip message to (@synod/p2p's mesh degree D). */
export const MESH_DEGREE = DEFAULT_MESH_OPTIONS.D;
/** Messages a node remembers having seen (gossipsub's seen cache; oldest forgotten first). */
export const SEEN_CACHE_SIZE = 20_000;
/** Peers asked at once for a block by hash when no peer is named. */
const BLOCK_BY_HASH_FANOUT = 3;

/** Trace record tags of the transport (the run's other tags are in node.ts). */
export const TRANSPORT_TAG = { deliver: 1, rejected: 13, request: 18, timeout: 19 } as const;

/** Counters the transports of a run share. */
export interface TransportCounters {
  gossipSent: number;
  /** Copies dropped by a seen cache. */
  gossipDuplicates: number;
  /** Messages that failed decoding or the checks on arrival. */
  gossipRejected: number;
  /** Valid messages out of the node's window (not delivered, not relayed). */
  gossipIgnored: number;
  gossipRelayed: number;
  /** Relays not sent: the peer had already seen the message (IDONTWANT). */
  gossipSpared: number;
  requests: Record<SimProtocol, number>;
  requestTimeouts: number;
}

export function emptyTransportCounters(): TransportCounters {
  return {
    gossipSent: 0,
    gossipDuplicates: 0,
    gossipRejected: 0,
    gossipIgnored: 0,
    gossipRelayed: 0,
    gossipSpared: 0,
    requests: { status: 0, 'block-by-hash': 0, 'block-range': 0, consensus: 0 },
    requestTimeouts: 0,
  };
}

/** What the transports of a run share: the network, time, keys and the signature caches. */
export interface TransportWorld {
  readonly network: SimNetwork<Packet>;
  readonly queue: EventQueue;
  readonly chainId: string;
  /** Consensus signatures (votes, proposals, evidence). */
  readonly verify: VerifyFn;
  /** Transaction signatures. */
  readonly verifyTx: VerifyFn;
  /** The public key of a validator address, if it is one of the run's. */
  keyOf(address: Uint8Array): Uint8Array | undefined;
  readonly requestTimeoutMs: number;
  readonly counters: TransportCounters;
  readonly trace: Trace;
  /** A run-wide request id (deterministic). */
  nextRequestId(): number;
}

/** A gossip message's verdict on arrival. */
type Verdict = 'accept' | 'ignore' | 'reject';

type Handler = (received: Received<never>) => void | Promise<void>;

interface Pending {
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: { cancelled: boolean };
}

/** Seen-cache keys by bytes object (a relayed message keeps its array). */
const keys = new WeakMap<Uint8Array, string>();
/** The seen-cache key (`topic/fingerprint`) last built for a bytes object, with its topic. */
const seenKeys = new WeakMap<Uint8Array, { readonly topic: NodeTopic; readonly key: string }>();

/** The seen-cache key of `bytes` on `topic` (built once per bytes object and topic in the common case). */
function seenKey(topic: NodeTopic, bytes: Uint8Array): string {
  const known = seenKeys.get(bytes);
  if (known !== undefined && known.topic === topic) return known.key;
  const key = `${topic}/${fingerprint(bytes)}`;
  seenKeys.set(bytes, { topic, key });
  return key;
}

/** The live transport of each node of a world (the one its current incarnation uses). */
const registries = new WeakMap<TransportWorld, (SimTransport | undefined)[]>();

/** A 64-bit content hash of `bytes` (two murmur-style lanes), as a string key. */
export function fingerprint(bytes: Uint8Array): string {
  const known = keys.get(bytes);
  if (known !== undefined) return known;
  let a = 0x9747b28c ^ bytes.length;
  let b = 0x85ebca6b;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ (bytes[i] as number), 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ a, 0x1b873593) + i;
  }
  const key = `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}.${bytes.length}`;
  keys.set(bytes, key);
  return key;
}

export interface SimTransportOptions {
  readonly world: TransportWorld;
  /** This node's index on the network. */
  readonly index: number;
  /** The node's randomness (relay peers, block-by-hash peers). */
  readonly rng: Rng;
  /** Whether the node's incarnation this transport belongs to is alive (a dead one sends and answers nothing). */
  readonly alive: () => boolean;
  /** Whether this transport relays what it receives (a Byzantine node's does not). @default true */
  readonly relay?: boolean;
  /** Called with every valid gossip message before the node's handlers (the Byzantine actor's eyes). */
  readonly onMessage?: <T extends NodeTopic>(topic: T, message: NodeMessages[T], from: number) => void;
  /** Called with every message the node publishes, once it has gone out to its peers. */
  readonly onPublished?: <T extends NodeTopic>(topic: T, message: NodeMessages[T]) => void;
}

export class SimTransport implements NodeTransport {
  readonly #w: TransportWorld;
  readonly #index: number;
  readonly #rng: Rng;
  readonly #alive: () => boolean;
  readonly #relay: boolean;
  readonly #onMessage: SimTransportOptions['onMessage'];
  readonly #onPublished: SimTransportOptions['onPublished'];
  readonly #handlers = new Map<NodeTopic, Set<Handler>>();
  readonly #seen = new Set<string>();
  readonly #pending = new Map<number, Pending>();
  #provider: SyncProvider | undefined;
  #view: GossipValidationView | undefined;
  /** The proposals validation accepted per (height, round) (the libp2p network keeps one too). */
  readonly #proposals = new ProposalTracker();

  constructor(options: SimTransportOptions) {
    this.#w = options.world;
    this.#index = options.index;
    this.#rng = options.rng;
    this.#alive = options.alive;
    this.#relay = options.relay ?? true;
    this.#onMessage = options.onMessage;
    this.#onPublished = options.onPublished;
    let registry = registries.get(this.#w);
    if (registry === undefined) {
      registry = [];
      registries.set(this.#w, registry);
    }
    this.#registry = registry;
    registry[this.#index] = this;
  }

  readonly #registry: (SimTransport | undefined)[];

  /** Whether node `index`'s live incarnation has already seen the gossip message `key`. */
  #hasSeen(index: number, key: string): boolean {
    const t = this.#registry[index];
    if (t === undefined) return false;
    return t.#alive() && t.#seen.has(key);
  }

  /** Receives what the network delivers to this node (the host attaches it for the incarnation's life). */
  receive(from: number, packet: Packet): void {
    if (!this.#alive()) return;
    switch (packet.kind) {
      case 'gossip':
        this.#gossip(from, packet.topic, packet.bytes);
        return;
      case 'request':
        this.#serve(from, packet.id, packet.request);
        return;
      case 'response': {
        const p = this.#pending.get(packet.id);
        if (p === undefined) return;
        this.#pending.delete(packet.id);
        p.timer.cancelled = true;
        if (packet.ok) p.resolve(packet.body);
        else p.reject(new SynodError('P2P_INVALID_MESSAGE', `request failed: ${String(packet.body)}`));
        return;
      }
    }
  }

  // ------------------------------------------------------------------ gossip

  publish<T extends NodeTopic>(topic: T, message: NodeMessages[T]): void {
    if (!this.#alive()) return;
    const bytes = encodeGossip(topic, message);
    this.#seen.add(seenKey(topic, bytes));
    this.sendGossip(this.peerIndices(), topic, bytes);
    this.#onPublished?.(topic, message);
  }

  /** Sends gossip bytes to `peers` as they are (the Byzantine actor's way out, too). */
  sendGossip(peers: readonly number[], topic: NodeTopic, bytes: Uint8Array): void {
    const w = this.#w;
    w.trace.bytes(bytes);
    // One packet for every peer (nothing on the way mutates it; the adversary's scheduler copies).
    const packet: Packet = { kind: 'gossip', topic, bytes };
    for (const to of peers) {
      w.counters.gossipSent++;
      w.network.send(this.#index, to, packet);
    }
  }

  subscribe<T extends NodeTopic>(
    topic: T,
    handler: (received: Received<NodeMessages[T]>) => void | Promise<void>,
  ): () => void {
    let set = this.#handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(topic, set);
    }
    const h = handler as Handler;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  attachValidation(view: GossipValidationView): () => void {
    this.#view = view;
    return () => {
      if (this.#view === view) this.#view = undefined;
    };
  }

  #gossip(from: number, topic: NodeTopic, bytes: Uint8Array): void {
    const w = this.#w;
    const handlers = this.#handlers.get(topic);
    // Not subscribed (yet): the topic's messages are not ours (nor marked seen).
    if (handlers === undefined || handlers.size === 0) return;
    // trace.record(TRANSPORT_TAG.deliver, from, this.#index, bytes.length), without its array.
    const trace = w.trace;
    trace.mix(TRANSPORT_TAG.deliver);
    trace.mix(from);
    trace.mix(this.#index);
    trace.mix(bytes.length);
    const key = seenKey(topic, bytes);
    // [IGNORE] seen already: gossipsub never hands a message over (or forwards it) twice.
    if (this.#seen.has(key)) {
      w.counters.gossipDuplicates++;
      return;
    }
    this.#seen.add(key);
    if (this.#seen.size > SEEN_CACHE_SIZE) this.#seen.delete(this.#seen.values().next().value as string);
    const { verdict, message, forward } = this.#check(topic, bytes);
    if (verdict !== 'accept') {
      if (verdict === 'reject') {
        w.counters.gossipRejected++;
        w.trace.record(TRANSPORT_TAG.rejected, from, this.#index);
      } else w.counters.gossipIgnored++;
      return;
    }
    if (this.#relay && forward) {
      const candidates = this.peerIndices();
      const fromAt = candidates.indexOf(from);
      if (fromAt >= 0) candidates.splice(fromAt, 1);
      const peers = this.#rng.sample(candidates, MESH_DEGREE);
      const packet: Packet = { kind: 'gossip', topic, bytes };
      for (const to of peers) {
        // IDONTWANT (gossipsub v1.2), idealized: a mesh peer that already holds the message has
        // said so, and is not sent another copy.
        if (this.#hasSeen(to, key)) {
          w.counters.gossipSpared++;
          continue;
        }
        w.counters.gossipRelayed++;
        w.network.send(this.#index, to, packet);
      }
    }
    // a transaction batch is handed over one transaction at a time, as the libp2p network does
    const messages = topic === 'txs' ? (message as readonly Uint8Array[]) : [message];
    for (const m of messages) {
      this.#onMessage?.(topic, m as never, from);
      for (const h of [...handlers]) void h({ message: m as never, from: String(from) });
    }
  }

  /**
   * @synod/p2p's gossip validation (`validateGossipMessage`), the function
   * the libp2p network runs, over the node's view of its chain: sizes and
   * decoding, the height window and the round look-ahead, the signer in the
   * height's validator set and its signature, the round's proposer, the
   * first (or one conflicting) proposal of a round (a conflicting one is
   * delivered, not forwarded), the block's data, evidence's height, time,
   * power and signatures, a transaction's chain and signature. Before the
   * node attached its view nothing can be judged (IGNORE).
   */
  #check(
    topic: NodeTopic,
    bytes: Uint8Array,
  ): {
    verdict: Verdict;
    /** The message, or for `txs` the transactions of the batch. */
    message?: NodeMessages[NodeTopic] | readonly NodeMessages['txs'][];
    forward?: boolean;
  } {
    const view = this.#view;
    if (view === undefined) return { verdict: 'ignore' };
    const params: ValidationParams = {
      ctx: {
        chainId: this.#w.chainId,
        currentHeight: () => view.currentHeight(),
        currentRound: () => view.currentRound(),
        validatorSetAt: (h) => view.validatorSetAt(h),
        proposerIndex: (h, r) => view.proposerIndex(h, r),
        evidenceChain: () => view.evidenceChain(),
        verifySignature: view.verifySignature,
      },
      limits: DEFAULT_MESSAGE_LIMITS,
      window: DEFAULT_HEIGHT_WINDOW,
      proposals: this.#proposals,
    };
    try {
      // No transaction precheck is given: the result is never a promise.
      const out = validateGossipMessage(topic, bytes, params) as Awaited<
        ReturnType<typeof validateGossipMessage>
      >;
      switch (topic) {
        case 'proposals': {
          const p = out as ValidatedProposal;
          return {
            verdict: 'accept',
            message: { signedProposal: p.signedProposal, block: p.block },
            forward: !p.conflicting,
          };
        }
        case 'txs':
          return {
            verdict: 'accept',
            message: (out as ValidatedTxBatch).txs.map((t) => t.bytes),
            forward: true,
          };
        default:
          return { verdict: 'accept', message: out as NodeMessages[NodeTopic], forward: true };
      }
    } catch (err) {
      if (err instanceof GossipValidationError)
        return { verdict: err.action === 'REJECT' ? 'reject' : 'ignore' };
      return { verdict: 'reject' };
    }
  }

  // ------------------------------------------------------------------ request / response

  serve(provider: SyncProvider): () => void {
    this.#provider = provider;
    return () => {
      if (this.#provider === provider) this.#provider = undefined;
    };
  }

  /** The provider this transport serves with (a Byzantine wrapper answers in its place). */
  get provider(): SyncProvider | undefined {
    return this.#provider;
  }

  /** Answers a request (`body` undefined with `ok` false: no provider, or it failed). */
  respond(to: number, id: number, ok: boolean, body: unknown): void {
    if (!this.#alive()) return;
    this.#w.network.send(this.#index, to, { kind: 'response', id, ok, body });
  }

  /** How requests are answered; a Byzantine wrapper replaces it. */
  answer: (from: number, request: SimRequest) => Promise<{ ok: boolean; body: unknown }> | undefined = (
    _from,
    request,
  ) => this.answerWith(this.#provider, request);

  /** The provider's answer to `request` (undefined: no answer is sent at all). */
  answerWith(
    provider: SyncProvider | undefined,
    request: SimRequest,
  ): Promise<{ ok: boolean; body: unknown }> | undefined {
    if (provider === undefined) return Promise.resolve({ ok: false, body: 'not serving' });
    const run = async (): Promise<unknown> => {
      switch (request.protocol) {
        case 'status':
          return provider.status();
        case 'block-by-hash':
          return provider.blockByHash(request.hash);
        case 'block-range':
          return provider.blockRange(request.from, request.to);
        case 'consensus':
          return provider.consensus(request.request);
      }
    };
    return run().then(
      (body) => ({ ok: true, body }),
      (err: unknown) => ({ ok: false, body: (err as Error).message }),
    );
  }

  #serve(from: number, id: number, request: SimRequest): void {
    const answer = this.answer(from, request);
    if (answer === undefined) return;
    void answer.then(({ ok, body }) => this.respond(from, id, ok, body));
  }

  #request<T>(peer: string, request: SimRequest): Promise<T> {
    const w = this.#w;
    const to = Number(peer);
    w.counters.requests[request.protocol]++;
    if (!this.#alive()) return new Promise<T>(() => undefined);
    const id = w.nextRequestId();
    w.trace.record(TRANSPORT_TAG.request, this.#index, to, id);
    return new Promise<T>((resolve, reject) => {
      const timer = w.queue.schedule(w.requestTimeoutMs, () => {
        if (!this.#alive() || !this.#pending.has(id)) return;
        this.#pending.delete(id);
        w.counters.requestTimeouts++;
        w.trace.record(TRANSPORT_TAG.timeout, this.#index, id);
        reject(new SynodError('P2P_TIMEOUT', `peer ${peer}: no answer to ${request.protocol}`));
      });
      this.#pending.set(id, { resolve: resolve as (b: unknown) => void, reject, timer });
      w.network.send(this.#index, to, { kind: 'request', id, request });
    });
  }

  requestStatus(peer: string): Promise<ChainStatus> {
    return this.#request(peer, { protocol: 'status' });
  }

  async requestBlockByHash(
    hash: Uint8Array,
    options: { readonly peer?: string } = {},
  ): Promise<Block | undefined> {
    const peers =
      options.peer === undefined
        ? this.#rng.shuffle(this.peers()).slice(0, BLOCK_BY_HASH_FANOUT)
        : [options.peer];
    const ask = async (peer: string): Promise<Block | undefined> => {
      const block = await this.#request<Block | undefined>(peer, { protocol: 'block-by-hash', hash });
      // [IGNORE] an answer that is not the block asked for.
      return block !== undefined && bytesEqual(blockHash(block), hash) ? block : undefined;
    };
    return new Promise<Block | undefined>((resolve) => {
      let left = peers.length;
      if (left === 0) resolve(undefined);
      for (const peer of peers) {
        ask(peer).then(
          (block) => {
            left--;
            if (block !== undefined) resolve(block);
            else if (left === 0) resolve(undefined);
          },
          () => {
            left--;
            if (left === 0) resolve(undefined);
          },
        );
      }
    });
  }

  requestBlockRange(peer: string, from: number, to: number): Promise<readonly BlockWithCommit[]> {
    return this.#request(peer, { protocol: 'block-range', from, to });
  }

  requestConsensus(peer: string, request: ConsensusRequest): Promise<ConsensusReply> {
    return this.#request(peer, { protocol: 'consensus', request });
  }

  /** Peers this node is connected to: up, and on its side of a partition. */
  peerIndices(): number[] {
    const net = this.#w.network;
    const out: number[] = [];
    for (let i = 0; i < net.size; i++)
      if (i !== this.#index && net.isAttached(i) && net.canReach(this.#index, i)) out.push(i);
    return out;
  }

  peers(): readonly string[] {
    return this.peerIndices().map(String);
  }
}
