import { addressFromPublicKey, fromHex, publicKeyProblem, toHex } from '@synod/crypto';
import { isValidChainId } from './chain-id.js';
import { SynodError } from './errors.js';
import { type ConsensusParams, consensusParamsProblems, DEFAULT_CONSENSUS_PARAMS } from './params.js';
import { compareBytes, MAX_TOTAL_VOTING_POWER, type Validator, type ValidatorSet } from './validator.js';

/** A genesis validator as written in genesis.json. */
export interface GenesisValidator {
  readonly name: string;
  readonly pubKey: Uint8Array;
  readonly power: number;
}

/** The chain's genesis: everything every node must agree on at the start. */
export interface Genesis {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly initialHeight: number;
  readonly consensusParams: ConsensusParams;
  readonly validators: readonly GenesisValidator[];
  /** Application-specific initial state (the application validates it). */
  readonly appState: unknown;
}

/** genesis.json, as stored on disk. */
export interface GenesisJson {
  chainId: string;
  genesisTime: string;
  initialHeight?: number;
  consensusParams?: DeepPartial<ConsensusParams>;
  validators: { name?: string; pubKey: string; power: number }[];
  appState?: unknown;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function mergeParams(base: ConsensusParams, over: unknown, problems: string[]): ConsensusParams {
  if (over === undefined) return base;
  if (!isRecord(over)) {
    problems.push('consensusParams must be an object');
    return base;
  }
  const out: Record<string, Record<string, number>> = {};
  for (const [section, fields] of Object.entries(base)) {
    const o = over[section];
    if (o !== undefined && !isRecord(o)) problems.push(`consensusParams.${section} must be an object`);
    const merged: Record<string, number> = { ...(fields as Record<string, number>) };
    if (isRecord(o)) {
      for (const [k, v] of Object.entries(o)) {
        if (!(k in merged)) problems.push(`consensusParams.${section}.${k} is not a known parameter`);
        else if (typeof v !== 'number') problems.push(`consensusParams.${section}.${k} must be a number`);
        else merged[k] = v;
      }
    }
    out[section] = merged;
  }
  for (const k of Object.keys(over))
    if (!(k in base)) problems.push(`consensusParams.${k} is not a known section`);
  return out as unknown as ConsensusParams;
}

/**
 * Parses and validates genesis.json contents. Throws GENESIS_INVALID listing
 * every problem found.
 */
export function parseGenesis(json: unknown): Genesis {
  const problems: string[] = [];
  if (!isRecord(json)) throw new SynodError('GENESIS_INVALID', 'genesis: expected a JSON object');
  const chainId = json.chainId;
  if (typeof chainId !== 'string' || !isValidChainId(chainId)) {
    problems.push('chainId must be 1-50 characters of [a-zA-Z0-9._-], starting alphanumeric');
  }
  const genesisTimeMs = typeof json.genesisTime === 'string' ? Date.parse(json.genesisTime) : Number.NaN;
  if (!Number.isSafeInteger(genesisTimeMs) || genesisTimeMs < 0) {
    problems.push('genesisTime must be an ISO-8601 date string');
  }
  const initialHeight = json.initialHeight ?? 1;
  if (!Number.isSafeInteger(initialHeight) || (initialHeight as number) < 1) {
    problems.push('initialHeight must be a positive integer');
  }
  const consensusParams = mergeParams(DEFAULT_CONSENSUS_PARAMS, json.consensusParams, problems);
  problems.push(...consensusParamsProblems(consensusParams).map((p) => `consensusParams.${p}`));
  const validators: GenesisValidator[] = [];
  if (!Array.isArray(json.validators) || json.validators.length === 0) {
    problems.push('validators must be a non-empty array');
  } else {
    let total = 0;
    const seen = new Set<string>();
    json.validators.forEach((v: unknown, i: number) => {
      if (!isRecord(v)) {
        problems.push(`validators[${i}] must be an object`);
        return;
      }
      let pubKey: Uint8Array | undefined;
      try {
        pubKey = typeof v.pubKey === 'string' ? fromHex(v.pubKey) : undefined;
      } catch {
        pubKey = undefined;
      }
      if (pubKey === undefined || pubKey.length !== 32) {
        problems.push(`validators[${i}].pubKey must be 32 bytes of hex`);
        return;
      }
      const keyProblem = publicKeyProblem(pubKey);
      if (keyProblem !== undefined) {
        problems.push(`validators[${i}].pubKey: ${keyProblem}`);
        return;
      }
      const hex = toHex(pubKey);
      if (seen.has(hex)) problems.push(`validators[${i}].pubKey is a duplicate`);
      seen.add(hex);
      const power = v.power;
      if (typeof power !== 'number' || !Number.isSafeInteger(power) || power <= 0) {
        problems.push(`validators[${i}].power must be a positive integer`);
        return;
      }
      total += power;
      const name = typeof v.name === 'string' ? v.name : `validator-${i}`;
      validators.push({ name, pubKey, power });
    });
    if (total > MAX_TOTAL_VOTING_POWER) problems.push('total voting power is too large');
  }
  if (problems.length > 0) {
    throw new SynodError('GENESIS_INVALID', `genesis is invalid:\n- ${problems.join('\n- ')}`, {
      details: { problems },
    });
  }
  return {
    chainId: chainId as string,
    genesisTimeMs,
    initialHeight: initialHeight as number,
    consensusParams,
    validators,
    appState: json.appState ?? {},
  };
}

/** The genesis validator set (sorted by address, priorities zero). */
export function genesisValidatorSet(genesis: Genesis): ValidatorSet {
  const validators: Validator[] = genesis.validators.map((v) => ({
    address: addressFromPublicKey(v.pubKey),
    pubKey: v.pubKey,
    votingPower: v.power,
    proposerPriority: 0n,
  }));
  validators.sort((a, b) => compareBytes(a.address, b.address));
  return { validators };
}

/** genesis.json contents for a Genesis (inverse of parseGenesis). */
export function genesisToJson(genesis: Genesis): GenesisJson {
  return {
    chainId: genesis.chainId,
    genesisTime: new Date(genesis.genesisTimeMs).toISOString(),
    initialHeight: genesis.initialHeight,
    consensusParams: genesis.consensusParams,
    validators: genesis.validators.map((v) => ({ name: v.name, pubKey: toHex(v.pubKey), power: v.power })),
    appState: genesis.appState,
  };
}
