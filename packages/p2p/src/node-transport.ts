/**
 * The node's transport over a `Network`: @synod/node's `NodeTransport` port,
 * implemented here without importing @synod/node (which depends on this
 * package for its tests only; the other way round would be a cycle). The
 * shapes below are structurally the port's: TypeScript checks the match
 * where a host passes `nodeTransport(network)` as the node's transport.
 */
import {
  type Block,
  type Evidence,
  type EvidenceChainView,
  encodeBlock,
  encodeCommit,
  type SignedVote,
  SynodError,
} from '@synod/types';
import type { ConsensusReply, ConsensusRequest } from './codec/consensus-messages.js';
import type { ProposalMessage } from './codec/proposal-message.js';
import type { BlockWithCommit, StatusMessage } from './codec/reqresp-messages.js';
import type { Network, RequestProvider } from './network.js';
import { RequestError } from './reqresp/transport.js';
import type { GossipTopic } from './topics.js';
import type { ValidationContext } from './validation/validate.js';

/** The message of each topic as the node sends and receives it (the port's `NodeMessages`). */
export interface NodeTransportMessages {
  readonly proposals: ProposalMessage;
  readonly votes: SignedVote;
  readonly evidence: Evidence;
  /** A transaction's bytes, as blocks carry them. */
  readonly txs: Uint8Array;
}

/** A received gossip message and the peer that relayed it (the port's `Received`). */
export interface NodeReceived<T> {
  readonly message: T;
  readonly from: string;
}

/** What the node serves to peers (the port's `SyncProvider`). */
export interface NodeSyncProvider {
  status(): StatusMessage | Promise<StatusMessage>;
  blockByHash(hash: Uint8Array): Block | undefined | Promise<Block | undefined>;
  blockRange(from: number, to: number): readonly BlockWithCommit[] | Promise<readonly BlockWithCommit[]>;
  consensus(request: ConsensusRequest): ConsensusReply | Promise<ConsensusReply>;
}

/**
 * What the node's view of its chain gives gossip validation (the port's
 * `GossipValidationView`): `evidenceChain` always; the other members, when
 * the view has them, replace the host's context's (`NetworkOptions.validation`)
 * while the view is attached.
 */
export interface NodeValidationView {
  evidenceChain(): EvidenceChainView;
  currentHeight?(): number;
  currentRound?(): number;
  validatorSetAt?: ValidationContext['validatorSetAt'];
  proposerIndex?: ValidationContext['proposerIndex'];
  /** The node's signature check (one verifier with a memory, shared with its engine). */
  readonly verifySignature?: ValidationContext['verifySignature'];
  /** The same check for many signatures, answered later (off the event loop). */
  readonly verifySignatures?: ValidationContext['verifySignatures'];
}

/**
 * Gossip of validated messages per topic, the request/response protocols of
 * block sync and liveness, and the peer list, over one `Network`.
 *
 * - `publish` / `subscribe` map to the network's `publishX` / `on(topic)`:
 *   every received message passed gossip validation (and proposals carry
 *   their blocks; transactions are handed over as their bytes).
 * - `serve(provider)` makes the network answer status, block-by-hash,
 *   block-range (each height's block and commit re-encoded from the
 *   provider's `blockRange(h, h)`) and consensus requests from it.
 * - `attachValidation(view)` gives the network's validation context the
 *   node's `evidenceChain` (and any other member the view has).
 * - `requestBlockRange` checks everything but the commit signatures, which
 *   the node verifies against the set of each height as it applies blocks.
 * - `requestBlockByHash` resolves undefined when no peer could answer.
 * - `peers()` are the connected peers.
 */
export class P2PNodeTransport {
  readonly #network: Network;

  constructor(network: Network) {
    this.#network = network;
  }

  /** The network under this transport (the host starts and stops it). */
  get network(): Network {
    return this.#network;
  }

  async publish<T extends GossipTopic>(topic: T, message: NodeTransportMessages[T]): Promise<void> {
    const n = this.#network;
    switch (topic) {
      case 'proposals': {
        const m = message as NodeTransportMessages['proposals'];
        await n.publishProposal(m.signedProposal, m.block);
        return;
      }
      case 'votes':
        await n.publishVote(message as NodeTransportMessages['votes']);
        return;
      case 'evidence':
        await n.publishEvidence(message as NodeTransportMessages['evidence']);
        return;
      case 'txs':
        await n.publishTx(message as NodeTransportMessages['txs']);
        return;
      default:
        throw new SynodError('INTERNAL', `node transport: unknown topic ${String(topic)}`);
    }
  }

