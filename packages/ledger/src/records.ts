import { addressFromPublicKey } from '@synod/crypto';
import type { Punishment, SigningInfo } from '@synod/fault-detector';
import { keyString, Reader, u64, Writer } from './bytes.js';

/**
 * The state model: every piece of state is one key/value pair in a table
 * named by the key's first byte. Keys of one table all have the same length
 * (so the history index `key ‖ height` is unambiguous). Values are fixed
 * big-endian layouts.
 */
export const TABLE = {
  /** 0x01 ‖ address(20) → balance u64 ‖ nonce u64 */
  account: 0x01,
  /** 0x02 ‖ pubKey(32) → address(20) ‖ operator(20) ‖ bondedStake u64 ‖ flags u8 ‖ jailedUntilMs u64 */
  validator: 0x02,
  /** 0x03 ‖ address(20) → pubKey(32): validators by consensus address (misbehaviour, proposer) */
  validatorByAddress: 0x03,
  /** 0x04 ‖ releaseHeight u64 ‖ pubKey(32) → operator(20) ‖ amount u64 ‖ creationHeight u64 */
  unbonding: 0x04,
  /** 0x05 ‖ pubKey(32) → power u64: the validator set last returned to consensus */
  activeSet: 0x05,
  /** 0x06 → SSZ(ConsensusParams) */
  consensusParams: 0x06,
  /** 0x07 → minFee u64 ‖ maxTxBytes u64 ‖ initialHeight u64 ‖ len u8 ‖ chainId */
  appParams: 0x07,
  /** 0x08 ‖ address(20) → startHeight u64 ‖ recorded u64 ‖ missedCount u64 ‖ missed bitmap (⌈window/8⌉ bytes) */
  signingInfo: 0x08,
  /** 0x09 ‖ address(20) ‖ kind u8 ‖ infractionHeight u64 → punishedAt u64 ‖ burned u64: equivocations handled */
  infraction: 0x09,
  /**
   * 0x0a ‖ address(20) → downtimeJails u64 ‖ equivocations u64 ‖ totalBurned u64 ‖ lastHeight u64 ‖
   * lastReason u8 ‖ lastSlashAmount u64 ‖ lastJailUntilMs u64: who was punished, how often, the last time
   */
  slashingRecord: 0x0a,
} as const;

export type TableName = keyof typeof TABLE;

/** Block time meaning "jailed for ever" (tombstoned validators). */
export const JAIL_FOREVER = Number.MAX_SAFE_INTEGER;

export interface Account {
  readonly balance: bigint;
  readonly nonce: number;
}

export const EMPTY_ACCOUNT: Account = Object.freeze({ balance: 0n, nonce: 0 });

export interface ValidatorRecord {
  /** The consensus (Ed25519) public key. */
  readonly pubKey: Uint8Array;
  /** Its consensus address (first 20 bytes of SHA-256(pubKey)). */
  readonly address: Uint8Array;
  /** The account that created the validator with the first bond; the only one that may bond, unbond, unjail. */
  readonly operator: Uint8Array;
  readonly bondedStake: bigint;
  readonly jailed: boolean;
  /** While jailed: block time (ms) from which an unjail is accepted; JAIL_FOREVER when never. */
  readonly jailedUntilMs: number;
  /** Double signer: jailed for ever, never slashed again. */
  readonly tombstoned: boolean;
}

/**
 * The downtime window of one validator (the fault-detector's `SigningInfo`)
 * and the height of the block at which tracking (re)started: the first block
 * that recorded its signature, or the block that reset the window (downtime
 * jail, unjail).
 */
export interface ValidatorSigningInfo extends SigningInfo {
  readonly startHeight: number;
}

/** The equivocation kinds a `Misbehavior` names. */
export type EquivocationKind = 'duplicate-vote' | 'double-proposal';

/** A handled equivocation: the ledger's durable guard against punishing one infraction twice. */
export interface InfractionRecord {
  /** Height of the block that applied the punishment. */
  readonly punishedAtHeight: number;
  /** Stake burned for it (bonded and unbonding). */
  readonly burned: bigint;
}

