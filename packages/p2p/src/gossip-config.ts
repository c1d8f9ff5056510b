import { type GossipsubOpts, StrictNoSign } from '@libp2p/gossipsub';
import { sha256Concat } from '@synod/crypto';
import { gossipDataBytesMax, type MessageLimits } from './limits.js';
import type { MeshOptions } from './mesh-options.js';
import { GOSSIP_TOPICS, type GossipTopic, type TopicNames } from './topics.js';

export { DEFAULT_MESH_OPTIONS, type MeshOptions } from './mesh-options.js';

/** Gossipsub score thresholds (see README "Scoring and bans"). */
export const SCORE_THRESHOLDS = Object.freeze({
  gossipThreshold: -20,
  publishThreshold: -40,
  graylistThreshold: -80,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 5,
});

/** P4 weight: k invalid messages on a topic cost weight × k² (× the topic weight). */
export const INVALID_MESSAGE_WEIGHT = -2;

const TOPIC_WEIGHT: Readonly<Record<GossipTopic, number>> = { proposals: 1, votes: 1, evidence: 1, txs: 0.5 };

type TopicScoreParams = NonNullable<GossipsubOpts['scoreParams']['topics']>[string];

function topicScoreParams(weight: number): TopicScoreParams {
  return {
    topicWeight: weight,
    // P1: time in mesh, +0.01 per second, capped at +3
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 300,
    // P2: first deliveries, +0.1 each, counter capped at 50 (+5), decays 10 %/s
    firstMessageDeliveriesWeight: 0.1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 50,
    // P3/P3b: disabled. Consensus traffic is bursty and low-volume (a few
    // messages per round); a delivery-rate floor would penalise honest peers.
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 60_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: invalid messages (validation REJECT), counter halves in ~69 s
    invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
    invalidMessageDeliveriesDecay: 0.99,
  };
}

/** sha256(topic ‖ data)[0..20): the content-addressed message id (StrictNoSign messages have no seqno). */
export function messageId(topicBytes: Uint8Array, data: Uint8Array): Uint8Array {
  return sha256Concat(topicBytes, data).subarray(0, 20);
}

export interface GossipConfigInput {
  readonly topics: TopicNames;
  readonly limits: MessageLimits;
  readonly mesh: MeshOptions;
  /** P5: the application's score of a peer (minus its reputation points). */
  appScore(peer: string): number;
}

/** The gossipsub options of a Synod node. */
export function gossipsubOptions(input: GossipConfigInput): Partial<GossipsubOpts> {
  const { mesh, topics } = input;
  const encoder = new TextEncoder();
  const topicBytes = new Map<string, Uint8Array>();
  const scoreTopics: Record<string, TopicScoreParams> = {};
  for (const t of GOSSIP_TOPICS) {
    const name = topics.byTopic[t];
    topicBytes.set(name, encoder.encode(name));
    scoreTopics[name] = topicScoreParams(TOPIC_WEIGHT[t]);
  }
  return {
    // our messages carry our own signatures; gossipsub adds none and accepts none
    globalSignaturePolicy: StrictNoSign,
    msgIdFn: (msg) => messageId(topicBytes.get(msg.topic) ?? encoder.encode(msg.topic), msg.data),
    // forward only after our validation says ACCEPT (reportMessageValidationResult)
    asyncValidation: true,
    fallbackToFloodsub: false,
    emitSelf: false,
    doPX: false,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    allowedTopics: topics.all(),
    maxInboundDataLength: gossipDataBytesMax(input.limits),
    D: mesh.D,
    Dlo: mesh.Dlo,
    Dhi: mesh.Dhi,
    Dscore: mesh.Dscore,
    Dout: mesh.Dout,
    Dlazy: mesh.Dlazy,
    heartbeatInterval: mesh.heartbeatIntervalMs,
    mcacheLength: mesh.mcacheLength,
    mcacheGossip: mesh.mcacheGossip,
    seenTTL: mesh.seenTtlMs,
    floodPublish: mesh.floodPublish,
    scoreParams: {
      topics: scoreTopics,
      topicScoreCap: 10,
      appSpecificScore: (peer) => input.appScore(peer),
      appSpecificWeight: 1,
      // validators may share a host (and do in tests); identity is by signature, not IP
      IPColocationFactorWeight: 0,
      decayInterval: 1_000,
      decayToZero: 0.01,
      // remember a disconnected peer's score as long as a ban lasts
      retainScore: 600_000,
    },
    scoreThresholds: { ...SCORE_THRESHOLDS },
  };
}
