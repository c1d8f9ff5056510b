/**
 * What a hostile peer sends on each gossip topic. It knows what anyone knows
 * (the chain id, the validator set's public keys, the wire formats) and holds
 * no validator key: every signature it makes under a validator's name is
 * forged. Every message is distinct (gossipsub deduplicates by content).
 */
import { randomBytes } from 'node:crypto';
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sign } from '@synod/crypto';
import {
  type Block,
  blockHash,
  canonicalEvidence,
  type DuplicateVoteEvidence,
  EMPTY_COMMIT,
  encodeBlock,
  encodeEvidence,
  encodeSignedProposal,
  encodeSignedVote,
  encodeTx,
  type Proposal,
  proposalSignBytes,
  type SignedVote,
  type Vote,
  voteSignBytes,
  ZERO_HASH,
} from '@synod/types';
import { encodeProposalParts } from '../../src/codec/proposal-message.js';
import { encodeTxBatch } from '../../src/codec/tx-batch.js';
import { type GossipTopic, topicName } from '../../src/topics.js';
import { CHAIN_ID, EVIDENCE_TIME_MS, makeBlock, makeTx, type Validators } from '../fixtures.js';

/** How a forged signature is made. Both have a canonical S (< L), so no cheap "malformed" exit. */
export type ForgeryKind =
  /** R is a real curve point (from a signature by another key): OpenSSL says no at once. */
  | 'canonical'
  /**
   * R is the point of order 2, (0, −1): a torsion component, where OpenSSL's
   * "no" could be ZIP-215's "yes", so a verifier must run its slow path.
   */
  | 'torsion';

/** The encoding of (0, −1), the point of order 2: y = p − 1 = 2^255 − 20, little endian. */
const ORDER_2_POINT = (() => {
  const r = new Uint8Array(32).fill(0xff);
  r[0] = 0xec;
  r[31] = 0x7f;
  return r;
})();

/** Sizes over every topic bound (old and new defaults), under gossipsub's frame limit. */
export const OVERSIZE_BYTES: Readonly<Record<GossipTopic, number>> = {
  votes: 4 * 1024,
  evidence: 128 * 1024,
  txs: 1024 * 1024 + 1024,
  proposals: 4 * 1024 * 1024 + 1024,
};

/** Empty transactions in a "huge" proposal: the most a block may list (LIMITS.blockTxsMax), ~400 KB. */
export const HUGE_PROPOSAL_TXS = 100_000;

export class Payloads {
  /** The attacker's own key: a real signer, just not a validator. */
  readonly key: KeyPair;
  private readonly realR: Uint8Array;
  private counter = 0;
  private readonly salt: number;
  private huge: { block: Uint8Array; hash: Uint8Array } | undefined;
  private small: Block | undefined;

  constructor(
    readonly vals: Validators,
    readonly chainId: string = CHAIN_ID,
  ) {
    this.key = keyPairFromSeed(new Uint8Array(32).fill(0x66));
    this.realR = sign(this.key, new Uint8Array([1, 2, 3])).subarray(0, 32);
    this.salt = randomBytes(4).readUInt32BE(0);
  }

  topic(t: GossipTopic): string {
    return topicName(this.chainId, t);
  }

  /** A fresh number (distinct messages). */
  next(): number {
    this.counter = (this.counter + 1) >>> 0;
    return this.counter;
  }

  /** 32 bytes no two messages share. */
  private unique(): Uint8Array {
    const h = randomBytes(32);
    h.writeUInt32BE(this.salt, 0);
    h.writeUInt32BE(this.next(), 4);
    return h;
  }

  /** A signature that does not verify, with a canonical S (< 2^252 < L). */
  forgedSignature(kind: ForgeryKind = 'canonical'): Uint8Array {
    const sig = new Uint8Array(64);
    sig.set(kind === 'torsion' ? ORDER_2_POINT : this.realR, 0);
    const s = randomBytes(32);
    s[31] = (s[31] ?? 0) & 0x0f;
    sig.set(s, 32);
    return sig;
  }

  garbage(bytes: number): Uint8Array {
    return randomBytes(bytes);
  }

  private validatorVote(height: number, round: number): Vote {
    const key = this.vals.keyAt(this.counter % this.vals.keys.length);
    return {
      type: this.counter % 2 === 0 ? 'prevote' : 'precommit',
      height,
      round,
      blockHash: this.unique(),
      validatorAddress: addressFromPublicKey(key.publicKey),
    };
  }

  /** A vote under a validator's name with a forged signature. */
  forgedVote(height = 1, round = 0, kind: ForgeryKind = 'canonical'): Uint8Array {
    const vote = this.validatorVote(height, round);
    return encodeSignedVote({ vote, signature: this.forgedSignature(kind) });
  }

