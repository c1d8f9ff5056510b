/**
 * Mesh parameters. Synod's gossip network is a validator network: tens of
 * nodes (100+ at most), mostly fully connected, latency-sensitive consensus
 * traffic. The defaults (and why) are in the README ("Mesh parameters").
 */
export interface MeshOptions {
  /** Target mesh degree. @default 8 */
  readonly D: number;
  /** Graft below this. @default 6 */
  readonly Dlo: number;
  /** Prune above this. @default 12 */
  readonly Dhi: number;
  /** Mesh peers kept by score when pruning. @default 4 */
  readonly Dscore: number;
  /** Outbound-connection quota in the mesh (< Dlo, ≤ D/2). @default 2 */
  readonly Dout: number;
  /** Peers sent IHAVE gossip each heartbeat. @default 8 */
  readonly Dlazy: number;
  /** @default 700 */
  readonly heartbeatIntervalMs: number;
  /** Heartbeats of full messages kept for IWANT. @default 6 */
  readonly mcacheLength: number;
  /** Heartbeats of message ids advertised in IHAVE. @default 3 */
  readonly mcacheGossip: number;
  /** How long message ids are remembered for deduplication. @default 120000 */
  readonly seenTtlMs: number;
  /** Send our own messages to every subscribed peer above the publish threshold, not only the mesh. @default true */
  readonly floodPublish: boolean;
}

export const DEFAULT_MESH_OPTIONS: MeshOptions = Object.freeze({
  D: 8,
  Dlo: 6,
  Dhi: 12,
  Dscore: 4,
  Dout: 2,
  Dlazy: 8,
  heartbeatIntervalMs: 700,
  mcacheLength: 6,
  mcacheGossip: 3,
  seenTtlMs: 120_000,
  floodPublish: true,
});
