/**
 * The node's events: how the RPC, metrics and the simulator's checkers observe
 * it (no test-only hooks inside the node).
 */
import type { ConflictingCommits } from '@synod/consensus';
import type { Block, Commit, ConsensusParams, Evidence, TxResult, ValidatorUpdate } from '@synod/types';

/** A block was decided and executed (`block`: once its records are on disk). */
export interface BlockDecidedEvent {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly block: Block;
  /** The commit that decided it (this node's, or the one block sync verified). */
  readonly commit: Commit;
  /** The application's result of each transaction, in block order. */
  readonly txResults: readonly TxResult[];
  /** Validator changes the block decided (they take effect at height + 2). */
  readonly validatorUpdates: readonly ValidatorUpdate[];
  /** Consensus parameters the block changed, if any. */
  readonly consensusParamUpdates?: ConsensusParams;
  /** The app hash after the block (the next header's `appHash`). */
  readonly appHash: Uint8Array;
}

/** Evidence entered the node's pool. */
export interface EvidenceEvent {
  readonly evidence: Evidence;
  /** `'local'`: this node's consensus saw the equivocation; otherwise the peer that gossiped it. */
  readonly source: 'local' | { readonly peer: string };
}

/** Block sync progress: heights `from`..`height` were executed from peers (the best peer is at `target`). */
export interface SyncProgressEvent {
  readonly from: number;
  readonly height: number;
  readonly target: number;
  /** True once the node caught up and consensus runs. */
  readonly done: boolean;
}

export interface NodeEvents {
  block: BlockDecidedEvent;
  /**
   * A block's records are being written (consensus, block sync, and blocks
   * the start handshake executes again because their records had not
   * reached the disk): emitted inside the block's write group
   * (`NodeStorage.writeGroup`), so what a listener writes synchronously from
   * it goes into the same atomic batch as the block's chain state and
   * application state — the RPC's index does. The `block` event follows once
   * the batch is on disk (none for a block the handshake executes again: it
   * was announced before).
   */
  'block-write': BlockDecidedEvent;
  evidence: EvidenceEvent;
  /** Two valid commits for different blocks at one height: more than 1/3 is Byzantine; consensus halted. */
  'security-alert': ConflictingCommits;
  sync: SyncProgressEvent;
  /** The consensus engine stopped itself (a port failed unsafely, or the security alert). */
  halted: { readonly error: Error };
  /** The node committed its `haltHeight` (coordinated upgrade): it starts no next height; stop it. */
  'halt-height': { readonly height: number };
}

export type NodeEventName = keyof NodeEvents;

type Listener<T> = (event: T) => void;

/**
 * A small typed event emitter. A listener that throws does not stop the
 * others or the node: the error goes to `onListenerError`.
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Calls `listener` on every `name` event; returns the function that removes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  /** How many listeners `name` has. */
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }
}
