/**
 * An in-memory `NodeTransport` for tests and examples: every transport of one
 * `MemoryNetwork` is connected to every other. A published message reaches
 * the subscribers of every other member (never its publisher), delivered
 * asynchronously (a microtask), once; requests are answered by the member's
 * `SyncProvider`. No validation, no loss, no delay: what the network does to
 * messages is the simulator's business.
 */
import { type Block, SynodError } from '@synod/types';
import type {
  BlockWithCommit,
  ChainStatus,
  ConsensusReply,
  ConsensusRequest,
  NodeMessages,
  NodeTopic,
  NodeTransport,
  Received,
  SyncProvider,
} from './transport.js';

type Handler = (received: Received<never>) => void | Promise<void>;

interface Member {
  readonly handlers: Map<NodeTopic, Set<Handler>>;
  provider: SyncProvider | undefined;
  connected: boolean;
}

export interface MemoryNetworkOptions {
  /** Block-range requests are cut to this many blocks (as the p2p protocol caps a batch). @default 64 */
  readonly blockRangeMax?: number;
  /** Loses gossip: a delivery for which it returns true is dropped (tests of recovery). */
  readonly drop?: (from: string, to: string, topic: NodeTopic, message: unknown) => boolean;
}

export class MemoryNetwork {
  readonly #members = new Map<string, Member>();
  readonly blockRangeMax: number;

  /** Gossip the network loses: `drop(from, to, topic, message)` true drops that delivery (requests are not affected). */
  readonly #drop: MemoryNetworkOptions['drop'];

  constructor(options: MemoryNetworkOptions = {}) {
    this.blockRangeMax = options.blockRangeMax ?? 64;
    this.#drop = options.drop;
  }

  /** The transport of member `peerId` (connected from the start). */
  transport(peerId: string): MemoryTransport {
    if (this.#members.has(peerId))
      throw new SynodError('CONFIG_INVALID', `peer ${peerId} is already a member`);
    const member: Member = { handlers: new Map(), provider: undefined, connected: true };
    this.#members.set(peerId, member);
    return new MemoryTransport(this, peerId, member);
  }

  /** Cuts a member off (its messages and requests go nowhere) or connects it again. */
  setConnected(peerId: string, connected: boolean): void {
    const m = this.#members.get(peerId);
    if (m !== undefined) m.connected = connected;
  }

  /** @internal */
  deliver(from: string, topic: NodeTopic, message: unknown): void {
    const sender = this.#members.get(from);
    if (sender === undefined || !sender.connected) return;
    for (const [id, m] of this.#members) {
      if (id === from || !m.connected) continue;
      const handlers = m.handlers.get(topic);
      if (handlers === undefined || this.#drop?.(from, id, topic, message) === true) continue;
      for (const handler of [...handlers]) {
        queueMicrotask(() => {
          if (m.connected) void handler({ message: message as never, from });
        });
      }
    }
  }

  /** @internal */
  peersOf(peerId: string): string[] {
    const self = this.#members.get(peerId);
    if (self === undefined || !self.connected) return [];
    return [...this.#members].filter(([id, m]) => id !== peerId && m.connected).map(([id]) => id);
  }

  /** @internal */
  provider(from: string, peer: string): SyncProvider {
    const self = this.#members.get(from);
    const m = this.#members.get(peer);
    if (self?.connected !== true || m?.connected !== true || m.provider === undefined)
      throw new SynodError('P2P_TIMEOUT', `peer ${peer} does not answer`);
    return m.provider;
  }
}

export class MemoryTransport implements NodeTransport {
  readonly #network: MemoryNetwork;
  readonly #member: Member;
  readonly peerId: string;

  constructor(network: MemoryNetwork, peerId: string, member: Member) {
    this.#network = network;
    this.peerId = peerId;
    this.#member = member;
  }

  publish<T extends NodeTopic>(topic: T, message: NodeMessages[T]): void {
    this.#network.deliver(this.peerId, topic, message);
  }

  subscribe<T extends NodeTopic>(
    topic: T,
    handler: (received: Received<NodeMessages[T]>) => void | Promise<void>,
  ): () => void {
    let set = this.#member.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#member.handlers.set(topic, set);
    }
    const h = handler as Handler;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  serve(provider: SyncProvider): () => void {
    this.#member.provider = provider;
    return () => {
      if (this.#member.provider === provider) this.#member.provider = undefined;
    };
  }

  async requestStatus(peer: string): Promise<ChainStatus> {
    return this.#network.provider(this.peerId, peer).status();
  }

  async requestBlockByHash(
    hash: Uint8Array,
    options: { readonly peer?: string } = {},
  ): Promise<Block | undefined> {
    const peers = options.peer === undefined ? this.peers() : [options.peer];
    for (const peer of peers) {
      try {
        const block = await this.#network.provider(this.peerId, peer).blockByHash(hash);
        if (block !== undefined) return block;
      } catch {
        // [IGNORE] a peer that does not answer: ask the next one.
      }
    }
    return undefined;
  }

  async requestBlockRange(peer: string, from: number, to: number): Promise<readonly BlockWithCommit[]> {
    const last = Math.min(to, from + this.#network.blockRangeMax - 1);
    return this.#network.provider(this.peerId, peer).blockRange(from, last);
  }

  async requestConsensus(peer: string, request: ConsensusRequest): Promise<ConsensusReply> {
    return this.#network.provider(this.peerId, peer).consensus(request);
  }

  peers(): readonly string[] {
    return this.#network.peersOf(this.peerId);
  }
}
