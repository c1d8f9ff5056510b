import { assertChainId } from './chain-id.js';
import { sszEncode, utf8Encode } from './codec.js';
import { type Proposal, proposalToSsz } from './proposal.js';
import { ProposalSsz, TxBodySsz } from './schema.js';
import { type TxBody, txBodyToSsz } from './tx.js';
import { encodeVote, type Vote } from './vote.js';

/**
 * Sign bytes are domain-separated by message type and chain id:
 *
 *     "synod/v1/" ‖ domain (1 byte) ‖ len(chainId) (1 byte) ‖ chainId ‖ SSZ(message)
 *
 * The domain byte differs for prevotes, precommits, proposals and transactions,
 * so a signature over one can never be replayed as another, nor on another chain
 * (the chain id is length-prefixed, so no two (chainId, message) pairs share
 * bytes).
 */
export const SIGN_DOMAIN = {
  prevote: 0x01,
  precommit: 0x02,
  proposal: 0x03,
  tx: 0x04,
} as const;

export type SignDomain = keyof typeof SIGN_DOMAIN;

const PREFIX = utf8Encode('synod/v1/');

const chainIdCache = new Map<string, Uint8Array>();

function chainIdBytes(chainId: string): Uint8Array {
  let b = chainIdCache.get(chainId);
  if (b === undefined) {
    assertChainId(chainId);
    b = utf8Encode(chainId);
    if (chainIdCache.size > 64) chainIdCache.clear();
    chainIdCache.set(chainId, b);
  }
  return b;
}

export function signBytes(domain: SignDomain, chainId: string, body: Uint8Array): Uint8Array {
  const cid = chainIdBytes(chainId);
  const out = new Uint8Array(PREFIX.length + 2 + cid.length + body.length);
  out.set(PREFIX, 0);
  let o = PREFIX.length;
  out[o++] = SIGN_DOMAIN[domain];
  out[o++] = cid.length;
  out.set(cid, o);
  out.set(body, o + cid.length);
  return out;
}

export function voteSignBytes(chainId: string, vote: Vote): Uint8Array {
  return signBytes(vote.type, chainId, encodeVote(vote));
}

export function proposalSignBytes(chainId: string, proposal: Proposal): Uint8Array {
  return signBytes('proposal', chainId, sszEncode(ProposalSsz, proposalToSsz(proposal), 'proposal'));
}

export function txSignBytes(chainId: string, body: TxBody): Uint8Array {
  return signBytes('tx', chainId, sszEncode(TxBodySsz, txBodyToSsz(body), 'tx'));
}
