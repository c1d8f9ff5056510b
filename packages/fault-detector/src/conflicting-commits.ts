import { bytesEqual, type Commit } from '@synod/types';

/** Proof that more than 1/3 of the power is Byzantine: two valid commits for different blocks at one height. */
export interface SecurityAlert {
  readonly kind: 'conflicting-commits';
  readonly height: number;
  readonly commitA: Commit;
  readonly commitB: Commit;
}

/**
 * Watches verified commits (from consensus, sync and gossip). Two commits for
 * different blocks at one height raise an alert once; the node must then halt
 * block production and keep both commits as evidence. Commits must be verified
 * (`commitProblem` from @synod/types) before they are observed here.
 */
export class ConflictingCommitDetector {
  readonly #byHeight = new Map<number, Commit>();
  readonly #keep: number;
  #alert: SecurityAlert | undefined;

  /** @param keepHeights how many recent heights to remember @default 1000 */
  constructor(keepHeights = 1000) {
    this.#keep = keepHeights;
  }

  get alert(): SecurityAlert | undefined {
    return this.#alert;
  }

  /** Records a verified commit; returns the alert when it conflicts with one seen before. */
  observe(commit: Commit): SecurityAlert | undefined {
    const prior = this.#byHeight.get(commit.height);
    if (prior === undefined) {
      this.#byHeight.set(commit.height, commit);
      if (this.#byHeight.size > this.#keep) {
        const oldest = this.#byHeight.keys().next().value as number;
        this.#byHeight.delete(oldest);
      }
      return undefined;
    }
    if (bytesEqual(prior.blockHash, commit.blockHash)) return undefined;
    this.#alert ??= { kind: 'conflicting-commits', height: commit.height, commitA: prior, commitB: commit };
    return this.#alert;
  }
}
