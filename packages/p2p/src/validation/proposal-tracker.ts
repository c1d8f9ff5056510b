import { bytesEqual } from '@synod/crypto';

/** What the tracker knows of a (height, round) before a proposal's block is looked at. */
export type ProposalSighting =
  /** No proposal of this (height, round) accepted yet. */
  | 'first'
  /** The same proposal (same signed content) was already accepted: nothing new. */
  | 'same'
  /** A different proposal was already accepted: this one is double-proposal evidence. */
  | 'conflicting'
  /** Already two different proposals (the first, and one conflicting): nothing more is useful. */
  | 'exhausted';

interface Slot {
  /** Sign bytes of the first proposal accepted for this (height, round). */
  readonly signBytes: Uint8Array;
  /** Whether a conflicting proposal was already delivered. */
  conflictDelivered: boolean;
}

/**
 * The proposals gossip validation has accepted, per (height, round): the
 * first one is delivered and forwarded, one different one is delivered (the
 * consensus engine learns its block and reports the double proposal) but not
 * forwarded, and anything after that is ignored. Only proposals that passed
 * every check (signature, proposer of the round, block) are recorded, so an
 * entry costs the round's proposer a valid signed proposal; the caller keeps
 * heights and rounds within its window and prunes old heights, which bounds
 * the tracker to (heights in the window) × (rounds in the window) entries of
 * ~200 bytes.
 */
export class ProposalTracker {
  private readonly byHeight = new Map<number, Map<number, Slot>>();

  /** What a proposal with these sign bytes would be for (height, round). */
  sighting(height: number, round: number, signBytes: Uint8Array): ProposalSighting {
    const slot = this.byHeight.get(height)?.get(round);
    if (slot === undefined) return 'first';
    if (bytesEqual(slot.signBytes, signBytes)) return 'same';
    return slot.conflictDelivered ? 'exhausted' : 'conflicting';
  }

  /** Records a fully validated proposal; returns what it was ('first' or 'conflicting'). */
  record(height: number, round: number, signBytes: Uint8Array): ProposalSighting {
    const seen = this.sighting(height, round, signBytes);
    if (seen === 'first') {
      let rounds = this.byHeight.get(height);
      if (rounds === undefined) {
        rounds = new Map();
        this.byHeight.set(height, rounds);
      }
      rounds.set(round, { signBytes: new Uint8Array(signBytes), conflictDelivered: false });
    } else if (seen === 'conflicting') {
      const slot = this.byHeight.get(height)?.get(round);
      if (slot !== undefined) slot.conflictDelivered = true;
    }
    return seen;
  }

  /** Forgets every height below `minHeight`. */
  prune(minHeight: number): void {
    for (const h of this.byHeight.keys()) if (h < minHeight) this.byHeight.delete(h);
  }

  /** Number of (height, round) entries held. */
  get size(): number {
    let n = 0;
    for (const rounds of this.byHeight.values()) n += rounds.size;
    return n;
  }
}
