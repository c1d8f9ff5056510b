import { verify as cryptoVerify } from '@synod/crypto';
import {
  type ConsensusParams,
  type Evidence,
  type EvidenceChainView,
  evidenceHeight,
  evidenceStructureProblem,
  evidenceTimeProblem,
  evidenceValidator,
  proposalSignBytes,
  totalVotingPower,
  type ValidatorSet,
  validatorIndex,
  voteSignBytes,
} from '@synod/types';

export { isEvidenceExpired } from '@synod/types';

/** What evidence verification needs to know about the chain. */
export interface EvidenceContext extends EvidenceChainView {
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
 * Full verification of one evidence item against the chain: structure
 * (canonical order included), height and time (`evidenceTimeProblem`: age by
 * `isEvidenceExpired`, the recorded block time), the accused validator's
 * membership and power at that height, and both signatures. Returns undefined
 * when valid.
 */
export function evidenceProblem(ev: Evidence, ctx: EvidenceContext): EvidenceProblem | undefined {
  const structure = evidenceStructureProblem(ev);
  if (structure !== undefined) return { code: 'MALFORMED', reason: structure };
  const time = evidenceTimeProblem(ev, ctx);
  if (time !== undefined) return time;
  const h = evidenceHeight(ev);
  const set = ctx.validatorSetAt(h);
  if (set === undefined) return { code: 'UNKNOWN_HEIGHT', reason: `no validator set known for height ${h}` };
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

/**
 * What the ledger punishes: one validator at one height (it records the
 * handled infraction and tombstones the validator, so a second pair at that
 * height, of any kind, round or vote type, punishes nothing more). The pool
 * keeps one pending item per key and a block carries at most one.
 */
export function punishmentKey(ev: Evidence): string {
  return `${Buffer.from(evidenceValidator(ev)).toString('hex')}/${evidenceHeight(ev)}`;
}
