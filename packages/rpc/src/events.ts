/**
 * The event bus behind `subscribe`: clients (a WebSocket connection, or a
 * `broadcast_tx_commit` waiting for its transaction) hold subscriptions,
 * each a parsed query; every published event goes to the subscriptions whose
 * query it matches. Bounded as CometBFT's: at most
 * `max_subscription_clients` clients with subscriptions, at most
 * `max_subscriptions_per_client` per client, one subscription per query.
 */
import type { Json } from './encode.js';
import type { EventMap, Query } from './query.js';

/** An event as published: CometBFT's `TMEventData` (`{ type, value }`) and its events. */
export interface BusEvent {
  /** e.g. `tendermint/event/NewBlock`. */
  readonly type: string;
  readonly value: Json;
  readonly events: EventMap;
  /** `JSON.stringify({ type, value })` once, for every subscriber (set by the bus). */
  serialized?: string;
}

/** Receives the events of one subscription. */
export type Deliver = (event: BusEvent, query: string) => void;

interface Subscription {
  readonly query: Query;
  readonly deliver: Deliver;
}

export interface EventBusLimits {
  readonly maxClients: number;
  readonly maxPerClient: number;
}

export class EventBus {
  readonly #limits: EventBusLimits;
  /** client → query text → subscription. */
  readonly #clients = new Map<string, Map<string, Subscription>>();
  #subscriptions = 0;

  constructor(limits: EventBusLimits) {
    this.#limits = limits;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Whether `client` may add one more subscription: undefined when yes, else CometBFT's reason. */
  refusal(client: string): string | undefined {
    const subs = this.#clients.get(client);
    if (subs === undefined && this.#clients.size >= this.#limits.maxClients)
      return `max_subscription_clients ${this.#limits.maxClients} reached`;
    if ((subs?.size ?? 0) >= this.#limits.maxPerClient)
      return `max_subscriptions_per_client ${this.#limits.maxPerClient} reached`;
    return undefined;
  }

  /** Adds a subscription; throws Error with CometBFT's message when a limit is reached or it exists. */
  subscribe(client: string, query: Query, deliver: Deliver): void {
    const refused = this.refusal(client);
    if (refused !== undefined) throw new Error(refused);
    let subs = this.#clients.get(client);
    if (subs?.has(query.text)) throw new Error('already subscribed');
    if (subs === undefined) {
      subs = new Map();
      this.#clients.set(client, subs);
    }
    subs.set(query.text, { query, deliver });
    this.#subscriptions++;
  }

  /** Removes one subscription; false when the client has none for this query. */
  unsubscribe(client: string, queryText: string): boolean {
    const subs = this.#clients.get(client);
    if (subs === undefined || !subs.delete(queryText)) return false;
    this.#subscriptions--;
    if (subs.size === 0) this.#clients.delete(client);
    return true;
  }

  /** Removes every subscription of `client`; returns how many there were. */
  unsubscribeAll(client: string): number {
    const subs = this.#clients.get(client);
    if (subs === undefined) return 0;
    this.#clients.delete(client);
    this.#subscriptions -= subs.size;
    return subs.size;
  }

  /** Whether any subscription matches `events` (so the event's data is worth building). */
  wants(events: EventMap): boolean {
    for (const subs of this.#clients.values())
      for (const sub of subs.values()) if (sub.query.matches(events)) return true;
    return false;
  }

  /** Whether some subscription may match an event of type `eventType` (`tm.event`): false when each query rules the type out. */
  mayWant(eventType: string): boolean {
    for (const subs of this.#clients.values())
      for (const sub of subs.values()) if (!sub.query.rejectsEventType(eventType)) return true;
    return false;
  }

  /** Delivers `event` to every matching subscription. A subscriber that throws does not stop the others. */
  publish(event: BusEvent): void {
    for (const subs of [...this.#clients.values()])
      for (const [text, sub] of [...subs]) {
        if (!sub.query.matches(event.events)) continue;
        event.serialized ??= JSON.stringify({ type: event.type, value: event.value });
        try {
          sub.deliver(event, text);
        } catch {
          // [IGNORE] a subscriber's failure is its own (a closed socket); the bus serves the others.
        }
      }
  }
}