/** Per-validator punishment counters ("who was punished"). */
export interface SlashingRecord {
  /** Times jailed for downtime. */
  readonly downtimeJails: number;
  /** Equivocations punished (at most one: the first tombstones). */
  readonly equivocations: number;
  /** Stake burned over all punishments (bonded and unbonding). */
  readonly totalBurned: bigint;
  /** Height of the block that applied the last punishment. */
  readonly lastHeight: number;
  readonly lastReason: Punishment['reason'];
  /** Bonded stake burned by the last punishment. */
  readonly lastSlashAmount: bigint;
  /** Jail end set by the last punishment (block time, ms; JAIL_FOREVER for ever). */
  readonly lastJailUntilMs: number;
}

export interface UnbondingEntry {
  readonly validatorPubKey: Uint8Array;
  readonly operator: Uint8Array;
  readonly amount: bigint;
  /** Height of the block whose unbond created (or last added to) the entry. */
  readonly creationHeight: number;
  /** The stake is credited to the operator at the end of this height. */
  readonly releaseHeight: number;
}

/** Application parameters fixed at genesis (consensus-relevant: part of the app hash). */
export interface LedgerAppParams {
  readonly chainId: string;
  /** Smallest fee a transaction may pay, in base units. */
  readonly minFee: bigint;
  /** Largest encoded transaction accepted. */
  readonly maxTxBytes: number;
  readonly initialHeight: number;
}

/** keyString of the tag byte followed by the parts, built without concatenating bytes (latin1: one char per byte). */
const tagged = (tag: number, ...parts: Uint8Array[]): string => {
  let key = String.fromCharCode(tag);
  for (const p of parts) key += keyString(p);
  return key;
};

const EQUIVOCATION_CODE: Readonly<Record<EquivocationKind, number>> = {
  'duplicate-vote': 1,
  'double-proposal': 2,
};

export const keys = {
  account: (address: Uint8Array): string => tagged(TABLE.account, address),
  validator: (pubKey: Uint8Array): string => tagged(TABLE.validator, pubKey),
  validatorByAddress: (address: Uint8Array): string => tagged(TABLE.validatorByAddress, address),
  unbonding: (releaseHeight: number, pubKey: Uint8Array): string =>
    tagged(TABLE.unbonding, u64(releaseHeight), pubKey),
  activeSet: (pubKey: Uint8Array): string => tagged(TABLE.activeSet, pubKey),
  consensusParams: (): string => tagged(TABLE.consensusParams),
  appParams: (): string => tagged(TABLE.appParams),
  signingInfo: (address: Uint8Array): string => tagged(TABLE.signingInfo, address),
  infraction: (address: Uint8Array, kind: EquivocationKind, infractionHeight: number): string =>
    tagged(TABLE.infraction, address, Uint8Array.of(EQUIVOCATION_CODE[kind]), u64(infractionHeight)),
  slashingRecord: (address: Uint8Array): string => tagged(TABLE.slashingRecord, address),
};

const REASON_CODE: Readonly<Record<Punishment['reason'], number>> = {
  'double-sign': 1,
  'double-proposal': 2,
  downtime: 3,
};
const REASONS: readonly Punishment['reason'][] = ['double-sign', 'double-proposal', 'downtime'];

export function encodeSigningInfo(s: ValidatorSigningInfo): Uint8Array {
  return new Writer().u64(s.startHeight).u64(s.recorded).u64(s.missedCount).bytes(s.missed).finish();
}

export function decodeSigningInfo(b: Uint8Array): ValidatorSigningInfo {
  const r = new Reader(b);
  const startHeight = r.u64Number();
  const recorded = r.u64Number();
  const missedCount = r.u64Number();
  const missed = r.bytes(b.length - 24);
  r.end();
  return { startHeight, recorded, missedCount, missed };
}

export function encodeInfraction(i: InfractionRecord): Uint8Array {
  return new Writer().u64(i.punishedAtHeight).u64(i.burned).finish();
}

export function decodeInfraction(b: Uint8Array): InfractionRecord {
  const r = new Reader(b);
  const punishedAtHeight = r.u64Number();
  const burned = r.u64();
  r.end();
  return { punishedAtHeight, burned };
}

