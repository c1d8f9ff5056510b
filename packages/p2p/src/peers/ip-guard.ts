import type { Multiaddr } from '@multiformats/multiaddr';
import { type Clock, SynodError } from '@synod/types';
import { ipv4ToNumber, ipv6Groups } from './address-filter.js';

/**
 * What one remote IP may do with inbound connections. Every check runs on the
 * connection's remote address, right after the TCP accept and before the
 * Noise handshake (the connection gater's `denyInboundConnection`): a refused
 * connection costs the accept and a close, not the 10–50 ms of CPU a
 * handshake, identify and the gossipsub streams cost.
 *
 * IPv6 addresses count by their `ipv6PrefixBits` prefix (a host usually holds
 * a whole /64); IPv4-mapped IPv6 addresses count as their IPv4 address.
 *
 * The NAT trade-off: every peer behind one NAT (an office, a cloud egress, a
 * carrier-grade NAT) shares its IP. They share its rate and its pending
 * handshakes, and when `bannedPeersPerIp` of them are banned, the others
 * cannot open new inbound connections until the IP's ban ends (connections
 * already open stay open, and we can still dial them). Raise the limits, set
 * `bannedPeersPerIp` to 0, or `allow` the IP when honest peers share one.
 */
export interface InboundConnectionLimits {
  /** New inbound connections one IP may open per second, sustained (token bucket). @default 2 */
  readonly perIpPerSecond: number;
  /** New inbound connections one IP may open at once beyond the sustained rate. @default 10 */
  readonly perIpBurst: number;
  /** Inbound connections of one IP still in their handshake at once. @default 4 */
  readonly pendingPerIp: number;
  /**
   * Inbound connections of all IPs still in their handshake at once
   * (libp2p's `maxIncomingPendingConnections`). @default 20
   */
  readonly pendingMax: number;
  /**
   * When this many peers connected from one IP have been banned within
   * `bannedPeersWindowMs`, the IP itself is refused for `ipBanMs`: a host
   * that mints a new identity after each ban gets this many. (Lighthouse bans
   * an IP after 5 banned peers.) 0: IPs are never banned. @default 5
   */
  readonly bannedPeersPerIp: number;
  /** @default 600000 (10 minutes, a peer ban) */
  readonly bannedPeersWindowMs: number;
  /** How long a banned IP is refused. @default 600000 (10 minutes, a peer ban) */
  readonly ipBanMs: number;
  /** IPv6 addresses count by this prefix. @default 64 */
  readonly ipv6PrefixBits: number;
  /**
   * Addresses or CIDR ranges never limited here ('10.0.0.0/8', '203.0.113.7',
   * '2001:db8::/32'): one's own sentries, a private network. Peer bans still
   * apply to the peers behind them. @default none
   */
  readonly allow: readonly string[];
  /** Most IPs tracked (the least recently seen are forgotten first). @default 10000 */
  readonly trackedIpsMax: number;
}

export const DEFAULT_INBOUND_CONNECTION_LIMITS: InboundConnectionLimits = Object.freeze({
  perIpPerSecond: 2,
  perIpBurst: 10,
  pendingPerIp: 4,
  pendingMax: 20,
  bannedPeersPerIp: 5,
  bannedPeersWindowMs: 600_000,
  ipBanMs: 600_000,
  ipv6PrefixBits: 64,
  allow: Object.freeze([]) as readonly string[],
  trackedIpsMax: 10_000,
});

/** Why an inbound connection was refused before its handshake. Bounded: safe as a metric label. */
export const INBOUND_REFUSALS = [
  /** Its IP is banned: `bannedPeersPerIp` peers from it were banned. */
  'ip-banned',
  /** Its IP opened connections faster than `perIpPerSecond` (and `perIpBurst`). */
  'ip-rate',
  /** Its IP already has `pendingPerIp` connections in their handshake. */
  'ip-pending',
] as const;
export type InboundRefusal = (typeof INBOUND_REFUSALS)[number];

interface IpState {
  tokens: number;
  atMs: number;
  pending: number;
  /** Its peers banned within the window, oldest first (at most bannedPeersPerIp). */
  bans: { readonly peer: string; readonly atMs: number }[];
  bannedUntilMs: number;
}

/** A parsed CIDR range: IPv4 as one 32-bit group, IPv6 as eight 16-bit groups. */
interface Cidr {
  readonly groups: readonly number[];
  readonly groupBits: 16 | 32;
  readonly bits: number;
}

