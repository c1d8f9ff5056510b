import type { Counter, Gauge, Histogram, Metrics } from '@synod/types';

/** Every metric @synod/p2p records. Labels are bounded (topics, actions, codes, protocols, reasons). */
export interface P2pMetrics {
  /** Gossip messages by topic, action (accept / ignore / reject) and reason code. */
  readonly gossipMessages: Counter;
  /** Gossip messages dropped by a full queue, by topic. */
  readonly queueDropped: Counter;
  /** Gossip messages waiting for validation, by topic. */
  readonly queueLength: Gauge;
  /** Bytes of gossip messages waiting for validation, by topic. */
  readonly queueBytes: Gauge;
  /** Gossipsub-level protocol violations charged to peers, by kind (`GOSSIP_VIOLATIONS`). */
  readonly gossipViolations: Counter;
  /** Time from gossip arrival to the end of validation, by topic. */
  readonly validationSeconds: Histogram;
  /** Messages this node published, by topic. */
  readonly published: Counter;
  /** Transactions in the batches this node published, and in the valid batches it received (delivered). */
  readonly txBatchTxs: Counter;
  /** Requests this node sent, by protocol and result. */
  readonly requests: Counter;
  /** Duration of requests this node sent, by protocol. */
  readonly requestSeconds: Histogram;
  /** Requests this node served, by protocol and result. */
  readonly served: Counter;
  /** Malformed or oversize requests received, by protocol and kind (`BadRequestKind`). */
  readonly badRequests: Counter;
  /** Round-trip time of connected peers (libp2p's connection monitor), sampled at each of the peer manager's ping rounds. */
  readonly pingSeconds: Histogram;
  /** The peer manager's pings by result (`ok`, `failed`): failures count towards delinquency. */
  readonly pings: Counter;
  /** Penalties by reason. */
  readonly penalties: Counter;
  /** Bans by reason. */
  readonly bans: Counter;
  /**
   * Inbound connections refused before their handshake, by reason
   * (`INBOUND_REFUSALS`) and stage (`accept`: as the listener accepted the
   * socket; `gater`: in the connection gater).
   */
  readonly inboundRefused: Counter;
  /** IPs banned (enough of their peers were banned). */
  readonly ipBans: Counter;
  /** Connected peers. */
  readonly peers: Gauge;
  /** Connected peers currently marked delinquent. */
  readonly delinquentPeers: Gauge;
  /** Dials started by the peer manager, by kind (persistent / bootstrap / discovered) and result. */
  readonly dials: Counter;
}

export function createP2pMetrics(m: Metrics): P2pMetrics {
  return {
    gossipMessages: m.counter({
      name: 'synod_p2p_gossip_messages_total',
      help: 'Gossip messages received, by topic, validation action and reason',
      labelNames: ['topic', 'action', 'reason'],
    }),
    queueDropped: m.counter({
      name: 'synod_p2p_queue_dropped_total',
      help: 'Gossip messages dropped unvalidated (full queue, peer over its share, banned peer)',
      labelNames: ['topic'],
    }),
    queueLength: m.gauge({
      name: 'synod_p2p_queue_length',
      help: 'Gossip messages waiting for validation',
      labelNames: ['topic'],
    }),
    queueBytes: m.gauge({
      name: 'synod_p2p_queue_bytes',
      help: 'Bytes of gossip messages waiting for validation',
      labelNames: ['topic'],
    }),
    gossipViolations: m.counter({
      name: 'synod_p2p_gossip_violations_total',
      help: 'Gossipsub-level protocol violations charged to peers, by kind',
      labelNames: ['kind'],
    }),
    validationSeconds: m.histogram({
      name: 'synod_p2p_gossip_validation_seconds',
      help: 'Time from gossip arrival to the end of validation',
      labelNames: ['topic'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    }),
    txBatchTxs: m.counter({
      name: 'synod_p2p_tx_batch_txs_total',
      help: 'Transactions in the tx batches this node published (direction="published") and admitted from received batches (direction="received")',
      labelNames: ['direction'],
    }),
    published: m.counter({
      name: 'synod_p2p_published_total',
      help: 'Messages published by this node',
      labelNames: ['topic'],
    }),
    requests: m.counter({
      name: 'synod_p2p_requests_total',
      help: 'Requests sent, by protocol and result',
      labelNames: ['protocol', 'result'],
    }),
    requestSeconds: m.histogram({
      name: 'synod_p2p_request_duration_seconds',
      help: 'Duration of requests sent, by protocol',
      labelNames: ['protocol'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    }),
    served: m.counter({
      name: 'synod_p2p_requests_served_total',
      help: 'Requests served, by protocol and result',
      labelNames: ['protocol', 'result'],
    }),
    badRequests: m.counter({
      name: 'synod_p2p_bad_requests_total',
      help: 'Malformed or oversize requests received, by protocol and kind (each one penalised)',
      labelNames: ['protocol', 'kind'],
    }),
    pingSeconds: m.histogram({
      name: 'synod_p2p_ping_rtt_seconds',
      help: "Round-trip time of each connection (libp2p's connection monitor), sampled every ping interval",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    pings: m.counter({
      name: 'synod_p2p_pings_total',
      help: "The peer manager's pings of connected peers, by result (ok, failed)",
      labelNames: ['result'],
    }),
    penalties: m.counter({
      name: 'synod_p2p_peer_penalties_total',
      help: 'Penalties given to peers, by reason',
      labelNames: ['reason'],
    }),
    bans: m.counter({
      name: 'synod_p2p_peer_bans_total',
      help: 'Peers banned, by reason',
      labelNames: ['reason'],
    }),
    inboundRefused: m.counter({
      name: 'synod_p2p_inbound_refused_total',
      help: 'Inbound connections refused before their handshake, by reason and stage (accept, gater)',
      labelNames: ['reason', 'stage'],
    }),
    ipBans: m.counter({
      name: 'synod_p2p_ip_bans_total',
      help: 'Remote IPs banned because enough of their peers were banned',
    }),
    peers: m.gauge({ name: 'synod_p2p_peers', help: 'Connected peers' }),
    delinquentPeers: m.gauge({
      name: 'synod_p2p_delinquent_peers',
      help: 'Connected peers marked delinquent',
    }),
    dials: m.counter({
      name: 'synod_p2p_dials_total',
      help: 'Dials started by the peer manager, by kind and result',
      labelNames: ['kind', 'result'],
    }),
  };
}
