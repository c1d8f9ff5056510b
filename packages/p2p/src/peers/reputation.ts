import type { Clock } from '@synod/types';

/** Misbehaviour a peer is penalised for. Bounded: safe as a metric label. */
export type PenaltyReason =
  /** A gossip message it sent was provably invalid (validation said REJECT). */
  | 'gossip-reject'
  /**
   * A gossip message it sent carries an invalid signature. A correct peer
   * checks signatures before it forwards, so it never sends one: a ban at once.
   */
  | 'invalid-signature'
  /**
   * Gossipsub-level garbage gossipsub drops before validation: an undecodable
   * RPC frame, a message on a topic that is not ours, forbidden signature
   * fields, a copy of a message we rejected.
   */
  | 'gossip-protocol'
  /**
   * It sent gossip messages beyond its inbound budget (messages or bytes per
   * second): the excess was dropped before gossipsub saw it. Charged at most
   * once per second of flooding, so only a sustained flood leads to a ban.
   */
  | 'gossip-flood'
  /** A response it sent was malformed or inconsistent (wrong block, broken chain, bad encoding). */
  | 'invalid-response'
  /** It sent more bytes than the protocol allows. */
  | 'oversized-message'
  /** It sent us a malformed request. */
  | 'bad-request';

export interface ReputationOptions {
  /**
   * Points each kind of misbehaviour costs.
   * @default gossip-reject 10, invalid-signature 100 (a ban at once), gossip-protocol 10, gossip-flood 10, invalid-response 10, oversized-message 20, bad-request 5
   */
  readonly penalties: Readonly<Record<PenaltyReason, number>>;
  /**
   * Points at which a peer is disconnected and banned. @default 35: the fourth
   * reject within about a minute (points decay continuously, so four rejects
   * never add up to exactly 40).
   */
  readonly banThreshold: number;
  /** Points halve every this many ms, so rare mistakes never add up to a ban. @default 300000 */
  readonly halfLifeMs: number;
  /** How long a ban lasts. @default 600000 (10 minutes) */
  readonly banDurationMs: number;
  /** Most peers tracked (the least recently penalised are forgotten first). @default 10000 */
  readonly trackedPeersMax: number;
}

export const DEFAULT_REPUTATION: ReputationOptions = Object.freeze({
  penalties: Object.freeze({
    'gossip-reject': 10,
    'invalid-signature': 100,
    'gossip-protocol': 10,
    'gossip-flood': 10,
    'invalid-response': 10,
    'oversized-message': 20,
    'bad-request': 5,
  }),
  banThreshold: 35,
  halfLifeMs: 300_000,
  banDurationMs: 600_000,
  trackedPeersMax: 10_000,
});

interface Entry {
  points: number;
  atMs: number;
}

export interface PenaltyResult {
  /** The peer's points after this penalty. */
  readonly points: number;
  /** True when this penalty crossed the threshold and the peer is now banned. */
  readonly banned: boolean;
}

export interface BanRecord {
  readonly peer: string;
  readonly untilMs: number;
  readonly reason: string;
}

/**
 * One ledger of misbehaviour per peer: decaying penalty points and timed bans.
 * Pure bookkeeping over an injected Clock (tests advance it); the network acts
 * on its answers (hang up, refuse connections).
 */
export class PeerReputation {
  private readonly entries = new Map<string, Entry>();
  private readonly bans = new Map<string, BanRecord>();

  constructor(
    private readonly clock: Clock,
    readonly options: ReputationOptions = DEFAULT_REPUTATION,
  ) {}

  /** The peer's points now (decayed). */
  points(peer: string): number {
    const e = this.entries.get(peer);
    return e === undefined ? 0 : this.decayed(e, this.clock.now());
  }

  /** Adds the penalty of `reason`; bans the peer when its points reach the threshold. */
  penalise(peer: string, reason: PenaltyReason): PenaltyResult {
    const now = this.clock.now();
    const e = this.entries.get(peer);
    const points = (e === undefined ? 0 : this.decayed(e, now)) + this.options.penalties[reason];
    this.entries.delete(peer);
    this.entries.set(peer, { points, atMs: now });
    this.bound();
    if (points >= this.options.banThreshold && !this.isBanned(peer)) {
      this.ban(peer, reason);
      return { points, banned: true };
    }
    return { points, banned: false };
  }

  /** Bans `peer` for `durationMs` (default: the configured ban duration). */
  ban(peer: string, reason: string, durationMs: number = this.options.banDurationMs): BanRecord {
    const record: BanRecord = { peer, untilMs: this.clock.now() + durationMs, reason };
    this.bans.set(peer, record);
    return record;
  }

  /** Lifts a ban and forgets the peer's points. */
  unban(peer: string): void {
    this.bans.delete(peer);
    this.entries.delete(peer);
  }

  isBanned(peer: string): boolean {
    const b = this.bans.get(peer);
    if (b === undefined) return false;
    if (b.untilMs > this.clock.now()) return true;
    // expired: the peer starts again from a clean slate
    this.bans.delete(peer);
    this.entries.delete(peer);
    return false;
  }

  /** Current bans (expired ones are dropped). */
  banned(): BanRecord[] {
    const out: BanRecord[] = [];
    for (const peer of [...this.bans.keys()]) {
      const b = this.bans.get(peer);
      if (b !== undefined && this.isBanned(peer)) out.push(b);
    }
    return out;
  }

  /** Drops decayed entries and expired bans (call periodically). */
  prune(): void {
    const now = this.clock.now();
    for (const [peer, e] of this.entries) if (this.decayed(e, now) < 0.5) this.entries.delete(peer);
    this.banned();
  }

  private decayed(e: Entry, now: number): number {
    const elapsed = Math.max(0, now - e.atMs);
    return e.points * 0.5 ** (elapsed / this.options.halfLifeMs);
  }

  private bound(): void {
    while (this.entries.size > this.options.trackedPeersMax) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      this.entries.delete(oldest.value);
    }
  }
}
