/**
 * The simulated chain: its genesis (the validators' keys sorted by address,
 * funded accounts, the ledger's app state), its consensus params, and the
 * transfers accounts sign. Every node of a run — and the checkers' reference
 * — starts from the same `SimChain`.
 */
import { addressFromPublicKey, keyPairFromSeed } from '@synod/crypto';
import { ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import {
  type ConsensusParams,
  compareBytes,
  DEFAULT_CONSENSUS_PARAMS,
  encodeTx,
  type Genesis,
  makeValidatorSet,
  PPM,
  type TimeoutParams,
  type TxBody,
  txSignBytes,
  type ValidatorSet,
} from '@synod/types';
import { Rng } from './rng.js';
import { SignatureOracle } from './signatures.js';

export const SIM_CHAIN_ID = 'synod-sim';
export const GENESIS_TIME_MS = 1_700_000_000_000;

/**
 * Heights an honest node may need, after the safety phase, to be back in the
 * decided commits (restart, catch up): the downtime window is the safety
 * phase's heights plus this (see `simSlashing`).
 */
export const DOWNTIME_WINDOW_MARGIN = 12;

/**
 * The simulated chain's slashing params: the defaults' amounts (5%, jail for
 * ever and tombstone for equivocation; 1% and a jail for downtime), with a
 * downtime window short enough to be seen in a run: a validator absent from
 * every one of `signedBlocksWindow` decided commits in a row is slashed and
 * jailed (minSignedPerWindowPpm makes one signature per window the bar), and
 * the jail outlasts any run. The window is `safetyHeights +
 * DOWNTIME_WINDOW_MARGIN`: an honest node misses commits only while the
 * fault plan keeps it down or cut off (the safety phase, at most
 * `safetyHeights` heights) and while it catches up in the liveness phase, so
 * it cannot miss a whole window; a validator that stays silent misses every
 * one and is jailed at height window + 1 (the liveness phase runs at least
 * to window + 3, when it is out of the set).
 */
export function simSlashing(safetyHeights: number): ConsensusParams['slashing'] {
  const window = safetyHeights + DOWNTIME_WINDOW_MARGIN;
  return {
    doubleSignSlashPpm: DEFAULT_CONSENSUS_PARAMS.slashing.doubleSignSlashPpm,
    downtimeSlashPpm: DEFAULT_CONSENSUS_PARAMS.slashing.downtimeSlashPpm,
    signedBlocksWindow: window,
    minSignedPerWindowPpm: Math.floor(PPM / window),
    downtimeJailDurationMs: 24 * 3600 * 1000,
  };
}

/**
 * Evidence: never expires within a run (the defaults' ages: 100,000 blocks
 * and 48 hours); at most 2 KiB per block (six items), so a burst of evidence
 * takes several blocks.
 */
export const SIM_EVIDENCE: ConsensusParams['evidence'] = {
  ...DEFAULT_CONSENSUS_PARAMS.evidence,
  maxBytes: 2048,
};

/** The consensus params of a simulated chain: the scenario's timeouts, evidence and slashing as above. */
export function simConsensusParams(timeouts: TimeoutParams, safetyHeights = 12): ConsensusParams {
  return {
    ...DEFAULT_CONSENSUS_PARAMS,
    timeouts,
    evidence: SIM_EVIDENCE,
    slashing: simSlashing(safetyHeights),
  };
}

/** Accounts funded at genesis (the workload's senders and recipients). */
export const SIM_ACCOUNTS = 12;
const ACCOUNT_BALANCE = 1_000_000_000_000n;
/** The ledger's minimum fee in the simulated chain (every valid transfer of the workload pays it). */
export const SIM_MIN_FEE = 10n;
/** Gas limit of a generated transfer (a transfer needs about 4,000: 2,000 + 10 per byte). */
export const TX_GAS_LIMIT = 10_000;

export interface ValidatorKey {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
}

export interface AccountKey {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
}

/** What a transfer of the workload is made of. */
export interface TransferSpec {
  readonly sender: number;
  readonly nonce: number;
  readonly to: number;
  readonly amount: bigint;
  readonly fee?: bigint;
  /** The chain id signed (another one makes the transaction invalid). */
  readonly chainId?: string;
  /** Flip a bit of the signature (invalid). */
  readonly badSignature?: boolean;
}

/**
 * The chain of one run: validator keys (node i is validator i of the genesis
 * set, which is sorted by address), funded accounts, the genesis every node
 * starts from, and one signature oracle for the ledger's transaction
 * signatures (shared by every node's ledger: a signature this process made is
 * valid by construction, anything else is verified once per run).
 */
export class SimChain {
  readonly genesis: Genesis;
  readonly validatorSet: ValidatorSet;
  readonly validators: readonly ValidatorKey[];
  readonly accounts: readonly AccountKey[];
  readonly params: ConsensusParams;
  readonly txSignatures = new SignatureOracle('ed25519');

  constructor(
    validators: readonly ValidatorKey[],
    powers: readonly number[],
    params: ConsensusParams,
    seed: number,
  ) {
    this.validators = validators;
    this.params = params;
    this.validatorSet = makeValidatorSet(
      validators.map((k, i) => ({
        address: k.address,
        pubKey: k.publicKey,
        votingPower: powers[i] as number,
        proposerPriority: 0n,
      })),
    );
    const rng = new Rng((seed ^ 0x5eed1ed9) >>> 0);
    this.accounts = Array.from({ length: SIM_ACCOUNTS }, () => {
      const kp = keyPairFromSeed(rng.bytes(32));
      return { seed: kp.seed, publicKey: kp.publicKey, address: addressFromPublicKey(kp.publicKey) };
    });
    this.genesis = {
      chainId: SIM_CHAIN_ID,
      genesisTimeMs: GENESIS_TIME_MS,
      initialHeight: 1,
      consensusParams: params,
      validators: validators.map((k, i) => ({
        name: `v${i}`,
        pubKey: k.publicKey,
        power: powers[i] as number,
      })),
      appState: ledgerAppState({
        minFee: SIM_MIN_FEE,
        accounts: this.accounts.map((a) => ({ address: a.address, balance: ACCOUNT_BALANCE })),
        // Self-bonded validators: power × POWER_REDUCTION of stake gives the scenario's powers.
        validators: validators.map((k, i) => ({
          pubKey: k.publicKey,
          stake: BigInt(powers[i] as number) * POWER_REDUCTION,
        })),
      }),
    };
  }

  /** A signed transfer (its bytes as blocks carry them). */
  transfer(spec: TransferSpec): Uint8Array {
    const a = this.accounts[spec.sender] as AccountKey;
    const chainId = spec.chainId ?? SIM_CHAIN_ID;
    const body: TxBody = {
      chainId,
      sender: a.publicKey,
      nonce: spec.nonce,
      fee: spec.fee ?? SIM_MIN_FEE,
      gasLimit: TX_GAS_LIMIT,
      msg: { kind: 'transfer', to: (this.accounts[spec.to] as AccountKey).address, amount: spec.amount },
      memo: new Uint8Array(0),
    };
    let signature = this.txSignatures.sign(a.seed, a.publicKey, txSignBytes(chainId, body));
    if (spec.badSignature === true) {
      signature = signature.slice();
      signature[0] = (signature[0] as number) ^ 0x01;
    }
    return encodeTx({ body, signature });
  }
}

/** The validator keys of a run, from its key stream, sorted by address (node i is validator i). */
export function validatorKeys(rng: Rng, n: number): ValidatorKey[] {
  return Array.from({ length: n }, () => {
    const kp = keyPairFromSeed(rng.bytes(32));
    return { seed: kp.seed, publicKey: kp.publicKey, address: addressFromPublicKey(kp.publicKey) };
  }).sort((a, b) => compareBytes(a.address, b.address));
}
