import { type ErrorCode, SynodError } from '@synod/types';

/**
 * What to do with a gossip message (Lodestar's GossipAction):
 * - ACCEPT: deliver it to the handler and forward it to the mesh;
 * - IGNORE: drop it, without blaming the peer (we cannot tell it is invalid:
 *   too old, too far ahead, validator set unknown, queue full);
 * - REJECT: drop it and penalise the peer that sent it (provably invalid).
 */
export type GossipAction = 'ACCEPT' | 'IGNORE' | 'REJECT';

/** Why a message was not accepted. Bounded: safe as a metric label. */
export const GOSSIP_ERROR_CODES = [
  'MESSAGE_TOO_LARGE',
  'DECODE_FAILED',
  'WRONG_CHAIN',
  'HEIGHT_TOO_OLD',
  'HEIGHT_TOO_FAR',
  'ROUND_TOO_FAR',
  'VALIDATOR_SET_UNKNOWN',
  'UNKNOWN_VALIDATOR',
  'INVALID_SIGNATURE',
  'WRONG_PROPOSER',
  'DOUBLE_PROPOSAL',
  'DUPLICATE_PROPOSAL',
  'BLOCK_HASH_MISMATCH',
  'BLOCK_HEIGHT_MISMATCH',
  'BLOCK_DATA_INVALID',
  'BLOCK_PROPOSER_MISMATCH',
  'EVIDENCE_MALFORMED',
  'EVIDENCE_FROM_FUTURE',
  'EVIDENCE_EXPIRED',
  'EVIDENCE_WRONG_POWER',
  'EVIDENCE_WRONG_TIME',
  'TX_REJECTED',
  'TX_IGNORED',
  'QUEUE_FULL',
  /** The sender is banned: what it still had queued, or still sent, is dropped unvalidated. */
  'PEER_BANNED',
  'INTERNAL',
] as const;

export type GossipErrorCode = (typeof GOSSIP_ERROR_CODES)[number];

/** The gossip topic a check belongs to, to pick the matching @synod/types error code. */
export type ValidatedKind = 'vote' | 'proposal' | 'evidence' | 'tx';

function synodCode(kind: ValidatedKind, reason: GossipErrorCode): ErrorCode {
  switch (reason) {
    case 'MESSAGE_TOO_LARGE':
      return 'P2P_MESSAGE_TOO_LARGE';
    case 'INVALID_SIGNATURE':
      return kind === 'vote'
        ? 'VOTE_INVALID_SIGNATURE'
        : kind === 'proposal'
          ? 'PROPOSAL_INVALID_SIGNATURE'
          : kind === 'tx'
            ? 'TX_INVALID'
            : 'EVIDENCE_INVALID';
    case 'WRONG_PROPOSER':
      return 'PROPOSAL_WRONG_PROPOSER';
    case 'UNKNOWN_VALIDATOR':
      return kind === 'vote'
        ? 'VOTE_UNKNOWN_VALIDATOR'
        : kind === 'proposal'
          ? 'PROPOSAL_INVALID'
          : 'EVIDENCE_INVALID';
    case 'BLOCK_HASH_MISMATCH':
    case 'BLOCK_HEIGHT_MISMATCH':
    case 'BLOCK_DATA_INVALID':
    case 'BLOCK_PROPOSER_MISMATCH':
      return 'BLOCK_INVALID';
    case 'EVIDENCE_MALFORMED':
    case 'EVIDENCE_WRONG_POWER':
    case 'EVIDENCE_WRONG_TIME':
      return 'EVIDENCE_INVALID';
    case 'TX_REJECTED':
      return 'TX_INVALID';
    case 'INTERNAL':
      return 'INTERNAL';
    default:
      return 'P2P_INVALID_MESSAGE';
  }
}

/**
 * The one error gossip validation throws: an action, a bounded reason, and a
 * @synod/types error code. Validators never return "invalid": they throw this.
 */
export class GossipValidationError extends SynodError {
  readonly action: Exclude<GossipAction, 'ACCEPT'>;
  readonly reason: GossipErrorCode;

  constructor(
    kind: ValidatedKind,
    action: Exclude<GossipAction, 'ACCEPT'>,
    reason: GossipErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(synodCode(kind, reason), message, options);
    this.name = 'GossipValidationError';
    this.action = action;
    this.reason = reason;
  }
}

/**
 * A verdict is not a bug: a validation error carries no stack trace. Capturing
 * one costs more than the checks behind most verdicts (a far-round vote is
 * IGNOREd after a few comparisons), and a flood buys one per message.
 */
function verdict(
  kind: ValidatedKind,
  action: Exclude<GossipAction, 'ACCEPT'>,
  reason: GossipErrorCode,
  message: string,
  cause: unknown,
): GossipValidationError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new GossipValidationError(
      kind,
      action,
      reason,
      message,
      cause === undefined ? undefined : { cause },
    );
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** `// [REJECT] ...`: throws a REJECT error. */
export function reject(
  kind: ValidatedKind,
  reason: GossipErrorCode,
  message: string,
  cause?: unknown,
): never {
  throw verdict(kind, 'REJECT', reason, message, cause);
}

/** `// [IGNORE] ...`: throws an IGNORE error. */
export function ignore(kind: ValidatedKind, reason: GossipErrorCode, message: string): never {
  throw verdict(kind, 'IGNORE', reason, message, undefined);
}