  /** A validator's vote for a round beyond any look-ahead (or a far height): it is never checked. */
  farVote(): Uint8Array {
    const far = this.counter % 2 === 0;
    const round = far ? 10_001 + (this.next() % 2_000_000_000) : this.next() % 100;
    const height = far ? 1 : 1_000 + (this.next() % 1_000_000);
    return encodeSignedVote({ vote: this.validatorVote(height, round), signature: this.forgedSignature() });
  }

  /** A well-signed vote of a key that is not a validator. */
  outsiderVote(): Uint8Array {
    const vote: Vote = {
      type: 'prevote',
      height: 1,
      round: 0,
      blockHash: this.unique(),
      validatorAddress: addressFromPublicKey(this.key.publicKey),
    };
    return encodeSignedVote({ vote, signature: sign(this.key, voteSignBytes(this.chainId, vote)) });
  }

  /** A block of `txs` at `height` proposed by the proposer of round `round` (fixtures' round robin). */
  private proposerOf(round: number): KeyPair {
    return this.vals.keyAt(round % this.vals.keys.length);
  }

  private proposalFor(height: number, round: number, hash: Uint8Array, signer?: KeyPair): Uint8Array {
    const proposer = signer ?? this.proposerOf(round);
    const proposal: Proposal = {
      height,
      round,
      polRound: -1,
      blockHash: hash,
      timestampMs: EVIDENCE_TIME_MS + this.next(),
      proposerAddress: addressFromPublicKey(proposer.publicKey),
    };
    const signature =
      signer === undefined ? this.forgedSignature() : sign(signer, proposalSignBytes(this.chainId, proposal));
    return encodeSignedProposal({ proposal, signature });
  }

  /** A small proposal by the round's proposer, forged. */
  forgedProposal(height = 1): Uint8Array {
    this.small ??= makeBlock(1, ZERO_HASH, EMPTY_COMMIT, this.proposerOf(0));
    const round = this.next() % 10_000;
    return encodeProposalParts(
      this.proposalFor(height, round, blockHash(this.small)),
      encodeBlock(this.small),
    );
  }

  /**
   * A proposal of a block with 100,000 empty transactions (~400 KB, within
   * block.maxBytes), under the name of the round's proposer, forged. At a far
   * height it is ignored unchecked; at the current one its signature fails.
   */
  hugeProposal(height = 1): Uint8Array {
    if (this.huge === undefined) {
      const txs = Array.from({ length: HUGE_PROPOSAL_TXS }, () => new Uint8Array(0));
      const block = makeBlock(1, ZERO_HASH, EMPTY_COMMIT, this.proposerOf(0), txs);
      this.huge = { block: encodeBlock(block), hash: blockHash(block) };
    }
    const round = this.next() % 10_000;
    return encodeProposalParts(this.proposalFor(height, round, this.huge.hash), this.huge.block);
  }

  /** A proposal signed (validly) by the attacker's key, which is not a validator's. */
  outsiderProposal(): Uint8Array {
    this.small ??= makeBlock(1, ZERO_HASH, EMPTY_COMMIT, this.proposerOf(0));
    return encodeProposalParts(
      this.proposalFor(1, this.next() % 10_000, blockHash(this.small), this.key),
      encodeBlock(this.small),
    );
  }

  private duplicateVote(kind: ForgeryKind): DuplicateVoteEvidence {
    const a = this.validatorVote(1, 0);
    const b: Vote = { ...a, blockHash: this.unique() };
    const sv = (v: Vote): SignedVote => ({ vote: v, signature: this.forgedSignature(kind) });
    return canonicalEvidence({
      kind: 'duplicate-vote',
      voteA: sv(a),
      voteB: sv(b),
      validatorPower: 10,
      totalVotingPower: 10 * this.vals.keys.length,
      timeMs: EVIDENCE_TIME_MS,
    });
  }

  /** Duplicate-vote evidence against a validator, both signatures forged. */
  forgedEvidence(kind: ForgeryKind = 'canonical'): Uint8Array {
    return encodeEvidence(this.duplicateVote(kind));
  }

  /** Evidence whose two votes are the same vote: decodes, and is no conflict. */
  malformedEvidence(): Uint8Array {
    const ev = this.duplicateVote('canonical');
    return encodeEvidence({ ...ev, voteB: ev.voteA });
  }

  /** A batch with a transaction whose signature is forged. */
  forgedTx(kind: ForgeryKind = 'canonical'): Uint8Array {
    const { tx } = makeTx(this.key, this.next(), this.chainId);
    // a batch: a valid transaction, then the forged one (the batch is rejected whole)
    const { bytes: valid } = makeTx(this.key, this.next(), this.chainId);
    return encodeTxBatch([valid, encodeTx({ ...tx, signature: this.forgedSignature(kind) })]);
  }

  /** A batch of a well-signed transaction of another chain. */
  foreignTx(): Uint8Array {
    return encodeTxBatch([makeTx(this.key, this.next(), `${this.chainId}-other`).bytes]);
  }
}
