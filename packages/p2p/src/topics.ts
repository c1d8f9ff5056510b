/**
 * Versioned names of the gossip topics and request/response protocols.
 *
 *     /synod/<chain-id>/<name>/<version>
 *
 * A node only talks to nodes of the same chain (the chain id is part of every
 * name) and a wire change bumps the version, so old and new nodes can run side
 * by side during an upgrade.
 */

/** The gossip topics, in the order they are handled under load (consensus first). */
export const GOSSIP_TOPICS = ['proposals', 'votes', 'evidence', 'txs'] as const;
export type GossipTopic = (typeof GOSSIP_TOPICS)[number];

/** The request/response protocols (`consensus`: the liveness protocol, what a peer holds for a height and round). */
export const REQRESP_PROTOCOLS = ['status', 'block-by-hash', 'block-range', 'pex', 'consensus'] as const;
export type ReqRespProtocol = (typeof REQRESP_PROTOCOLS)[number];

/**
 * Current wire version of every topic and protocol. 2: the `txs` topic
 * carries batches of transactions (codec/tx-batch.ts) instead of one
 * transaction per message; a node of version 1 is refused at identify and
 * shares no topic or protocol id with this one.
 */
export const WIRE_VERSION = 2;

/** `/synod/<chain-id>/<topic>/<wire version>` */
export function topicName(chainId: string, topic: GossipTopic, version: number = WIRE_VERSION): string {
  return `/synod/${chainId}/${topic}/${version}`;
}

/** `/synod/<chain-id>/<protocol>/<wire version>` */
export function protocolId(
  chainId: string,
  protocol: ReqRespProtocol,
  version: number = WIRE_VERSION,
): string {
  return `/synod/${chainId}/${protocol}/${version}`;
}

/** Every topic and protocol id a node of `chainId` speaks (shown in the RPC's `status`). */
export function protocolIds(chainId: string, version: number = WIRE_VERSION): string[] {
  return [
    ...GOSSIP_TOPICS.map((t) => topicName(chainId, t, version)),
    ...REQRESP_PROTOCOLS.map((p) => protocolId(chainId, p, version)),
  ];
}

/**
 * The agent a node announces in libp2p identify (`agentVersion`):
 * `synod/<software version> p2p/<wire version>`.
 */
export function agentVersion(softwareVersion: string, wireVersion: number = WIRE_VERSION): string {
  return `synod/${softwareVersion} p2p/${wireVersion}`;
}

/** The software and wire versions of a Synod agent string; undefined for another agent. */
export function parseAgentVersion(agent: string): { software: string; wire: number } | undefined {
  const m = /^synod\/(\S{1,64}) p2p\/(\d{1,9})$/.exec(agent);
  if (m === null) return undefined;
  return { software: m[1] as string, wire: Number(m[2]) };
}

/** Maps full topic names back to their short names for one chain. */
export class TopicNames {
  readonly byTopic: Readonly<Record<GossipTopic, string>>;
  private readonly byName: ReadonlyMap<string, GossipTopic>;

  constructor(
    readonly chainId: string,
    version: number = WIRE_VERSION,
  ) {
    const byTopic = {} as Record<GossipTopic, string>;
    const byName = new Map<string, GossipTopic>();
    for (const t of GOSSIP_TOPICS) {
      const name = topicName(chainId, t, version);
      byTopic[t] = name;
      byName.set(name, t);
    }
    this.byTopic = byTopic;
    this.byName = byName;
  }

  /** The short topic of a full topic name, or undefined for a topic of another chain/version. */
  topicOf(name: string): GossipTopic | undefined {
    return this.byName.get(name);
  }

  all(): string[] {
    return [...this.byName.keys()];
  }
}
