/**
 * The chain as the network's gossip validation reads it (@synod/p2p's
 * `ValidationContext`): the height and round being decided, the validator
 * sets of the height window and the proposer of a (height, round). Kept in
 * memory (validation asks for every message), refreshed from the state
 * store after each executed block; the node's own view adds the evidence
 * rules while it runs (`attachValidation`).
 *
 * Before the node's first start (no chain state yet) it knows no set:
 * votes and proposals are ignored, as they should be.
 */
import { ProposerSchedule } from '@synod/consensus';
import type { ValidationContext } from '@synod/p2p';
import type { NodeStorage } from '@synod/storage';
import type { Logger, ValidatorSet } from '@synod/types';

/** Heights kept around the one being decided: one behind (late precommits), two ahead. */
const BEHIND = 1;
const AHEAD = 2;

export class ChainView implements ValidationContext {
  readonly chainId: string;
  readonly #storage: NodeStorage;
  readonly #logger: Logger;
  readonly #sets = new Map<number, ValidatorSet>();
  readonly #schedules = new Map<number, ProposerSchedule>();
  /** Last executed height. */
  #height = 0;
  #round: () => number = () => 0;
  #refreshing: Promise<void> = Promise.resolve();

  constructor(chainId: string, storage: NodeStorage, logger: Logger) {
    this.chainId = chainId;
    this.#storage = storage;
    this.#logger = logger;
  }

  /** Where the round being decided comes from (the node's status once it runs). */
  followRound(round: () => number): void {
    this.#round = round;
  }

  currentHeight(): number {
    return this.#height + 1;
  }

  currentRound(): number {
    return this.#round();
  }

  validatorSetAt(height: number): ValidatorSet | undefined {
    return this.#sets.get(height);
  }

  proposerIndex(height: number, round: number): number | undefined {
    const set = this.#sets.get(height);
    if (set === undefined) return undefined;
    let schedule = this.#schedules.get(height);
    if (schedule === undefined) {
      schedule = new ProposerSchedule(set.validators);
      this.#schedules.set(height, schedule);
    }
    return schedule.proposer(round);
  }

  /** Last executed height is `height`: load the sets of the window (serialised, never concurrent). */
  executed(height: number): Promise<void> {
    const run = this.#refreshing.then(() => this.#load(height));
    this.#refreshing = run.catch((err: unknown) =>
      this.#logger.warn('could not load validator sets for gossip validation', {
        height,
        error: (err as Error).message,
      }),
    );
    return this.#refreshing;
  }

  async #load(height: number): Promise<void> {
    if (height < this.#height) return;
    const from = Math.max(1, height + 1 - BEHIND);
    const to = height + 1 + AHEAD;
    for (let h = from; h <= to; h++) {
      if (this.#sets.has(h)) continue;
      const set = await this.#storage.state.loadValidatorSet(h);
      // the state store holds sets up to the last executed height + 2
      if (set !== undefined && h <= height + 2) this.#sets.set(h, set);
    }
    this.#height = height;
    for (const h of [...this.#sets.keys()]) {
      if (h < from) {
        this.#sets.delete(h);
        this.#schedules.delete(h);
      }
    }
  }
}