function parseCidr(text: string): Cidr {
  const [ip = '', len] = text.split('/');
  const v4 = ipv4ToNumber(ip);
  const groups = Number.isNaN(v4) ? ipv6Groups(ip) : [v4];
  const max = Number.isNaN(v4) ? 128 : 32;
  const bits = len === undefined ? max : Number(len);
  if (groups === undefined || !Number.isInteger(bits) || bits < 0 || bits > max)
    throw new SynodError(
      'CONFIG_INVALID',
      `inboundConnections.allow: ${text} is not an IP address or CIDR range`,
    );
  return { groups, groupBits: Number.isNaN(v4) ? 16 : 32, bits };
}

function cidrContains(c: Cidr, groups: readonly number[], groupBits: 16 | 32): boolean {
  if (groupBits !== c.groupBits) return false;
  let left = c.bits;
  for (let i = 0; i < c.groups.length && left > 0; i++) {
    const take = Math.min(left, groupBits);
    const shift = 2 ** (groupBits - take);
    if (Math.floor((groups[i] ?? 0) / shift) !== Math.floor((c.groups[i] ?? 0) / shift)) return false;
    left -= take;
  }
  return true;
}

interface Ip {
  readonly groups: readonly number[];
  readonly groupBits: 16 | 32;
}

/** An IP address in text (IPv4, or IPv6 with IPv4-mapped ones as IPv4), or undefined. */
function parseIp(text: string): Ip | undefined {
  const v4 = ipv4ToNumber(text);
  if (!Number.isNaN(v4)) return { groups: [v4], groupBits: 32 };
  const g = ipv6Groups(text);
  if (g === undefined) return undefined;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff)
    return { groups: [(g[6] ?? 0) * 65536 + (g[7] ?? 0)], groupBits: 32 };
  return { groups: g, groupBits: 16 };
}

/** The IP of an address, or undefined for a non-IP address. */
function ipOf(address: Multiaddr): Ip | undefined {
  for (const c of address.getComponents()) {
    if (c.name === 'ip4' || c.name === 'ip6') return parseIp(c.value ?? '');
  }
  return undefined;
}

/**
 * Per-IP admission of inbound connections: a rate (token bucket on `clock`),
 * a cap on handshakes in progress, and a ban of the IP once enough of its
 * peers were banned. Pure bookkeeping; the network's connection gater asks it.
 */
export class InboundIpGuard {
  readonly limits: InboundConnectionLimits;
  private readonly allow: readonly Cidr[];
  private readonly ips = new Map<string, IpState>();
  /** Connections admitted and still in their handshake, by the object the caller passed. */
  private readonly pending = new WeakMap<object, string>();

