export { ConflictingCommitDetector, type SecurityAlert } from './conflicting-commits.js';
export {
  countsAsSigned,
  maxMissedBlocks,
  newSigningInfo,
  recordSignature,
  type SigningInfo,
} from './downtime.js';
export { type AddEvidenceResult, EvidencePool, type EvidencePoolOptions } from './evidence-pool.js';
export {
  canUnjail,
  downtimePunishment,
  equivocationPunishment,
  fractionOf,
  type Punishment,
} from './slashing.js';
export {
  type EvidenceContext,
  type EvidenceProblem,
  type EvidenceProblemCode,
  evidenceProblem,
  infractionKey,
  isEvidenceExpired,
  punishmentKey,
} from './verify-evidence.js';