  subscribe<T extends GossipTopic>(
    topic: T,
    handler: (received: NodeReceived<NodeTransportMessages[T]>) => void | Promise<void>,
  ): () => void {
    const n = this.#network;
    const deliver = handler as (received: NodeReceived<unknown>) => void | Promise<void>;
    switch (topic) {
      case 'proposals':
        return n.on('proposals', ({ message, from }) =>
          deliver({ message: { signedProposal: message.signedProposal, block: message.block }, from }),
        );
      case 'votes':
        return n.on('votes', ({ message, from }) => deliver({ message, from }));
      case 'evidence':
        return n.on('evidence', ({ message, from }) => deliver({ message, from }));
      case 'txs':
        return n.on('txs', ({ message, from }) => deliver({ message: message.bytes, from }));
      default:
        throw new SynodError('INTERNAL', `node transport: unknown topic ${String(topic)}`);
    }
  }

  attachValidation(view: NodeValidationView): () => void {
    const n = this.#network;
    const base = n.validation;
    // Every member is read through `base` or `view` at call time (either may be a class instance).
    const ctx: ValidationContext = {
      chainId: base.chainId,
      currentHeight: () => (view.currentHeight === undefined ? base.currentHeight() : view.currentHeight()),
      validatorSetAt: (height) =>
        view.validatorSetAt === undefined ? base.validatorSetAt(height) : view.validatorSetAt(height),
      proposerIndex: (height, round) =>
        view.proposerIndex === undefined
          ? base.proposerIndex(height, round)
          : view.proposerIndex(height, round),
      currentRound: () =>
        view.currentRound === undefined ? (base.currentRound?.() ?? 0) : view.currentRound(),
      evidenceChain: () => view.evidenceChain(),
      verifySignature: view.verifySignature ?? base.verifySignature,
      verifySignatures: view.verifySignatures ?? base.verifySignatures,
      ...(base.txPrecheck === undefined
        ? {}
        : { txPrecheck: (tx, bytes) => base.txPrecheck?.(tx, bytes) ?? 'ACCEPT' }),
    };
    n.setValidation(ctx);
    return () => {
      if (n.validation === ctx) n.setValidation(base);
    };
  }

  serve(provider: NodeSyncProvider): () => void {
    const n = this.#network;
    const served: RequestProvider = {
      status: () => provider.status(),
      blockByHash: (hash) => provider.blockByHash(hash),
      // the node's stores hand over decoded blocks: each height is encoded again as it is served
      encodedBlockWithCommit: async (height) => {
        const [item] = await provider.blockRange(height, height);
        if (item === undefined || item.block.header.height !== height) return undefined;
        return { block: encodeBlock(item.block), commit: encodeCommit(item.commit) };
      },
      consensus: (request) => provider.consensus(request),
    };
    n.setProvider(served);
    return () => {
      // a later serve() replaced ours: leave it
      if (n.provider === served) n.setProvider(undefined);
    };
  }

  requestStatus(peer: string): Promise<StatusMessage> {
    return this.#network.requestStatus(peer);
  }

  async requestBlockByHash(
    hash: Uint8Array,
    options: { readonly peer?: string } = {},
  ): Promise<Block | undefined> {
    try {
      return await this.#network.requestBlockByHash(
        hash,
        options.peer === undefined ? {} : { peer: options.peer },
      );
    } catch (err) {
      // no peer to ask, or every peer asked failed: nobody had it for us
      if (err instanceof RequestError) return undefined;
      throw err;
    }
  }

  async requestBlockRange(peer: string, from: number, to: number): Promise<readonly BlockWithCommit[]> {
    const { items } = await this.#network.requestBlockRange(from, to, {
      peer,
      commitSignatures: 'verified-by-caller',
    });
    return items;
  }

  requestConsensus(peer: string, request: ConsensusRequest): Promise<ConsensusReply> {
    return this.#network.requestConsensus(peer, request);
  }

  peers(): readonly string[] {
    return this.#network.connectedPeers();
  }
}

/** The node's transport (@synod/node's `NodeTransport`) over `network`. */
export function nodeTransport(network: Network): P2PNodeTransport {
  return new P2PNodeTransport(network);
}