  constructor(
    private readonly clock: Clock,
    limits: Partial<InboundConnectionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_INBOUND_CONNECTION_LIMITS, ...limits };
    const l = this.limits;
    for (const [name, v] of Object.entries({
      perIpPerSecond: l.perIpPerSecond,
      perIpBurst: l.perIpBurst,
      pendingPerIp: l.pendingPerIp,
      pendingMax: l.pendingMax,
    })) {
      if (!(v > 0)) throw new SynodError('CONFIG_INVALID', `inboundConnections.${name} must be > 0`);
    }
    if (!Number.isInteger(l.bannedPeersPerIp) || l.bannedPeersPerIp < 0)
      throw new SynodError('CONFIG_INVALID', 'inboundConnections.bannedPeersPerIp must be an integer >= 0');
    if (!Number.isInteger(l.ipv6PrefixBits) || l.ipv6PrefixBits < 1 || l.ipv6PrefixBits > 128)
      throw new SynodError('CONFIG_INVALID', 'inboundConnections.ipv6PrefixBits must be in [1, 128]');
    this.allow = l.allow.map(parseCidr);
  }

  /**
   * The key an address counts under: its IPv4 address, or its IPv6 prefix;
   * undefined for an address with no IP (never limited) or an allowed one.
   */
  keyOf(address: Multiaddr): string | undefined {
    return this.keyOfIp(ipOf(address));
  }

  private keyOfIp(ip: Ip | undefined): string | undefined {
    if (ip === undefined) return undefined;
    if (this.allow.some((c) => cidrContains(c, ip.groups, ip.groupBits))) return undefined;
    if (ip.groupBits === 32) {
      const n = ip.groups[0] ?? 0;
      return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
    }
    const bits = this.limits.ipv6PrefixBits;
    const out: string[] = [];
    for (let i = 0, left = bits; left > 0; i++, left -= 16) {
      const take = Math.min(left, 16);
      const g = ip.groups[i] ?? 0;
      out.push((take === 16 ? g : g - (g % 2 ** (16 - take))).toString(16));
    }
    return `${out.join(':')}::/${bits}`;
  }

  /**
   * An inbound connection from `address` was just accepted: the reason to
   * refuse it, or undefined when it may go on to its handshake. An admitted
   * connection counts as pending under `token` until `settled(token)`.
   */
  admit(address: Multiaddr, token: object): InboundRefusal | undefined {
    const key = this.keyOf(address);
    if (key === undefined) return undefined;
    const now = this.clock.now();
    const s = this.stateOf(key, now);
    if (s.bannedUntilMs > now) return 'ip-banned';
    if (s.pending >= this.limits.pendingPerIp) return 'ip-pending';
    if (s.tokens < 1) return 'ip-rate';
    s.tokens -= 1;
    s.pending += 1;
    this.pending.set(token, key);
    return undefined;
  }

  /**
   * What `admit` would answer now for a connection from `ip` (text, as a
   * socket reports it), without counting it: lets the listener turn away a
   * connection before libp2p wraps it. Undefined when it would be admitted.
   */
  wouldRefuse(ip: string): InboundRefusal | undefined {
    const key = this.keyOfIp(parseIp(ip));
    if (key === undefined) return undefined;
    const s = this.ips.get(key);
    if (s === undefined) return undefined;
    const now = this.clock.now();
    if (s.bannedUntilMs > now) return 'ip-banned';
    if (s.pending >= this.limits.pendingPerIp) return 'ip-pending';
    const l = this.limits;
    const tokens = Math.min(l.perIpBurst, s.tokens + (Math.max(0, now - s.atMs) / 1000) * l.perIpPerSecond);
    return tokens < 1 ? 'ip-rate' : undefined;
  }

  /** The connection admitted under `token` finished its handshake, or closed (idempotent). */
  settled(token: object): void {
    const key = this.pending.get(token);
    if (key === undefined) return;
    this.pending.delete(token);
    const s = this.ips.get(key);
    if (s !== undefined && s.pending > 0) s.pending -= 1;
  }

  /**
   * `peer`, connected from `address`, was banned. Returns the IP's key when
   * this ban makes the IP banned (`bannedPeersPerIp` within the window).
   */
  peerBanned(peer: string, address: Multiaddr): string | undefined {
    const l = this.limits;
    if (l.bannedPeersPerIp === 0) return undefined;
    const key = this.keyOf(address);
    if (key === undefined) return undefined;
    const now = this.clock.now();
    const s = this.stateOf(key, now);
    s.bans = s.bans.filter((b) => b.atMs > now - l.bannedPeersWindowMs);
    // a peer counts once (a ban renewed while it counts is the same peer)
    if (s.bans.some((b) => b.peer === peer)) return undefined;
    s.bans.push({ peer, atMs: now });
    if (s.bans.length > l.bannedPeersPerIp) s.bans.shift();
    if (s.bans.length < l.bannedPeersPerIp || s.bannedUntilMs > now) return undefined;
    s.bannedUntilMs = now + l.ipBanMs;
    s.bans = [];
    return key;
  }

  /** True while connections from `address` are refused because its IP is banned. */
  isIpBanned(address: Multiaddr): boolean {
    const key = this.keyOf(address);
    if (key === undefined) return false;
    return (this.ips.get(key)?.bannedUntilMs ?? 0) > this.clock.now();
  }

  /** The IPs banned now (keys as `keyOf` makes them) and until when. */
  bannedIps(): { ip: string; untilMs: number }[] {
    const now = this.clock.now();
    const out: { ip: string; untilMs: number }[] = [];
    for (const [ip, s] of this.ips) if (s.bannedUntilMs > now) out.push({ ip, untilMs: s.bannedUntilMs });
    return out;
  }

  /** Lifts an IP's ban (`ip` as `bannedIps` names it) and forgets its banned peers. */
  unbanIp(ip: string): void {
    const s = this.ips.get(ip);
    if (s === undefined) return;
    s.bannedUntilMs = 0;
    s.bans = [];
  }

  private stateOf(key: string, now: number): IpState {
    const l = this.limits;
    let s = this.ips.get(key);
    if (s === undefined) {
      s = { tokens: l.perIpBurst, atMs: now, pending: 0, bans: [], bannedUntilMs: 0 };
    } else {
      s.tokens = Math.min(l.perIpBurst, s.tokens + (Math.max(0, now - s.atMs) / 1000) * l.perIpPerSecond);
      s.atMs = now;
      this.ips.delete(key);
    }
    // most recently seen last: the first entries are the ones to forget
    this.ips.set(key, s);
    while (this.ips.size > l.trackedIpsMax) {
      const oldest = this.ips.keys().next();
      if (oldest.done === true) break;
      this.ips.delete(oldest.value);
    }
    return s;
  }
}
