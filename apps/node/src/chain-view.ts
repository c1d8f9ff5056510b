/**
 * The network's base gossip validation context (@synod/p2p's
 * `ValidationContext`), for the moments the node does not run: from the
 * network's start until the node attaches its own view (step 3 of its
 * start), and after it detaches it at stop. While the node runs, its view
 * (`attachValidation`: height and round being decided, validator sets of
 * the window, proposer schedule, evidence rules, its one verifier) replaces
 * every member of this one.
 *
 * It knows the chain as the state store left it at start: the sets of the
 * heights around the last executed one, so that messages of that height can
 * be judged (and relayed) while the node starts; anything else is ignored.
 * Before a node's first start it knows no set.
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
  #refreshing: Promise<void> = Promise.resolve();

  constructor(chainId: string, storage: NodeStorage, logger: Logger) {
    this.chainId = chainId;
    this.#storage = storage;
    this.#logger = logger;
  }

  currentHeight(): number {
    return this.#height + 1;
  }

  currentRound(): number {
    return 0;
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

  /** The last executed height is `height`: load the sets of the window (serialised, never concurrent). */
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
