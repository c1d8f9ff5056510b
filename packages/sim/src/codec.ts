import type { NodeMessages, NodeTopic } from '@synod/node';
import {
  encodeProposalMessage,
  encodeTxBatch,
  GOSSIP_TOPICS as P2P_GOSSIP_TOPICS,
} from '@synod/p2p/validation';
import { encodeEvidence, encodeSignedVote } from '@synod/types';

/**
 * The simulated wire is @synod/p2p's: the bytes of a gossip message of each
 * topic of @synod/node's transport port, as the libp2p network publishes
 * them, and on arrival the transport runs @synod/p2p's own gossip validation
 * (`validateGossipMessage`, from the libp2p-free `@synod/p2p/validation`
 * entry) on them, so a Byzantine node's garbage meets the same code path as
 * real traffic:
 *
 *     proposals  u32 length ‖ SSZ(SignedProposal) ‖ SSZ(Block)   (encodeProposalMessage)
 *     votes      SSZ(SignedVote)
 *     evidence   SSZ(Evidence)
 *     txs        a batch of one transaction (encodeTxBatch: u16 count ‖ u16 length ‖ SSZ(SignedTx));
 *                the libp2p network batches many per message, the simulator
 *                publishes each on its own, and both validate it as a batch
 *
 * The request/response protocols (status, block-by-hash, block-range,
 * consensus) carry their objects through the simulated network as they are
 * (with delay, loss and timeouts): nothing Byzantine writes bytes there.
 */
export const GOSSIP_TOPICS: readonly NodeTopic[] = P2P_GOSSIP_TOPICS;

export function encodeGossip<T extends NodeTopic>(topic: T, message: NodeMessages[T]): Uint8Array {
  switch (topic) {
    case 'proposals':
      return encodeProposalMessage(message as NodeMessages['proposals']);
    case 'votes':
      return encodeSignedVote(message as NodeMessages['votes']);
    case 'evidence':
      return encodeEvidence(message as NodeMessages['evidence']);
    default:
      return encodeTxBatch([message as NodeMessages['txs']]);
  }
}
