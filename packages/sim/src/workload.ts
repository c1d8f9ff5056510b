/**
 * The transaction workload: signed transfers submitted to `broadcastTx` on
 * random honest nodes, so that transactions flow through the real mempool,
 * gossip, proposals and execution.
 *
 * In the safety phase the senders are the first accounts, and the mix is
 * hostile: valid transfers (the next nonce the workload believes in),
 * copies of earlier submissions a node accepted, sent to other nodes, transfers with a broken
 * signature, a fee below the minimum, another chain id, or a nonce ahead of
 * the next one (a gap). A valid transfer may still be lost (its node crashed
 * before gossiping it) or overtaken; the workload then picks the nonce up
 * again from the decided chain.
 *
 * In the liveness phase the senders are accounts the safety phase never
 * touched, and every transfer is valid or a copy: each valid one a node
 * accepted must be committed (`pending()` lists those that are not yet).
 */
import { toHex } from '@synod/crypto';
import { txHash } from '@synod/types';
import { SIM_MIN_FEE, type SimChain } from './chain.js';
import type { Rng } from './rng.js';

/** What a submission is. */
export type TxKind = 'valid' | 'duplicate' | 'bad-signature' | 'low-fee' | 'wrong-chain' | 'nonce-gap';

export const TX_KINDS: readonly TxKind[] = [
  'valid',
  'duplicate',
  'bad-signature',
  'low-fee',
  'wrong-chain',
  'nonce-gap',
];

export interface Submission {
  readonly tx: Uint8Array;
  /** Hex hash (as blocks and the mempool name it). */
  readonly hash: string;
  readonly kind: TxKind;
  readonly sender: number;
  readonly nonce: number;
}

/** Accounts the liveness phase sends from (the last ones). */
export const LIVENESS_SENDERS = 3;
/** Submissions in the liveness phase (spread over its first heights). */
export const LIVENESS_TXS = 9;
/** Submissions without the decided chain moving a sender's nonce before the workload picks it up from there. */
const STALE_SUBMISSIONS = 4;

export interface TxCounts {
  submitted: number;
  /** broadcastTx accepted it (checkTx passed, mempool took it). */
  accepted: number;
  /** Committed in a decided block. */
  committed: number;
  byKind: Record<TxKind, number>;
}

export class TxWorkload {
  readonly #chain: SimChain;
  readonly #rng: Rng;
  /** Next nonce the workload believes in, per sender. */
  readonly #next = new Map<number, number>();
  /** Submissions per sender since its committed nonce last moved. */
  readonly #stale = new Map<number, { committed: number; count: number }>();
  /** Submissions a node accepted: what copies are made of (a copy of a refused one could take its nonce). */
  readonly #accepted: Submission[] = [];
  /** Valid liveness-phase transactions a node accepted, by hash: they must be committed. */
  readonly #required = new Map<string, Submission>();
  readonly #committed = new Set<string>();
  readonly counts: TxCounts = {
    submitted: 0,
    accepted: 0,
    committed: 0,
    byKind: { valid: 0, duplicate: 0, 'bad-signature': 0, 'low-fee': 0, 'wrong-chain': 0, 'nonce-gap': 0 },
  };

  constructor(chain: SimChain, rng: Rng) {
    this.#chain = chain;
    this.#rng = rng;
  }

  #senders(phase: 'safety' | 'liveness'): number[] {
    const n = this.#chain.accounts.length;
    const first = n - LIVENESS_SENDERS;
    return phase === 'safety'
      ? Array.from({ length: first }, (_, i) => i)
      : Array.from({ length: LIVENESS_SENDERS }, (_, i) => first + i);
  }

  /**
   * The next submission. `committedNonce(sender)` is the sender's next nonce
   * on the decided chain (the workload resumes from it when its own belief
   * is stale).
   */
  next(phase: 'safety' | 'liveness', committedNonce: (sender: number) => number): Submission {
    const rng = this.#rng;
    const sender = rng.pick(this.#senders(phase));
    const committed = committedNonce(sender);
    const stale = this.#stale.get(sender);
    if (stale === undefined || stale.committed !== committed)
      this.#stale.set(sender, { committed, count: 0 });
    else if (phase === 'safety' && ++stale.count >= STALE_SUBMISSIONS) {
      // Lost or overtaken: go on from the chain's nonce.
      this.#next.set(sender, committed);
      stale.count = 0;
    }
    const next = Math.max(this.#next.get(sender) ?? 0, committed);
    const kind = this.#kind(phase);
    const to = (sender + rng.int(1, this.#chain.accounts.length - 1)) % this.#chain.accounts.length;
    const amount = BigInt(rng.int(1, 1_000_000));
    if (kind === 'duplicate') {
      const earlier = this.#accepted.filter((s) => this.#senders(phase).includes(s.sender));
      if (earlier.length > 0) {
        const copy = rng.pick(earlier);
        return this.#record({ ...copy, kind: 'duplicate' });
      }
    }
    let nonce = next;
    let tx: Uint8Array;
    switch (kind) {
      case 'bad-signature':
        tx = this.#chain.transfer({ sender, nonce, to, amount, badSignature: true });
        break;
      case 'low-fee':
        tx = this.#chain.transfer({ sender, nonce, to, amount, fee: SIM_MIN_FEE - 1n });
        break;
      case 'wrong-chain':
        tx = this.#chain.transfer({ sender, nonce, to, amount, chainId: 'another-chain' });
        break;
      case 'nonce-gap':
        nonce = next + rng.int(2, 5);
        tx = this.#chain.transfer({ sender, nonce, to, amount });
        break;
      default:
        tx = this.#chain.transfer({ sender, nonce, to, amount });
        this.#next.set(sender, nonce + 1);
    }
    return this.#record({
      tx,
      hash: toHex(txHash(tx)),
      kind: kind === 'duplicate' ? 'valid' : kind,
      sender,
      nonce,
    });
  }

  #kind(phase: 'safety' | 'liveness'): TxKind {
    const r = this.#rng.float();
    if (phase === 'liveness') return r < 0.8 ? 'valid' : 'duplicate';
    if (r < 0.55) return 'valid';
    if (r < 0.65) return 'duplicate';
    if (r < 0.75) return 'bad-signature';
    if (r < 0.8) return 'low-fee';
    if (r < 0.85) return 'wrong-chain';
    return 'nonce-gap';
  }

  #record(s: Submission): Submission {
    this.counts.submitted++;
    this.counts.byKind[s.kind]++;
    return s;
  }

  /** A node answered broadcastTx for `s` (`accepted`: checkTx passed and its mempool took it). */
  answered(s: Submission, accepted: boolean, phase: 'safety' | 'liveness'): void {
    if (!accepted) {
      // A valid transfer no node took: its nonce is still the next one.
      if (s.kind === 'valid' && this.#next.get(s.sender) === s.nonce + 1) this.#next.set(s.sender, s.nonce);
      return;
    }
    this.counts.accepted++;
    if (s.kind !== 'duplicate') this.#accepted.push(s);
    if (phase === 'liveness' && s.kind === 'valid' && !this.#committed.has(s.hash))
      this.#required.set(s.hash, s);
  }

  /** A transaction was committed in a decided block. */
  committed(hash: string): void {
    if (this.#committed.has(hash)) return;
    this.#committed.add(hash);
    this.counts.committed++;
    this.#required.delete(hash);
  }

  /** Valid liveness-phase transactions accepted and not committed yet. */
  pending(): readonly Submission[] {
    return [...this.#required.values()];
  }
}
