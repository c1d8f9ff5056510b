import type { Block, SignedProposal, SignedVote } from '@synod/types';
import type { Network } from './network.js';

/**
 * The network as the consensus engine needs it. Structurally the same as
 * @synod/consensus's `ConsensusNetwork` port (this package does not depend on
 * consensus; TypeScript checks the match where the node wires the two).
 */
export interface ConsensusNetworkPort {
  broadcastProposal(proposal: SignedProposal, block: Block): Promise<void>;
  broadcastVote(vote: SignedVote): Promise<void>;
  /** Resolves with the block, or undefined when no peer has it (or none could be asked). */
  fetchBlock(hash: Uint8Array): Promise<Block | undefined>;
}

/** Adapts a Network to the consensus engine's network port. */
export function consensusPort(network: Network): ConsensusNetworkPort {
  return {
    async broadcastProposal(proposal, block) {
      await network.publishProposal(proposal, block);
    },
    async broadcastVote(vote) {
      await network.publishVote(vote);
    },
    async fetchBlock(hash) {
      try {
        return await network.requestBlockByHash(hash);
      } catch {
        // no peer to ask, or every peer failed: the engine retries on its own schedule
        return undefined;
      }
    },
  };
}
