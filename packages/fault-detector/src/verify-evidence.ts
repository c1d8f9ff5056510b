import { verify as cryptoVerify } from '@synod/crypto';
import {
  type ConsensusParams,
  type Evidence,
  evidenceHeight,
  evidenceStructureProblem,
  evidenceValidator,
  proposalSignBytes,
  totalVotingPower,
  type ValidatorSet,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';

/** What evidence verification needs to know about the chain. */
export interface EvidenceContext {
  readonly chainId: string;
  /** Last committed height of the verifying node. */
  readonly height: number;
  /** Block time of the last committed height (ms since epoch). */
  readonly timeMs: number;
  readonly params: ConsensusParams;
  /** The validator set that decided `height`, or undefined if unknown (pruned / future). */
  validatorSetAt(height: number): ValidatorSet | undefined;
  /** Block time of a committed height, or undefined if unknown. */
  blockTimeAt(height: number): number | undefined;
  /**
   * The Ed25519 (ZIP-215) signature check (default: @synod/crypto's `verify`).
   * It must be that check, answered however is fastest: the simulator shares
   * one cache of verified signatures between all its nodes.
   */
  readonly verifySignature?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
}

/** Why evidence was refused: bounded codes, safe as metric labels. */
export type EvidenceProblemCode =
  | 'MALFORMED'
  | 'FROM_FUTURE'
  | 'EXPIRED'
  | 'UNKNOWN_HEIGHT'
  | 'UNKNOWN_VALIDATOR'
  | 'WRONG_POWER'
  | 'WRONG_TIME'
  | 'BAD_SIGNATURE';

export interface EvidenceProblem {
  readonly code: EvidenceProblemCode;
  readonly reason: string;
}

/**
 * Evidence is expired when it is older than maxAgeBlocks AND older than
 * maxAgeDurationMs (both must be exceeded, as in CometBFT: a slow chain does not
 * lose evidence early, nor a fast one).
 */
export function isEvidenceExpired(
  evidenceHeightValue: number,
  evidenceTimeMs: number,
  height: number,
  timeMs: number,
  params: ConsensusParams,
): boolean {
  const ageBlocks = height - evidenceHeightValue;
  const ageMs = timeMs - evidenceTimeMs;
  return ageBlocks > params.evidence.maxAgeBlocks && ageMs > params.evidence.maxAgeDurationMs;
}

/**
 * Full verification of one evidence item against the chain: structure, age,
 * the accused validator's membership and power at that height, the recorded
 * block time, and both signatures. Returns undefined when valid.
 */
export function evidenceProblem(ev: Evidence, ctx: EvidenceContext): EvidenceProblem | undefined {
  const structure = evidenceStructureProblem(ev);
  if (structure !== undefined) return { code: 'MALFORMED', reason: structure };
  const h = evidenceHeight(ev);
  if (h > ctx.height) return { code: 'FROM_FUTURE', reason: `evidence height ${h} is above ${ctx.height}` };
  if (isEvidenceExpired(h, ev.timeMs, ctx.height, ctx.timeMs, ctx.params)) {
    return { code: 'EXPIRED', reason: `evidence from height ${h} is too old` };
  }
  const set = ctx.validatorSetAt(h);
  const blockTime = ctx.blockTimeAt(h);
  if (set === undefined || blockTime === undefined) {
    return { code: 'UNKNOWN_HEIGHT', reason: `no validator set or block time known for height ${h}` };
  }
  if (ev.timeMs !== blockTime) return { code: 'WRONG_TIME', reason: 'evidence time is not the block time' };
  const address = evidenceValidator(ev);
  const idx = validatorIndex(set, address);
  const validator = set.validators[idx];
  if (validator === undefined)
    return { code: 'UNKNOWN_VALIDATOR', reason: 'accused is not a validator at that height' };
  if (ev.validatorPower !== validator.votingPower || ev.totalVotingPower !== totalVotingPower(set)) {
    return { code: 'WRONG_POWER', reason: 'recorded voting power does not match the validator set' };
  }
  const verify = ctx.verifySignature ?? cryptoVerify;
  const ok =
    ev.kind === 'duplicate-vote'
      ? verify(validator.pubKey, voteSignBytes(ctx.chainId, ev.voteA.vote), ev.voteA.signature) &&
        verify(validator.pubKey, voteSignBytes(ctx.chainId, ev.voteB.vote), ev.voteB.signature)
      : verify(
          validator.pubKey,
          proposalSignBytes(ctx.chainId, ev.proposalA.proposal),
          ev.proposalA.signature,
        ) &&
        verify(
          validator.pubKey,
          proposalSignBytes(ctx.chainId, ev.proposalB.proposal),
          ev.proposalB.signature,
        );
  if (!ok) return { code: 'BAD_SIGNATURE', reason: 'a signature in the evidence is invalid' };
  return undefined;
}

/**
 * The identity of an infraction: a validator is punished once per
 * (kind, height, round[, vote type]), however many conflicting pairs exist.
 */
export function infractionKey(ev: Evidence): string {
  const addr = Buffer.from(evidenceValidator(ev)).toString('hex');
  if (ev.kind === 'duplicate-vote') {
    const v = ev.voteA.vote;
    return `dv/${addr}/${v.height}/${v.round}/${v.type}`;
  }
  const p = ev.proposalA.proposal;
  return `dp/${addr}/${p.height}/${p.round}`;
}
