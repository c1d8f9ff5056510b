import type { Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Ping } from '@libp2p/ping';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { type Clock, type Logger, SynodError } from '@synod/types';
import { withDeadline } from '../deadline.js';
import type { P2pMetrics } from '../p2p-metrics.js';
import { isPrivateAddress } from './address-filter.js';
import { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.js';

/** How the node knows a peer. */
export type PeerKind = 'persistent' | 'bootstrap' | 'discovered';

export interface PeerManagerOptions {
  /** Most connected peers; persistent peers always get a slot. @default 50 */
  readonly maxPeers: number;
  /** Backoff between dial attempts to one peer. @default DEFAULT_BACKOFF (1 s doubling to 60 s, ±20 %) */
  readonly reconnect: BackoffOptions;
  /** How long one dial may take. @default 5000 */
  readonly dialTimeoutMs: number;
  /** How often a random connected peer is asked for its peers. @default 30000 */
  readonly pexIntervalMs: number;
  /** How often every connected peer is pinged. @default 10000 */
  readonly pingIntervalMs: number;
  /** How long a ping may take before it counts as a failure. @default 5000 */
  readonly pingTimeoutMs: number;
  /** Consecutive failures (pings or requests) that make a peer delinquent. @default 2 */
  readonly delinquentAfterFailures: number;
  /** Most discovered (peer-exchange) peers remembered. @default 1000 */
  readonly discoveredPeersMax: number;
  /** Failed dials after which a discovered peer is forgotten. @default 5 */
  readonly discoveredDialAttemptsMax: number;
  /** How often the manager looks for peers to dial when below maxPeers. @default 1000 */
  readonly maintenanceIntervalMs: number;
  /**
   * Dial loopback, private (RFC 1918, IPv6 ULA), link-local and CGNAT
   * addresses learnt from peer exchange, and share them. Only for local
   * networks and tests: on the internet such an address a peer hands out
   * points into someone's LAN (or ours). Configured peers are always dialled.
   * @default false
   */
  readonly allowPrivateAddresses: boolean;
  /**
   * Peers never shared in peer-exchange answers (CometBFT's
   * `private_peer_ids`): e.g. a validator behind sentry nodes. @default []
   */
  readonly privatePeerIds: readonly string[];
}

export const DEFAULT_PEER_MANAGER_OPTIONS: PeerManagerOptions = Object.freeze({
  maxPeers: 50,
  reconnect: DEFAULT_BACKOFF,
  dialTimeoutMs: 5_000,
  pexIntervalMs: 30_000,
  pingIntervalMs: 10_000,
  pingTimeoutMs: 5_000,
  delinquentAfterFailures: 2,
  discoveredPeersMax: 1_000,
  discoveredDialAttemptsMax: 5,
  maintenanceIntervalMs: 1_000,
  allowPrivateAddresses: false,
  privatePeerIds: Object.freeze([]),
});

/** What the network tells about a peer. */
export interface PeerInfo {
  readonly id: string;
  /** How we learned of it; 'inbound' for a peer that dialled us and is in no list. */
  readonly kind: PeerKind | 'inbound';
  readonly connected: boolean;
  readonly delinquent: boolean;
  readonly addresses: readonly string[];
}

interface KnownPeer {
  readonly id: PeerId;
  readonly kind: PeerKind;
  addrs: Multiaddr[];
  /** Failed dials since the last successful connection. */
  attempts: number;
  dialing: boolean;
  /** Cancels the pending retry timer. */
  cancelRetry: (() => void) | undefined;
  /** Clock time before which the peer is not dialled again. */
  nextDialAtMs: number;
}

interface Health {
  failures: number;
  delinquent: boolean;
}

export interface PeerManagerDeps {
  readonly node: Libp2p<{ ping: Ping }>;
  readonly options: PeerManagerOptions;
  readonly persistentPeers: readonly string[];
  readonly bootstrapPeers: readonly string[];
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly metrics: P2pMetrics;
  isBanned(peer: string): boolean;
  /** Addresses we may dial (PEX results are filtered through it). */
  isDialable(addr: Multiaddr): boolean;
  /** Asks `peer` for the addresses of its peers. */
  exchangePeers(peer: PeerId): Promise<Multiaddr[]>;
}

/** Parses `/ip4/…/tcp/…/p2p/<id>`; throws on an address without a peer id. */
export function parsePeerAddress(address: string): { id: PeerId; addr: Multiaddr } {
  const addr = multiaddr(address);
  const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value;
  if (id === undefined) throw new RangeError(`peer address ${address} has no /p2p/<peer id>`);
  return { id: peerIdFromString(id), addr };
}

/**
 * Keeps the node connected:
 * - persistent peers are dialled at start and redialled forever after a
 *   disconnect or a failed dial, with exponential backoff and jitter;
 * - bootstrap peers are dialled at start (with the same backoff until they
 *   answer once), then treated like any other peer;
 * - peer exchange: on every new connection, and every `pexIntervalMs` with a
 *   random peer, the node asks for its peers' addresses and dials them while
 *   it has fewer than `maxPeers` (public addresses only unless
 *   `allowPrivateAddresses`); answers never include `privatePeerIds`;
 * - beyond `maxPeers`, new non-persistent connections are closed;
 * - delinquency: a peer whose pings or requests fail `delinquentAfterFailures`
 *   times in a row is marked delinquent: it is asked last for requests,
 *   left out of peer exchange answers, and it recovers on its next success.
 */
export class PeerManager {
  private readonly known = new Map<string, KnownPeer>();
  private readonly health = new Map<string, Health>();
  /** Cancels the pending tick of each periodic task. */
  private readonly intervals = new Map<string, () => void>();
  private running = false;
  private readonly self: string;
  private readonly privatePeers: ReadonlySet<string>;

  constructor(private readonly deps: PeerManagerDeps) {
    this.self = deps.node.peerId.toString();
    this.privatePeers = new Set(deps.options.privatePeerIds);
    for (const a of deps.persistentPeers) this.remember(a, 'persistent');
    for (const a of deps.bootstrapPeers) this.remember(a, 'bootstrap');
  }

  private remember(address: string, kind: PeerKind): void {
    let parsed: { id: PeerId; addr: Multiaddr };
    try {
      parsed = parsePeerAddress(address);
    } catch (err) {
      throw new SynodError(
        'CONFIG_INVALID',
        `${kind} peer ${JSON.stringify(address)}: expected /ip4/…/tcp/…/p2p/<peer id>`,
        {
          cause: err,
        },
      );
    }
    const { id, addr } = parsed;
    const key = id.toString();
    if (key === this.self) return;
    const existing = this.known.get(key);
    if (existing !== undefined) {
      if (!existing.addrs.some((a) => a.equals(addr))) existing.addrs.push(addr);
      return;
    }
    this.known.set(key, {
      id,
      kind,
      addrs: [addr],
      attempts: 0,
      dialing: false,
      cancelRetry: undefined,
      nextDialAtMs: 0,
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { node } = this.deps;
    node.addEventListener('peer:connect', this.onConnect);
    node.addEventListener('peer:disconnect', this.onDisconnect);
    for (const p of this.known.values()) {
      if (p.kind === 'persistent') {
        // persistent peers keep their slot when libp2p prunes connections
        node.peerStore.merge(p.id, { tags: { 'synod-persistent': { value: 100 } } }).catch(() => {});
      }
      this.dial(p);
    }
    this.every('maintain', this.deps.options.maintenanceIntervalMs, () => this.maintain());
    this.every('ping', this.deps.options.pingIntervalMs, () => this.pingAll());
    this.every('pex', this.deps.options.pexIntervalMs, () => this.exchangeWithRandomPeer());
    this.updateGauges();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    const { node } = this.deps;
    node.removeEventListener('peer:connect', this.onConnect);
    node.removeEventListener('peer:disconnect', this.onDisconnect);
    for (const cancel of this.intervals.values()) cancel();
    this.intervals.clear();
    for (const p of this.known.values()) {
      p.cancelRetry?.();
      p.cancelRetry = undefined;
      p.dialing = false;
    }
  }

  private every(name: string, ms: number, fn: () => void): void {
    const tick = (): void => {
      if (!this.running) return;
      this.intervals.set(name, this.deps.clock.setTimer(ms, tick));
      fn();
    };
    this.intervals.set(name, this.deps.clock.setTimer(ms, tick));
  }

  // --- connections ---------------------------------------------------------------

  private connectedCount(): number {
    return this.deps.node.getPeers().length;
  }

  private isConnected(peer: PeerId): boolean {
    return this.deps.node.getConnections(peer).length > 0;
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail;
    const key = peer.toString();
    const known = this.known.get(key);
    if (known !== undefined) {
      known.attempts = 0;
      known.nextDialAtMs = 0;
      known.cancelRetry?.();
      known.cancelRetry = undefined;
    }
    if (known?.kind !== 'persistent' && this.connectedCount() > this.deps.options.maxPeers) {
      this.deps.logger.debug('peer limit reached, closing connection', { peer: key });
      this.deps.node.hangUp(peer).catch(() => {});
      return;
    }
    this.updateGauges();
    this.exchangeWith(peer);
  };

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString();
    this.health.delete(key);
    this.updateGauges();
    const known = this.known.get(key);
    if (known === undefined || !this.running) return;
    if (known.kind === 'persistent') {
      this.deps.logger.info('persistent peer disconnected, will reconnect', { peer: key });
      this.scheduleRetry(known);
    }
  };

  /** Dials `p` now unless it is connected, being dialled, banned or waiting for its backoff. */
  private dial(p: KnownPeer): void {
    if (!this.running || p.dialing || this.isConnected(p.id)) return;
    const key = p.id.toString();
    if (this.deps.isBanned(key)) {
      p.attempts++;
      this.scheduleRetry(p);
      return;
    }
    p.dialing = true;
    const { node, options, metrics } = this.deps;
    withDeadline(options.dialTimeoutMs, 'dial', (signal) => node.dial(p.addrs, { signal }))
      .then(
        () => {
          metrics.dials.inc({ kind: p.kind, result: 'ok' });
          p.attempts = 0;
        },
        (err: unknown) => {
          metrics.dials.inc({ kind: p.kind, result: 'error' });
          p.attempts++;
          this.deps.logger.debug('dial failed', {
            peer: key,
            kind: p.kind,
            attempts: p.attempts,
            error: err instanceof Error ? err.message : String(err),
          });
          if (p.kind === 'discovered' && p.attempts >= options.discoveredDialAttemptsMax) {
            this.known.delete(key);
            return;
          }
          this.scheduleRetry(p);
        },
      )
      .finally(() => {
        p.dialing = false;
      });
  }

  /** Redials `p` after its backoff (persistent and bootstrap peers get a timer; discovered ones wait for maintenance). */
  private scheduleRetry(p: KnownPeer): void {
    if (!this.running) return;
    const delay = backoffDelayMs(p.attempts, this.deps.options.reconnect, this.deps.random);
    p.nextDialAtMs = this.deps.clock.now() + delay;
    if (p.kind === 'discovered' || p.cancelRetry !== undefined) return;
    p.cancelRetry = this.deps.clock.setTimer(delay, () => {
      p.cancelRetry = undefined;
      if (p.kind === 'bootstrap' && this.connectedCount() >= this.deps.options.maxPeers) return;
      this.dial(p);
    });
  }

  /** Fills free slots from the address book. */
  private maintain(): void {
    const now = this.deps.clock.now();
    let free = this.deps.options.maxPeers - this.connectedCount();
    for (const p of this.known.values()) {
      if (free <= 0) break;
      if (p.kind === 'persistent' || p.dialing || p.cancelRetry !== undefined || p.nextDialAtMs > now)
        continue;
      if (this.isConnected(p.id) || this.deps.isBanned(p.id.toString())) continue;
      this.dial(p);
      free--;
    }
  }

  // --- peer exchange -----------------------------------------------------------

  private exchangeWithRandomPeer(): void {
    const peers = this.deps.node.getPeers();
    const peer = peers[Math.floor(this.deps.random() * peers.length)];
    if (peer !== undefined) this.exchangeWith(peer);
  }

  private exchangeWith(peer: PeerId): void {
    if (!this.running) return;
    this.deps.exchangePeers(peer).then(
      (addrs) => {
        this.reportSuccess(peer.toString());
        this.learn(addrs);
      },
      () => {
        // a peer without the pex protocol, or a failure already counted by the request path
      },
    );
  }

  /** Whether an address learnt from or shared with peers may be used (private ones only when allowed). */
  private exchangeable(addr: Multiaddr): boolean {
    return this.deps.options.allowPrivateAddresses || !isPrivateAddress(addr);
  }

  /**
   * Adds peer-exchange addresses to the address book and dials new peers while
   * below maxPeers. Loopback and private addresses are dropped unless
   * `allowPrivateAddresses`.
   */
  learn(addrs: readonly Multiaddr[]): void {
    let fresh = false;
    for (const addr of addrs) {
      const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value;
      if (
        id === undefined ||
        id === this.self ||
        !this.exchangeable(addr) ||
        !this.deps.isDialable(addr) ||
        this.deps.isBanned(id)
      )
        continue;
      const existing = this.known.get(id);
      if (existing !== undefined) {
        if (!existing.addrs.some((a) => a.equals(addr)) && existing.addrs.length < 8)
          existing.addrs.push(addr);
        continue;
      }
      if (this.countDiscovered() >= this.deps.options.discoveredPeersMax) break;
      let peerId: PeerId;
      try {
        peerId = peerIdFromString(id);
      } catch {
        continue;
      }
      this.known.set(id, {
        id: peerId,
        kind: 'discovered',
        addrs: [addr],
        attempts: 0,
        dialing: false,
        cancelRetry: undefined,
        nextDialAtMs: 0,
      });
      fresh = true;
    }
    if (fresh) this.maintain();
  }

  private countDiscovered(): number {
    let n = 0;
    for (const p of this.known.values()) if (p.kind === 'discovered') n++;
    return n;
  }

  /**
   * Addresses to hand out in a peer-exchange answer: healthy connected peers
   * other than `requester`, never one of `privatePeerIds`, and only public
   * addresses unless `allowPrivateAddresses`.
   */
  async shareablePeers(requester: PeerId, max: number): Promise<Multiaddr[]> {
    const out: Multiaddr[] = [];
    for (const peer of this.deps.node.getPeers()) {
      if (out.length >= max) break;
      const key = peer.toString();
      if (
        peer.equals(requester) ||
        this.privatePeers.has(key) ||
        this.isDelinquent(key) ||
        this.deps.isBanned(key)
      )
        continue;
      let addrs: Multiaddr[] = [];
      try {
        addrs = (await this.deps.node.peerStore.get(peer)).addresses.map((a) => a.multiaddr);
      } catch {
        addrs = this.known.get(key)?.addrs ?? [];
      }
      for (const a of addrs.filter((x) => this.exchangeable(x)).slice(0, 4)) {
        if (out.length >= max) break;
        const hasId = a.getComponents().some((c) => c.name === 'p2p');
        out.push(hasId ? a : a.encapsulate(`/p2p/${key}`));
      }
    }
    return out;
  }

  // --- health --------------------------------------------------------------------

  private pingAll(): void {
    const { node, options } = this.deps;
    // The round trips libp2p's connection monitor measured (it pings every connection on its own,
    // at the same interval; see the ping service's stream limits in network.ts).
    for (const connection of node.getConnections()) {
      const rtt = (connection as { rtt?: number }).rtt;
      if (typeof rtt === 'number' && Number.isFinite(rtt) && rtt >= 0)
        this.deps.metrics.pingSeconds.observe(rtt / 1000);
    }
    for (const peer of node.getPeers()) {
      withDeadline(options.pingTimeoutMs, 'ping', (signal) => node.services.ping.ping(peer, { signal })).then(
        () => {
          this.deps.metrics.pings.inc({ result: 'ok' });
          this.reportSuccess(peer.toString());
        },
        () => {
          this.deps.metrics.pings.inc({ result: 'failed' });
          this.reportFailure(peer.toString());
        },
      );
    }
  }

  /** A ping or request to `peer` succeeded: it is no longer delinquent. */
  reportSuccess(peer: string): void {
    const h = this.health.get(peer);
    if (h === undefined) return;
    if (h.delinquent) this.deps.logger.info('peer recovered', { peer });
    this.health.delete(peer);
    this.updateGauges();
  }

  /** A ping or request to `peer` failed (timeout, broken stream, unreachable). */
  reportFailure(peer: string): void {
    const h = this.health.get(peer) ?? { failures: 0, delinquent: false };
    h.failures++;
    if (!h.delinquent && h.failures >= this.deps.options.delinquentAfterFailures) {
      h.delinquent = true;
      this.deps.logger.warn('peer marked delinquent', { peer, failures: h.failures });
    }
    this.health.set(peer, h);
    this.updateGauges();
  }

  isDelinquent(peer: string): boolean {
    return this.health.get(peer)?.delinquent === true;
  }

  /** Connected, unbanned peers to ask, healthy ones first (each group shuffled). */
  requestTargets(): PeerId[] {
    const healthy: PeerId[] = [];
    const delinquent: PeerId[] = [];
    for (const peer of this.deps.node.getPeers()) {
      const key = peer.toString();
      if (this.deps.isBanned(key)) continue;
      (this.isDelinquent(key) ? delinquent : healthy).push(peer);
    }
    return [...this.shuffle(healthy), ...this.shuffle(delinquent)];
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.deps.random() * (i + 1));
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }

  /** Forgets retry state of a banned peer (it is redialled, if persistent, after the ban). */
  onBanned(peer: string): void {
    this.health.delete(peer);
    const p = this.known.get(peer);
    if (p === undefined) return;
    p.cancelRetry?.();
    p.cancelRetry = undefined;
    if (p.kind === 'discovered') this.known.delete(peer);
  }

  peers(): PeerInfo[] {
    const out = new Map<string, PeerInfo>();
    for (const [key, p] of this.known) {
      out.set(key, {
        id: key,
        kind: p.kind,
        connected: this.isConnected(p.id),
        delinquent: this.isDelinquent(key),
        addresses: p.addrs.map((a) => a.toString()),
      });
    }
    for (const conn of this.deps.node.getConnections()) {
      const key = conn.remotePeer.toString();
      if (out.has(key)) continue;
      out.set(key, {
        id: key,
        kind: 'inbound',
        connected: true,
        delinquent: this.isDelinquent(key),
        addresses: [conn.remoteAddr.toString()],
      });
    }
    return [...out.values()];
  }

  private updateGauges(): void {
    const peers = this.deps.node.getPeers();
    this.deps.metrics.peers.set(peers.length);
    this.deps.metrics.delinquentPeers.set(peers.filter((p) => this.isDelinquent(p.toString())).length);
  }
}