export function encodeSlashingRecord(s: SlashingRecord): Uint8Array {
  return new Writer()
    .u64(s.downtimeJails)
    .u64(s.equivocations)
    .u64(s.totalBurned)
    .u64(s.lastHeight)
    .u8(REASON_CODE[s.lastReason])
    .u64(s.lastSlashAmount)
    .u64(s.lastJailUntilMs)
    .finish();
}

export function decodeSlashingRecord(b: Uint8Array): SlashingRecord {
  const r = new Reader(b);
  const downtimeJails = r.u64Number();
  const equivocations = r.u64Number();
  const totalBurned = r.u64();
  const lastHeight = r.u64Number();
  const lastReason = REASONS[r.u8() - 1];
  const lastSlashAmount = r.u64();
  const lastJailUntilMs = r.u64Number();
  r.end();
  if (lastReason === undefined) throw new RangeError('unknown punishment reason');
  return {
    downtimeJails,
    equivocations,
    totalBurned,
    lastHeight,
    lastReason,
    lastSlashAmount,
    lastJailUntilMs,
  };
}

export function encodeAccount(a: Account): Uint8Array {
  return new Writer().u64(a.balance).u64(a.nonce).finish();
}

export function decodeAccount(b: Uint8Array): Account {
  const r = new Reader(b);
  const balance = r.u64();
  const nonce = r.u64Number();
  r.end();
  return { balance, nonce };
}

const FLAG_JAILED = 1;
const FLAG_TOMBSTONED = 2;

export function encodeValidator(v: ValidatorRecord): Uint8Array {
  return new Writer()
    .bytes(v.address)
    .bytes(v.operator)
    .u64(v.bondedStake)
    .u8((v.jailed ? FLAG_JAILED : 0) | (v.tombstoned ? FLAG_TOMBSTONED : 0))
    .u64(v.jailedUntilMs)
    .finish();
}

export function decodeValidator(pubKey: Uint8Array, b: Uint8Array): ValidatorRecord {
  const r = new Reader(b);
  const address = r.bytes(20);
  const operator = r.bytes(20);
  const bondedStake = r.u64();
  const flags = r.u8();
  const jailedUntilMs = r.u64Number();
  r.end();
  return {
    pubKey,
    address,
    operator,
    bondedStake,
    jailed: (flags & FLAG_JAILED) !== 0,
    jailedUntilMs,
    tombstoned: (flags & FLAG_TOMBSTONED) !== 0,
  };
}

/** A fresh, unjailed validator record. */
export function newValidator(pubKey: Uint8Array, operator: Uint8Array, bondedStake: bigint): ValidatorRecord {
  return {
    pubKey,
    address: addressFromPublicKey(pubKey),
    operator,
    bondedStake,
    jailed: false,
    jailedUntilMs: 0,
    tombstoned: false,
  };
}

export function encodeUnbonding(e: UnbondingEntry): Uint8Array {
  return new Writer().bytes(e.operator).u64(e.amount).u64(e.creationHeight).finish();
}

export function decodeUnbonding(releaseHeight: number, pubKey: Uint8Array, b: Uint8Array): UnbondingEntry {
  const r = new Reader(b);
  const operator = r.bytes(20);
  const amount = r.u64();
  const creationHeight = r.u64Number();
  r.end();
  return { validatorPubKey: pubKey, operator, amount, creationHeight, releaseHeight };
}

const TEXT = new TextEncoder();
const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });

export function encodeAppParams(p: LedgerAppParams): Uint8Array {
  const chainId = TEXT.encode(p.chainId);
  return new Writer()
    .u64(p.minFee)
    .u64(p.maxTxBytes)
    .u64(p.initialHeight)
    .u8(chainId.length)
    .bytes(chainId)
    .finish();
}

export function decodeAppParams(b: Uint8Array): LedgerAppParams {
  const r = new Reader(b);
  const minFee = r.u64();
  const maxTxBytes = r.u64Number();
  const initialHeight = r.u64Number();
  const chainId = TEXT_DECODER.decode(r.bytes(r.u8()));
  r.end();
  return { chainId, minFee, maxTxBytes, initialHeight };
}
