import { sha256 } from '@synod/crypto';
import { checkDecodedUint, invalid, sszDecode, sszEncode } from './codec.js';
import { SynodError } from './errors.js';
import { LIMITS } from './limits.js';
import { ConsensusParamsSsz } from './schema.js';

/**
 * Consensus parameters: agreed by the chain (genesis, later the application),
 * stored by height. Fractions are integer parts per million (ppm) so that every
 * node computes the same result without floating point.
 */
/** Round timeouts: base + round × delta per step, capped, and the wait after a decision. */
export interface TimeoutParams {
  /** Propose timeout of round 0; each round adds `proposeDeltaMs`. */
  readonly proposeMs: number;
  readonly proposeDeltaMs: number;
  readonly prevoteMs: number;
  readonly prevoteDeltaMs: number;
  readonly precommitMs: number;
  readonly precommitDeltaMs: number;
  /** No round timeout exceeds this. */
  readonly capMs: number;
  /** Wait after a decision before starting the next height. */
  readonly commitMs: number;
}

export interface ConsensusParams {
  readonly timeouts: TimeoutParams;
  readonly block: {
    readonly maxBytes: number;
    readonly maxGas: number;
    /** How far a block's time may be ahead of a validator's clock. */
    readonly maxTimeDriftMs: number;
  };
  readonly evidence: {
    /** Evidence older than this many blocks AND this duration is rejected. */
    readonly maxAgeBlocks: number;
    readonly maxAgeDurationMs: number;
    /** Most evidence bytes in one block. */
    readonly maxBytes: number;
  };
  readonly slashing: {
    readonly doubleSignSlashPpm: number;
    readonly downtimeSlashPpm: number;
    readonly signedBlocksWindow: number;
    readonly minSignedPerWindowPpm: number;
    readonly downtimeJailDurationMs: number;
  };
  readonly staking: {
    /** Blocks between an unbond and the stake's release. */
    readonly unbondingBlocks: number;
    readonly maxValidators: number;
  };
}

export const PPM = 1_000_000;

export const DEFAULT_CONSENSUS_PARAMS: ConsensusParams = Object.freeze({
  timeouts: Object.freeze({
    proposeMs: 1000,
    proposeDeltaMs: 500,
    prevoteMs: 500,
    prevoteDeltaMs: 500,
    precommitMs: 500,
    precommitDeltaMs: 500,
    capMs: 30_000,
    commitMs: 100,
  }),
  block: Object.freeze({ maxBytes: 4 * 1024 * 1024, maxGas: 100_000_000, maxTimeDriftMs: 10_000 }),
  evidence: Object.freeze({
    maxAgeBlocks: 100_000,
    maxAgeDurationMs: 48 * 3600 * 1000,
    maxBytes: 1024 * 1024,
  }),
  slashing: Object.freeze({
    doubleSignSlashPpm: 50_000,
    downtimeSlashPpm: 10_000,
    signedBlocksWindow: 100,
    minSignedPerWindowPpm: 500_000,
    downtimeJailDurationMs: 10 * 60 * 1000,
  }),
  staking: Object.freeze({ unbondingBlocks: 1000, maxValidators: 100 }),
});

/** Checks the rules of consensus params; returns a list of problems (empty when valid). */
export function consensusParamsProblems(p: ConsensusParams): string[] {
  const problems: string[] = [];
  const walk = (obj: object, path: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'object' && v !== null) walk(v, `${path}${k}.`);
      else if (!Number.isSafeInteger(v) || (v as number) < 0)
        problems.push(`${path}${k} must be a non-negative integer`);
    }
  };
  walk(p, '');
  if (problems.length > 0) return problems;
  const t = p.timeouts;
  if (t.proposeMs <= 0 || t.prevoteMs <= 0 || t.precommitMs <= 0) problems.push('timeouts must be positive');
  if (t.capMs < Math.max(t.proposeMs, t.prevoteMs, t.precommitMs))
    problems.push('timeouts.capMs below a base timeout');
  if (p.block.maxBytes <= 0 || p.block.maxBytes > LIMITS.blockBytesMax) {
    problems.push(`block.maxBytes must be in (0, ${LIMITS.blockBytesMax}]`);
  }
  if (p.block.maxGas <= 0) problems.push('block.maxGas must be positive');
  if (p.evidence.maxAgeBlocks <= 0) problems.push('evidence.maxAgeBlocks must be positive');
  if (p.evidence.maxBytes >= p.block.maxBytes)
    problems.push('evidence.maxBytes must be below block.maxBytes');
  const s = p.slashing;
  for (const [k, v] of [
    ['doubleSignSlashPpm', s.doubleSignSlashPpm],
    ['downtimeSlashPpm', s.downtimeSlashPpm],
    ['minSignedPerWindowPpm', s.minSignedPerWindowPpm],
  ] as const) {
    if (v > PPM) problems.push(`slashing.${k} must be at most ${PPM}`);
  }
  if (s.signedBlocksWindow <= 0) problems.push('slashing.signedBlocksWindow must be positive');
  if (p.staking.maxValidators <= 0 || p.staking.maxValidators > LIMITS.validatorsMax) {
    problems.push(`staking.maxValidators must be in (0, ${LIMITS.validatorsMax}]`);
  }
  return problems;
}

export function encodeConsensusParams(p: ConsensusParams): Uint8Array {
  const problems = consensusParamsProblems(p);
  if (problems.length > 0) {
    throw new SynodError('ENCODE_INVALID_VALUE', `consensus params: ${problems.join('; ')}`);
  }
  return sszEncode(ConsensusParamsSsz, p, 'consensusParams');
}

export function decodeConsensusParams(bytes: Uint8Array): ConsensusParams {
  const p = sszDecode(ConsensusParamsSsz, bytes, 'consensusParams');
  const walk = (obj: object, path: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'object' && v !== null) walk(v, `${path}${k}.`);
      else checkDecodedUint(v as number, `${path}${k}`);
    }
  };
  walk(p, 'consensusParams.');
  const problems = consensusParamsProblems(p);
  if (problems.length > 0) invalid('consensusParams', problems.join('; '));
  return p;
}

export function consensusParamsHash(p: ConsensusParams): Uint8Array {
  return sha256(encodeConsensusParams(p));
}

/** Timeout of `step` in `round`: base + round × delta, capped (paper: timeoutPropose(r) etc.). */
export function roundTimeoutMs(
  p: ConsensusParams,
  step: 'propose' | 'prevote' | 'precommit',
  round: number,
): number {
  const t = p.timeouts;
  const [base, delta] =
    step === 'propose'
      ? [t.proposeMs, t.proposeDeltaMs]
      : step === 'prevote'
        ? [t.prevoteMs, t.prevoteDeltaMs]
        : [t.precommitMs, t.precommitDeltaMs];
  return Math.min(base + round * delta, t.capMs);
}
